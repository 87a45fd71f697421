/**
 * `anneal blueprints validate|plan|apply|export` (docs/blueprints.md):
 * - `validate FILE [--overlay F]`: the format and the catalog; exit 0 when valid, 1 with the first issues.
 * - `plan FILE [--overlay F] [--out PLAN] [--json]`: the changes, Terraform-style; exit 0 when there is
 *   nothing to do, 2 when there are changes, 1 on error. `--out` saves the plan with the fingerprint of the
 *   state it was made from (kind BlueprintPlan).
 * - `apply FILE [--overlay F] [--wait]`: FILE is a blueprint (planned and applied at once) or a saved plan
 *   (refused with ERR_PLAN_STALE when the site changed since, nothing written). `--wait` follows the
 *   converge with the per-layer progress bars and the usual failure report (as `anneal converge`).
 * - `export DEPLOYMENT [--out F] [--json]`: the deployment as a blueprint (YAML unless --json).
 * Files over the 1 MiB blueprint limit are refused before anything is sent.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse, stringify } from 'yaml';
import { MAX_BLUEPRINT_BYTES } from '../../domain/blueprint';
import { CliError, seg, withFixes, type ApiClient } from '../client';
import { printJson } from '../output';
import { converge } from './converge';

interface PlanAnswer {
  plan: { changes: number; deployment: string };
  text: string[];
  fingerprint: { value: string; sections: Record<string, string> };
  blueprint: Record<string, unknown>;
}

interface ApplyAnswer {
  applied: boolean;
  plan: { changes: number; deployment: string };
  text: string[];
}

/** What `plan --out` writes and `apply` recognises. */
interface SavedPlan {
  apiVersion: 'anneal/v1';
  kind: 'BlueprintPlan';
  createdAt: string;
  blueprint: Record<string, unknown>;
  fingerprint: PlanAnswer['fingerprint'];
  text: string[];
}

const PLAN_FIXES = {
  ERR_PLACEMENT_UNSATISFIABLE:
    'tag more nodes with `anneal nodes tag NODE TAG…` or lower the count (an --overlay can, per site)',
  ERR_SECRET_NOT_FOUND: 'set it with `anneal secrets set NAME` (the value on stdin)',
  ERR_PLAN_STALE: 'run `anneal blueprints plan FILE --out PLAN` again, review it, and apply the new plan',
};

/** The file's text; refuses a missing or oversized file before anything is sent. */
function readDocument(file: string, what: string): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new CliError(`cannot read ${what} ${file}: no such file`, 'ERR_CLI_FILE');
  }
  if (size > MAX_BLUEPRINT_BYTES) {
    throw new CliError(
      `${what} ${file} is ${size} bytes, over the ${MAX_BLUEPRINT_BYTES}-byte limit: a blueprint holds roles, counts and attribs, not data`,
      'ERR_BLUEPRINT_INVALID',
    );
  }
  return readFileSync(file, 'utf8');
}

/** A saved plan when the file is one (kind BlueprintPlan); null for a blueprint or anything else. */
function savedPlanOf(text: string): SavedPlan | null {
  try {
    const doc = parse(text, { maxAliasCount: 100 }) as Partial<SavedPlan> | null;
    return doc && typeof doc === 'object' && doc.kind === 'BlueprintPlan' ? (doc as SavedPlan) : null;
  } catch {
    return null;
  }
}

function body(file: string, o: { overlay?: string }) {
  return {
    blueprint: readDocument(file, 'blueprint'),
    ...(o.overlay ? { overlay: readDocument(o.overlay, 'overlay') } : {}),
  };
}

export function registerBlueprints(program: Command, client: () => ApiClient): void {
  const bp = program
    .command('blueprints')
    .description('deployments as data: validate, plan, apply and export blueprints (docs/blueprints.md)');

  bp.command('validate <file>')
    .description('check a blueprint against the format and the catalog (writes nothing)')
    .option('--overlay <file>', 'a site overlay merged over the blueprint')
    .option('--json', 'print the checked blueprint as JSON')
    .action(async (file: string, o: { overlay?: string; json?: boolean }) => {
      const res = await client().post<{ valid: boolean; blueprint: { metadata: { name: string } } }>(
        '/blueprints/validate',
        body(file, o),
      );
      if (o.json) printJson(res);
      else process.stdout.write(`${file}: blueprint ${res.blueprint.metadata.name} is valid\n`);
    });

  bp.command('plan <file>')
    .description('show what applying a blueprint here would change (exit 0: nothing, 2: changes)')
    .option('--overlay <file>', 'a site overlay merged over the blueprint')
    .option('--out <plan>', 'save the plan (with the fingerprint of this state) for `apply`')
    .option('--json', "print the API's answer as JSON")
    .action(async (file: string, o: { overlay?: string; out?: string; json?: boolean }) => {
      const res = await withFixes(client().post<PlanAnswer>('/blueprints/plan', body(file, o)), PLAN_FIXES);
      if (o.out) {
        const saved: SavedPlan = {
          apiVersion: 'anneal/v1',
          kind: 'BlueprintPlan',
          createdAt: new Date().toISOString(),
          blueprint: res.blueprint,
          fingerprint: res.fingerprint,
          text: res.text,
        };
        writeFileSync(o.out, stringify(saved));
      }
      if (o.json) printJson(res);
      else {
        process.stdout.write(res.text.join('\n') + '\n');
        if (o.out)
          process.stdout.write(`\nSaved to ${o.out}: \`anneal blueprints apply ${o.out}\` applies exactly this.\n`);
      }
      process.exitCode = res.plan.changes > 0 ? 2 : 0;
    });

  bp.command('apply <file>')
    .description('apply a blueprint or a saved plan in one transaction and commit (--wait: follow the converge)')
    .option('--overlay <file>', 'a site overlay merged over the blueprint (not with a saved plan)')
    .option('--wait', 'follow the converge with per-layer progress (exit 1: failed, 2: timed out)')
    .option('--timeout <seconds>', 'with --wait: give up after this many seconds', '1800')
    .option('--quiet', 'with --wait: no progress on stderr')
    .option('--json', "print the API's answer as JSON")
    .action(
      async (
        file: string,
        o: { overlay?: string; wait?: boolean; timeout: string; quiet?: boolean; json?: boolean },
      ) => {
        const text = readDocument(file, 'blueprint or plan');
        const saved = savedPlanOf(text);
        if (saved && o.overlay) {
          throw new CliError(
            `${file} is a saved plan: its overlay was merged when it was made; apply it without --overlay`,
            'ERR_INPUT_INVALID',
          );
        }
        const request = saved
          ? { blueprint: saved.blueprint, fingerprint: saved.fingerprint }
          : { blueprint: text, ...(o.overlay ? { overlay: readDocument(o.overlay, 'overlay') } : {}) };
        const api = client();
        const res = await withFixes(api.post<ApplyAnswer>('/blueprints/apply', request), PLAN_FIXES);
        if (o.json) printJson(res);
        else if (!res.applied) process.stdout.write(`${res.plan.deployment}: no changes to apply\n`);
        else process.stdout.write(`${res.text.join('\n')}\n\nApplied: ${res.plan.changes} changes, committed.\n`);
        if (o.wait) await converge(api, res.plan.deployment, { timeout: o.timeout, quiet: o.quiet });
      },
    );

  bp.command('export <deployment>')
    .description('the deployment as a blueprint: groups, counts, tags, attribs, secret references')
    .option('--out <file>', 'write it to a file instead of stdout')
    .option('--json', 'JSON instead of YAML')
    .action(async (deployment: string, o: { out?: string; json?: boolean }) => {
      const doc = await client().get<Record<string, unknown>>(`/deployments/${seg(deployment)}/blueprint`);
      const out = o.json ? JSON.stringify(doc, null, 2) + '\n' : stringify(doc);
      if (o.out) writeFileSync(o.out, out);
      else process.stdout.write(out);
    });
}
