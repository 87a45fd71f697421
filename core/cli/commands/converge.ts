/**
 * `anneal converge <deployment>`: commits the deployment and waits until every node-role is active
 * (exit 0) or nothing more can happen because node-roles failed (exit 1, printing each failed
 * node-role with node, role, exit code, stderr tail and what to do). A timeout exits 2 and prints the
 * watchdog's reasons for whatever still waits.
 */
import type { Command } from 'commander';
import type { ApiClient } from '../client';
import { printJson } from '../output';

type Counts = Record<'proposed' | 'blocked' | 'todo' | 'transition' | 'active' | 'error', number>;

interface RunView {
  attempt: number;
  exitCode: number | null;
  stderrTail: string;
  stdoutTail: string;
  error: { code: string; message: string } | null;
}

function bar(c: Counts, width = 30): string {
  const total = Object.values(c).reduce((a, b) => a + b, 0) || 1;
  const done = Math.round((c.active / total) * width);
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${c.active}/${total} active, ${c.transition} running, ${c.todo} todo, ${c.blocked} blocked, ${c.error} error`;
}

export function registerConverge(program: Command, client: () => ApiClient): void {
  program
    .command('converge <deployment>')
    .description('commit a deployment and wait until its node-roles are active')
    .option('--timeout <seconds>', 'give up after this many seconds', '1800')
    .option('--json', 'print the final counts (and failures) as JSON')
    .action(async (deployment: string, o: { timeout: string; json?: boolean }) => {
      const api = client();
      const ref = encodeURIComponent(deployment);
      await api.post(`/deployments/${ref}/commit`);
      const deadline = Date.now() + Number(o.timeout) * 1000;
      const tty = process.stderr.isTTY && !o.json;
      let counts: Counts;
      for (;;) {
        counts = (await api.get<{ nodeRoles: Counts }>(`/deployments/${ref}`)).nodeRoles;
        if (tty) process.stderr.write(`\r${bar(counts)}  `);
        if (counts.todo + counts.transition === 0 && (counts.blocked === 0 || counts.error > 0)) break;
        if (Date.now() > deadline) {
          if (tty) process.stderr.write('\n');
          const waiting = await api.get<{ items: { node: string; role: string; reasons: string[] }[] }>(
            `/deployments/${ref}/waiting`,
          );
          if (o.json) printJson({ deployment, counts, timedOut: true, waiting: waiting.items });
          else
            for (const w of waiting.items)
              process.stderr.write(`waiting: ${w.role} on ${w.node}: ${w.reasons.join('; ')}\n`);
          process.exitCode = 2;
          return;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
      if (tty) process.stderr.write('\n');
      if (counts.error === 0) {
        if (o.json) printJson({ deployment, counts });
        else process.stdout.write(`${deployment}: ${counts.active} node-roles active\n`);
        return;
      }
      const failed = await api.get<{
        items: { id: number; node: string; role: string; lastError: { message: string } | null }[];
      }>(`/node-roles?deployment=${ref}&state=error&limit=1000`);
      const details = [];
      for (const nr of failed.items) {
        const runs = await api.get<{ items: RunView[] }>(`/node-roles/${nr.id}/runs?limit=1000`);
        details.push({ ...nr, lastRun: runs.items.at(-1) ?? null });
      }
      if (o.json) printJson({ deployment, counts, failed: details });
      else {
        process.stderr.write(
          `${deployment}: ${counts.error} node-role(s) failed, ${counts.blocked} blocked behind them\n`,
        );
        for (const d of details) {
          const run = d.lastRun;
          process.stderr.write(`\n✗ ${d.role} on ${d.node} (node-role ${d.id}, attempt ${run?.attempt ?? '?'})\n`);
          process.stderr.write(`  error: ${run?.error?.message ?? d.lastError?.message ?? 'unknown'}\n`);
          if (run?.exitCode !== null && run?.exitCode !== undefined)
            process.stderr.write(`  exit code: ${run.exitCode}\n`);
          const tail = (run?.stderrTail || run?.stdoutTail || '').trim().split('\n').slice(-10);
          if (tail.length && tail[0])
            process.stderr.write(`  output (tail):\n${tail.map((l) => `    ${l}`).join('\n')}\n`);
          process.stderr.write(
            `  next: fix the cause, then \`curl -XPOST $ANNEAL_URL/api/v2/node-roles/${d.id}/retry\`\n`,
          );
        }
      }
      process.exitCode = 1;
    });
}
