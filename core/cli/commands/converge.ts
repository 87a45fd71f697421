/**
 * `anneal converge <deployment>`: commits the deployment (unless it is being deleted), then follows its
 * status (the layer cake, GET /deployments/{ref}/status) with one progress bar per layer on stderr,
 * removals (`removing`, `remove-error`) counted with the rest, until (converge-end.ts):
 * - every node-role is active: exit 0, `<deployment>: converged, N node-roles active in T s` on stdout;
 * - the deployment is `deleting` and gone (its status answers ERR_DEPLOYMENT_NOT_FOUND): exit 0,
 *   `<deployment>: deleted in T s` on stdout;
 * - nothing more can run and some node-roles failed to apply or to remove: exit 1, printing for each
 *   its node, role, command, exit code, stderr tail (last 20 lines), the error (which says what to do)
 *   and the next step (converge-failures.ts);
 * - `--timeout` passes: exit 2, printing the watchdog's reason for each node-role that still waits.
 * `--json` prints the final status document on stdout (whatever the outcome; the exit code tells which);
 * for a deployment that is gone, the last one the API answered (or, if it went before the first, the
 * deployment record read at the start).
 */
import type { Command } from 'commander';
import { CliError, seg, withFixes, type ApiClient } from '../client';
import { printJson } from '../output';
import { createStallWatch, failedCount, isStuck } from './converge-end';
import { printFailures } from './converge-failures';
import { createProgress, removalCounts, type StatusDocument } from './converge-progress';

export { isStuck } from './converge-end';

const POLL_MS = 500;

interface Waiting {
  items: { node: string; role: string; reasons: string[] }[];
}

interface DeploymentRecord {
  name: string;
  state: string;
}

/** The status document, or undefined once a deployment being deleted is gone. */
async function statusOrGone(api: ApiClient, ref: string, deleting: boolean): Promise<StatusDocument | undefined> {
  try {
    return await api.get<StatusDocument>(`/deployments/${ref}/status`);
  } catch (err) {
    if (deleting && err instanceof CliError && err.code === 'ERR_DEPLOYMENT_NOT_FOUND') return undefined;
    throw err;
  }
}

/** The watchdog's reasons; none once the deployment is gone. */
async function waitingOf(api: ApiClient, ref: string): Promise<Waiting['items']> {
  try {
    return (await api.get<Waiting>(`/deployments/${ref}/waiting`)).items;
  } catch (err) {
    if (err instanceof CliError && err.code === 'ERR_DEPLOYMENT_NOT_FOUND') return [];
    throw err;
  }
}

export function registerConverge(program: Command, client: () => ApiClient): void {
  program
    .command('converge <deployment>')
    .description(
      'commit a deployment and wait until its node-roles are active, or until it is gone when it is being ' +
        'deleted (exit 1: failed, 2: timed out)',
    )
    .option('--timeout <seconds>', 'give up after this many seconds (exit 2)', '1800')
    .option('--quiet', 'no progress on stderr')
    .option('--json', 'print the final status document as JSON')
    .action((deployment: string, o: ConvergeOptions) => converge(client(), deployment, o));
}

export interface ConvergeOptions {
  timeout: string;
  quiet?: boolean;
  json?: boolean;
}

/** Commits `deployment` (unless it is being deleted) and follows it to its end, as the file comment says. */
export async function converge(api: ApiClient, deployment: string, o: ConvergeOptions): Promise<void> {
  const timeoutS = Number(o.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0)
    throw new CliError(`--timeout takes a number of seconds above 0, not "${o.timeout}"`, 'ERR_INPUT_INVALID');
  const ref = seg(deployment);
  const t0 = Date.now();
  const record = await withFixes(api.get<DeploymentRecord>(`/deployments/${ref}`), {
    ERR_DEPLOYMENT_NOT_FOUND:
      'a deployment being deleted is gone once its node-roles are; `anneal deployments list` lists the others',
  });
  let deleting = record.state === 'deleting';
  if (!deleting) await api.post(`/deployments/${ref}/commit`);
  const progress = o.quiet ? undefined : createProgress();
  const interrupted = () => {
    progress?.stop();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  const stall = createStallWatch();
  let s: StatusDocument | undefined;
  let gone = false;
  let timedOut = false;
  try {
    for (;;) {
      const next = await statusOrGone(api, ref, deleting);
      if (!next) {
        gone = true;
        break;
      }
      s = next;
      deleting ||= s.deployment.state === 'deleting';
      progress?.update(s);
      if (!deleting && (s.converged || s.total === 0)) break;
      if (isStuck(s) || stall.stalled(s)) break;
      if (Date.now() - t0 > timeoutS * 1000) {
        timedOut = true;
        break;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    progress?.stop();
    process.removeListener('SIGINT', interrupted);
  }
  const name = s?.deployment.name ?? record.name;
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (o.json) printJson(s ?? record);
  if (gone || !s) {
    if (!o.json) process.stdout.write(`${name}: deleted in ${secs} s\n`);
    return;
  }
  if (timedOut) {
    process.exitCode = 2;
    const waiting = await waitingOf(api, ref);
    process.stderr.write(
      deleting
        ? `${name}: timed out after ${timeoutS} s, still deleting: ${s.total} node-roles left${removalCounts(s.counts)}\n`
        : `${name}: timed out after ${timeoutS} s with ${s.counts.active}/${s.total} node-roles active\n`,
    );
    for (const w of waiting) process.stderr.write(`waiting: ${w.role} on ${w.node}: ${w.reasons.join('; ')}\n`);
    return;
  }
  if (failedCount(s.counts) > 0) {
    process.exitCode = 1;
    await printFailures(api, s);
    return;
  }
  if (!o.json) process.stdout.write(`${name}: converged, ${s.total} node-roles active in ${secs} s\n`);
}
