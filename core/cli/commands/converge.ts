/**
 * `anneal converge <deployment>`: commits the deployment, then follows its status (the layer cake,
 * GET /deployments/{ref}/status) with one progress bar per layer on stderr until:
 * - every node-role is active: exit 0, `<deployment>: converged, N node-roles active in T s` on stdout;
 * - nothing more can run (no node-role todo or running) and some are in error: exit 1, printing for each
 *   failed node-role its node, role, command, exit code, stderr tail (last 20 lines), the error (which
 *   says what to do) and how to retry it (converge-failures.ts);
 * - `--timeout` passes: exit 2, printing the watchdog's reason for each node-role that still waits.
 * `--json` prints the final status document on stdout (whatever the outcome; the exit code tells which).
 */
import type { Command } from 'commander';
import { CliError, seg, type ApiClient } from '../client';
import { printJson } from '../output';
import { printFailures } from './converge-failures';
import { createProgress, type StatusDocument } from './converge-progress';

const POLL_MS = 500;

interface Waiting {
  items: { node: string; role: string; reasons: string[] }[];
}

/** Nothing is todo or running, and something failed: waiting longer cannot help. */
export function isStuck(s: StatusDocument): boolean {
  return s.counts.todo + s.counts.transition === 0 && s.counts.error > 0;
}

export function registerConverge(program: Command, client: () => ApiClient): void {
  program
    .command('converge <deployment>')
    .description('commit a deployment and wait until its node-roles are active (exit 1: failed, 2: timed out)')
    .option('--timeout <seconds>', 'give up after this many seconds (exit 2)', '1800')
    .option('--quiet', 'no progress on stderr')
    .option('--json', 'print the final status document as JSON')
    .action(async (deployment: string, o: { timeout: string; quiet?: boolean; json?: boolean }) => {
      const timeoutS = Number(o.timeout);
      if (!Number.isFinite(timeoutS) || timeoutS <= 0)
        throw new CliError(`--timeout takes a number of seconds above 0, not "${o.timeout}"`, 'ERR_INPUT_INVALID');
      const api = client();
      const ref = seg(deployment);
      const t0 = Date.now();
      await api.post(`/deployments/${ref}/commit`);
      const progress = o.quiet ? undefined : createProgress();
      const interrupted = () => {
        progress?.stop();
        process.exit(130);
      };
      process.once('SIGINT', interrupted);
      let s: StatusDocument;
      let timedOut = false;
      try {
        for (;;) {
          s = await api.get<StatusDocument>(`/deployments/${ref}/status`);
          progress?.update(s);
          if (s.converged || s.total === 0 || isStuck(s)) break;
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
      const name = s.deployment.name;
      if (o.json) printJson(s);
      if (timedOut) {
        process.exitCode = 2;
        const waiting = await api.get<Waiting>(`/deployments/${ref}/waiting`);
        process.stderr.write(
          `${name}: timed out after ${timeoutS} s with ${s.counts.active}/${s.total} node-roles active\n`,
        );
        for (const w of waiting.items)
          process.stderr.write(`waiting: ${w.role} on ${w.node}: ${w.reasons.join('; ')}\n`);
        return;
      }
      if (s.counts.error > 0) {
        process.exitCode = 1;
        await printFailures(api, s);
        return;
      }
      if (!o.json) {
        const secs = ((Date.now() - t0) / 1000).toFixed(1);
        process.stdout.write(`${name}: converged, ${s.total} node-roles active in ${secs} s\n`);
      }
    });
}
