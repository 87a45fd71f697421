/**
 * `anneal demo` (as root): from nothing to lab nodes at ready-node, then everything removed again
 * (docs/demo.md). Steps, as the README's lab walkthrough does them by hand:
 *  1. check root and the programs the lab and the service roles need (one line with the apt-get fix);
 *  2. in parallel: `lab up` of N nodes named `n<i>.demo.lab` that announce themselves to
 *     http://10.231.0.1:<port>, and a first start of the real server (loopback only, a fresh SQLite
 *     database, a random admin token) that records the site's settings on `system` (discover, admin
 *     address …) and stops: the nodes cannot reach it yet, so none registers before those are committed;
 *  3. the server again, now also on the lab bridge (the nodes register and discovery binds ready-node on
 *     each), and the line `anneal demo: UI http://127.0.0.1:<port>/ui/  token <token>`;
 *  4. converge `system` with `anneal converge`'s per-layer progress (stderr), then `ready: N/N nodes at
 *     ready-node in <s> s — open <UI>`, or converge's report of each failed node-role (node, role,
 *     command, exit code, output tail, error) and exit 1; a timeout lists what still waits and why.
 * It then keeps running until Ctrl-C (or exits at once with --exit-when-ready). On every exit — success,
 * failure, SIGINT, SIGTERM — it stops the server, the service daemons it started (files under
 * <data dir>/services) and removes the lab; a data directory it made itself is removed after a success.
 * The admin token is printed to the terminal only; the server's log file has it redacted.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { LAB_HOST_IP, labDown, labNodeCredentials, labStatus, labUp, type LabStatus } from '../../lab';
import { silentLogger } from '../../log';
import { CliError, createClient } from '../client';
import { configureSystem, convergeSystem, waitForNodes, type ConvergeResult } from '../demo-converge';
import { pickPort, requireDemoHost, stopProcessesUnder } from '../demo-host';
import { startDemoServer, type DemoServer } from '../demo-server';
import { printJson } from '../output';
import { printFailures } from './converge-failures';

/** The demo's lab; only one lab runs on a host at a time. */
export const DEMO_LAB = 'demo';
/** How long the nodes may take to register after the server listens on the bridge. */
const REGISTER_TIMEOUT_MS = 90_000;

interface DemoOptions {
  nodes: number;
  port: number;
  dataDir?: string;
  exitWhenReady: boolean;
  timeoutMs: number;
  json: boolean;
}

/** Exit codes of an interrupted demo (128 + signal number), before it reached ready. */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted (${signal})`);
  }
}

/** The site's settings: the README walkthrough's, plus what ready-state.test.ts expects of lab hardware. */
function siteAttribs(hostIp: string): Record<string, unknown> {
  return {
    'anneal/discover': true,
    'anneal/admin-address': hostIp,
    'ntp/set-clock': false,
    'provisioner/os': 'debian-12',
    'inventory/expect': { minDisks: 2, minDiskGib: 8, minNics: 2 },
  };
}

function parseOptions(o: Record<string, string | boolean | undefined>): DemoOptions {
  const int = (v: unknown, name: string, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new CliError(`${name} takes a whole number from ${min} to ${max}`, 'ERR_INPUT_INVALID');
    return n;
  };
  return {
    nodes: int(o.nodes, '--nodes', 1, 200),
    port: int(o.port, '--port', 1, 65535),
    ...(typeof o.dataDir === 'string' ? { dataDir: path.resolve(o.dataDir) } : {}),
    exitWhenReady: o.exitWhenReady === true,
    timeoutMs: int(o.timeout, '--timeout', 1, 86_400) * 1000,
    json: o.json === true,
  };
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('as root: start a server, bring up lab nodes and converge them to ready-node; Ctrl-C removes it all')
    .option('--nodes <n>', 'lab nodes', '3')
    .option('--port <port>', 'API and UI port (another free one when it is taken)', '3000')
    .option(
      '--data-dir <dir>',
      'server data (SQLite); default a fresh /var/tmp/anneal-demo-<time>, removed after a success',
    )
    .option('--exit-when-ready', 'tear everything down and exit 0 once converged (tests, CI)')
    .option('--timeout <seconds>', 'give up converging after this many seconds', '300')
    .option('--json', 'print the final summary as JSON on stdout (other lines go to stderr)')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      process.exitCode = await runDemo(parseOptions(o));
    });
}

/** The last line of each missing node's BMC control log: why it did not register. */
function whyMissing(lab: LabStatus | undefined, missing: string[]): string {
  const lines = missing.map((name) => {
    const n = lab?.nodes.find((x) => x.name === name);
    const log = n ? path.join(lab!.labDir, 'nodes', `n${n.index}`, 'bmc', 'control.log') : '';
    const last = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').at(-1) : undefined;
    return `${name}: ${last ?? 'no BMC log'}`;
  });
  return lines.join('; ');
}

async function runDemo(o: DemoOptions): Promise<number> {
  const t0 = Date.now();
  const secs = (ms: number) => (ms / 1000).toFixed(1);
  /** Lines for the operator: stdout, or stderr when stdout carries the JSON summary. */
  const say = (line: string) => (o.json ? process.stderr : process.stdout).write(`${line}\n`);

  requireDemoHost();
  const existing = await labStatus({ name: DEMO_LAB }).catch(() => undefined);
  if (existing) {
    throw new CliError(
      `a lab named "${DEMO_LAB}" exists (another anneal demo runs, or one was killed before it cleaned up): remove it with \`anneal lab down --name ${DEMO_LAB}\``,
      'ERR_LAB_CONFLICT',
    );
  }
  const { port, fallback } = await pickPort(o.port);
  if (fallback) say(`anneal demo: port ${o.port} is taken; using port ${port} instead`);
  const ownDataDir = o.dataDir === undefined;
  const dataDir =
    o.dataDir ?? `/var/tmp/anneal-demo-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}`;
  mkdirSync(dataDir, { recursive: true });
  // The service daemons drop privileges (_chrony, dnsmasq, tinyproxy) and must reach their files under it.
  chmodSync(dataDir, 0o755);
  const logFile = path.join(dataDir, 'server.log');
  const token = randomBytes(32).toString('base64url');
  const url = `http://127.0.0.1:${port}`;
  const ui = `${url}/ui/`;
  const labUrl = `http://${LAB_HOST_IP}:${port}`;
  const api = createClient({ ANNEAL_URL: url, ANNEAL_TOKEN: token });
  const serverEnv = {
    ANNEAL_ADMIN_TOKEN: token,
    ANNEAL_DATA_DIR: dataDir,
    DATABASE_URL: path.join(dataDir, 'anneal.db'),
    ANNEAL_LOG_LEVEL: process.env.ANNEAL_LOG_LEVEL ?? 'info',
  };

  // Signals: the first aborts whatever runs and starts the teardown; later ones only say it is under way.
  const abort = new AbortController();
  let tearingDown = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (tearingDown || abort.signal.aborted)
      return void process.stderr.write(`anneal demo: ${signal}: still tearing down, please wait\n`);
    abort.abort(new Interrupted(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const aborted = () => {
    if (abort.signal.aborted) throw abort.signal.reason;
  };

  let server: DemoServer | undefined;
  let labTried = false;
  let lab: LabStatus | undefined;
  let result: ConvergeResult | undefined;
  let exitCode = 1;
  let labUpMs = 0;
  let readyAtMs: number | undefined;
  const watch = (s: DemoServer) =>
    void s.exited.then(({ code, signal }) => {
      if (server === s && !tearingDown && !abort.signal.aborted)
        abort.abort(new CliError(`the server exited (${signal ?? `code ${code}`}): ${s.summary()}`));
    });

  try {
    say(`anneal demo: ${o.nodes} lab nodes (lab "${DEMO_LAB}"), server on port ${port}, data in ${dataDir}`);
    // 1. The lab and a first, loopback-only server that records the site's settings, side by side.
    labTried = true;
    const labStep = labUp({ name: DEMO_LAB, nodes: o.nodes, annealUrl: labUrl, log: silentLogger }).then((s) => {
      labUpMs = Date.now() - t0;
      say(`anneal demo: lab up: ${s.nodes.map((n) => n.name).join(', ')} in ${secs(labUpMs)} s`);
      return s;
    });
    const configStep = (async () => {
      server = await startDemoServer({ port, env: { ...serverEnv, HOST: '127.0.0.1' }, logFile, secrets: [token] });
      await configureSystem(api, siteAttribs(LAB_HOST_IP));
      const first = server;
      server = undefined;
      await first.stop();
    })();
    const [labResult, configResult] = await Promise.allSettled([labStep, configStep]);
    aborted();
    if (labResult.status === 'rejected') throw labResult.reason;
    if (configResult.status === 'rejected') throw configResult.reason;
    lab = labResult.value;

    // 2. The server on loopback and the lab bridge: the nodes register, discovery binds ready-node.
    const key = (await labNodeCredentials({ name: DEMO_LAB, node: 1 })).ssh.privateKeyPath;
    server = await startDemoServer({
      port,
      env: {
        ...serverEnv,
        HOST: `127.0.0.1,${lab.hostIp}`,
        ANNEAL_SSH_KEY: key,
        ANNEAL_PROVISIONER_URL: labUrl,
        ANNEAL_POWER_POLL_MS: '2000',
      },
      logFile,
      secrets: [token],
    });
    watch(server);
    say(`anneal demo: UI ${ui}  token ${token}`);
    aborted();
    const names = lab.nodes.map((n) => n.name);
    await waitForNodes(api, names, {
      timeoutMs: REGISTER_TIMEOUT_MS,
      signal: abort.signal,
      progress: (k) => process.stderr.write(`anneal demo: ${k}/${names.length} nodes registered\n`),
      why: (missing) => whyMissing(lab, missing),
    });

    // 3. Converge, with `anneal converge`'s per-layer progress on stderr.
    result = await convergeSystem(api, names, { timeoutMs: o.timeoutMs, signal: abort.signal });
    if (result.ok) {
      readyAtMs = Date.now() - t0;
      say(`ready: ${result.ready}/${names.length} nodes at ready-node in ${secs(readyAtMs)} s — open ${ui}`);
      exitCode = 0;
      if (!o.exitWhenReady) {
        say('anneal demo: running; Ctrl-C stops the server and removes the lab');
        await new Promise((_, reject) => abort.signal.addEventListener('abort', () => reject(abort.signal.reason)));
      }
    } else if (result.timedOut) {
      const c = result.status.counts;
      say(
        `anneal demo: not ready after ${secs(result.ms)} s: ${c.active}/${result.status.total} node-roles active, ${result.ready}/${names.length} nodes at ready-node`,
      );
      const waiting = await api.get<{ items: { node: string; role: string; reasons: string[] }[] }>(
        '/deployments/system/waiting',
      );
      for (const w of waiting.items) say(`  waiting: ${w.role} on ${w.node}: ${w.reasons.join('; ')}`);
      say(`anneal demo: server log ${logFile}`);
    } else {
      // Each failed node-role: node, role, command, exit code, output tail and the error saying what to do.
      await printFailures(api, result.status);
      say(`anneal demo: not ready: ${result.ready}/${names.length} nodes at ready-node; server log ${logFile}`);
    }
  } catch (caught) {
    // A request that failed because the server died: say why it died, not that it is unreachable.
    const running = server as DemoServer | undefined;
    if (!abort.signal.aborted && running && caught instanceof CliError && caught.code === 'ERR_CLI_UNREACHABLE')
      await Promise.race([running.exited, new Promise((r) => setTimeout(r, 2_000))]);
    const err: unknown = abort.signal.aborted ? abort.signal.reason : caught;
    if (err instanceof Interrupted) {
      if (exitCode !== 0) exitCode = SIGNAL_EXIT[err.signal] ?? 1;
    } else {
      exitCode = 1;
      const msg =
        err instanceof CliError ? `${err.message} [${err.code}]` : err instanceof Error ? err.message : String(err);
      process.stderr.write(`anneal: ${msg}\n`);
    }
  } finally {
    // 4. Teardown, in order: the server (no more runs touch the nodes), its service daemons, the lab.
    tearingDown = true;
    say('anneal demo: tearing down');
    const current = server;
    server = undefined;
    await current?.stop();
    const daemons = await stopProcessesUnder(path.join(dataDir, 'services'));
    if (labTried) {
      try {
        const r = await labDown({ name: DEMO_LAB });
        say(
          `anneal demo: lab ${DEMO_LAB} removed (${r.removed.namespaces} namespaces, ${r.removed.processes} processes); server and ${daemons} service daemon(s) stopped`,
        );
      } catch (err) {
        exitCode = 1;
        process.stderr.write(
          `anneal: removing the lab failed: ${(err as Error).message}; run \`anneal lab down --name ${DEMO_LAB}\`\n`,
        );
      }
    }
    // Kept when it is the operator's, or for a look at what failed (not after a success or a Ctrl-C).
    const keep = !ownDataDir || exitCode === 1;
    if (keep) say(`anneal demo: data kept in ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (o.json) {
    printJson({
      ok: exitCode === 0 && result?.ok === true,
      ui,
      lab: DEMO_LAB,
      nodes: o.nodes,
      ready: result?.ready ?? 0,
      seconds: readyAtMs === undefined ? null : Number(secs(readyAtMs)),
      labUpSeconds: labUpMs ? Number(secs(labUpMs)) : null,
      convergeSeconds: result ? Number(secs(result.ms)) : null,
      nodeRoles: result ? { total: result.status.total, counts: result.status.counts } : null,
      failing: result?.status.failing ?? [],
      dataDir: existsSync(dataDir) ? dataDir : null,
    });
  }
  return exitCode;
}
