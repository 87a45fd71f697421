/**
 * A plan as an operator reads it, Terraform-style: `+` what is created, `~` what changes, `-` what goes,
 * then the node → roles placement and what will run. Pure; the CLI prints it, the UI shows it.
 */
import type { Plan } from './blueprint-plan';

const show = (v: unknown) => JSON.stringify(v);

export function planLines(plan: Plan): string[] {
  const out: string[] = [];
  if (plan.changes === 0) {
    out.push(`No changes. Deployment ${plan.deployment} matches blueprint ${plan.blueprint}.`);
    return out;
  }
  if (plan.createDeployment) out.push(`+ create deployment ${plan.deployment} (under ${plan.parent})`);
  for (const n of plan.joins) out.push(`+ move ${n} into ${plan.deployment}`);
  for (const a of plan.attribs.filter((x) => x.scope === 'deployment')) out.push(attribLine(a));
  for (const b of plan.bind) {
    const why = b.requiredBy ? ` (required by ${b.requiredBy})` : '';
    out.push(`+ bind ${b.role} on ${b.node}${why}`);
  }
  for (const a of plan.attribs.filter((x) => x.scope === 'node')) out.push(attribLine(a));
  for (const u of plan.unbind) {
    const why =
      u.reason === 'leaves'
        ? ' (node leaves)'
        : u.reason === 'parent-removed'
          ? ' (what it requires goes)'
          : ' (not in the blueprint)';
    out.push(`- unbind ${u.role} on ${u.node}${why}`);
  }
  for (const n of plan.leaves) out.push(`- move ${n} back to ${plan.parent}`);
  if (plan.commit) out.push(`~ commit deployment ${plan.deployment}`);
  out.push('');
  out.push('Placement:');
  for (const p of plan.placements) out.push(`  ${p.node} → ${p.group}: ${p.roles.join(', ') || '(no roles)'}`);
  const destructive = plan.runs.filter((r) => r.destructive);
  out.push('');
  out.push(
    `Will run: ${plan.runs.length} node-role${plan.runs.length === 1 ? '' : 's'}` +
      (destructive.length ? `, ${destructive.length} destructive (!)` : ''),
  );
  for (const r of destructive) out.push(`  ! ${r.role} on ${r.node} is destructive (${r.why})`);
  out.push('');
  out.push(
    `Plan: ${plan.bind.length} to bind, ${plan.unbind.length} to unbind, ${plan.attribs.length} attrib${plan.attribs.length === 1 ? '' : 's'} to set, ` +
      `${plan.joins.length} node${plan.joins.length === 1 ? '' : 's'} to join, ${plan.leaves.length} to leave.`,
  );
  return out;
}

function attribLine(a: Plan['attribs'][number]): string {
  const where = a.scope === 'node' ? ` on ${a.target}` : '';
  return a.from === null
    ? `+ set ${a.attrib}${where} = ${show(a.to)}`
    : `~ ${a.attrib}${where}: ${show(a.from)} → ${show(a.to)}`;
}
