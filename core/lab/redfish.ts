/**
 * The lab's Redfish BMC emulator as the lab library sees it (the program itself is redfish-bmc.ts): one
 * process per lab, shown as `anneal-lab-redfish <labDir>/bin/redfish-bmc.js <labDir>` (so teardown's
 * sweep finds it by its command line, state or no state), serving node i on 127.0.0.1:<redfishPort>.
 * Its pid is in <labDir>/redfish.pid, its ports in lab.json, its log in <labDir>/redfish.log.
 *
 * `ensureRedfish` is level-based like the rest of the lab: a running emulator that serves every node is
 * kept, one that misses nodes is told to reload (SIGHUP), a missing one is started.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { transformSync } from 'esbuild';
import { AppError } from '../errors';
import { BMC_HOST, BMC_USERNAME, DEFAULT_REDFISH_BASE_PORT, type LabPaths } from './layout';
import { alive, BASE_ENV, cmdline, stopPids, waitFor } from './proc';
import { readText, writeFileAtomic, writeIfChanged, type LabRecord, type NodeRecord } from './state';

/** argv[0] of the emulator process. */
export const REDFISH_PROGRAM = 'anneal-lab-redfish';

/** The node's Redfish port (labs made before Redfish get the default layout). */
export function redfishPortOf(rec: LabRecord, node: NodeRecord): number {
  return node.redfishPort ?? (rec.redfishBasePort ?? DEFAULT_REDFISH_BASE_PORT) + node.index;
}

/**
 * Writes the emulator's plain JavaScript copy to <labDir>/bin (type annotations stripped by esbuild, which
 * tsx brings): plain `node` runs it without a TypeScript loader, which saves ~16 MiB RSS and ~0.1 s.
 */
export function installRedfishEmulator(paths: LabPaths): void {
  const source = readFileSync(path.join(__dirname, 'redfish-bmc.ts'), 'utf8');
  const { code } = transformSync(source, { loader: 'ts', format: 'cjs', platform: 'node', target: 'node20' });
  writeIfChanged(paths.redfishScript, `// Generated from core/lab/redfish-bmc.ts by anneal lab up.\n${code}`, 0o755);
}

/** TCP ports in LISTEN state on 127.0.0.1 (from /proc/net/tcp). */
export function listeningPorts(): Set<number> {
  const ports = new Set<number>();
  try {
    for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const [ip, port] = (f[1] ?? '').split(':');
      if (ip === '0100007F' && f[3] === '0A' && port) ports.add(parseInt(port, 16));
    }
  } catch {
    /* no procfs: nothing listens as far as we can tell */
  }
  return ports;
}

/** Resolves true when 127.0.0.1:<port>/tcp can be bound right now. */
function tcpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: BMC_HOST, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** The pid of the lab's running emulator, or null. */
export function redfishPid(paths: LabPaths): number | null {
  const pid = Number(readText(paths.redfishPid));
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return null;
  const argv = cmdline(pid);
  return argv && argv[0] === REDFISH_PROGRAM && argv.includes(paths.labDir) ? pid : null;
}

/** Per node: is its Redfish service answering (emulator runs, port listening)? */
export function redfishRunning(paths: LabPaths, rec: LabRecord): (node: NodeRecord) => boolean {
  const up = redfishPid(paths) !== null;
  const ports = up ? listeningPorts() : new Set<number>();
  return (node) => ports.has(redfishPortOf(rec, node));
}

async function checkFree(rec: LabRecord, nodes: NodeRecord[]): Promise<void> {
  for (const n of nodes) {
    const port = redfishPortOf(rec, n);
    if (!(await tcpPortFree(port))) {
      throw new AppError(
        'ERR_LAB_CONFLICT',
        `TCP port ${BMC_HOST}:${port} for the Redfish service of ${n.name} is taken by another process; free it or create the lab with another Redfish base port`,
        { details: { node: n.name, port } },
      );
    }
  }
}

/**
 * Makes the emulator run and serve every node of `rec` (lab.json and secrets.json must be written).
 * Returns what it did and `ready()`, which resolves once every port listens; call it later to overlap the
 * emulator's start with other work. Throws ERR_LAB_CONFLICT (a port is taken by another process);
 * `ready()` throws ERR_LAB_COMMAND_FAILED with the tail of redfish.log when the emulator does not come up.
 */
export async function ensureRedfish(
  paths: LabPaths,
  rec: LabRecord,
): Promise<{ outcome: 'kept' | 'reloaded' | 'started'; ready: () => Promise<void> }> {
  let pid = redfishPid(paths);
  const listening = listeningPorts();
  const missing = rec.nodes.filter((n) => !listening.has(redfishPortOf(rec, n)));
  if (pid !== null && missing.length === 0) return { outcome: 'kept', ready: async () => undefined };
  let outcome: 'reloaded' | 'started';
  if (pid !== null) {
    await checkFree(rec, missing);
    process.kill(pid, 'SIGHUP');
    outcome = 'reloaded';
  } else {
    await checkFree(rec, rec.nodes);
    pid = spawnEmulator(paths);
    writeFileAtomic(paths.redfishPid, `${pid}\n`);
    outcome = 'started';
  }
  const started = pid;
  const ready = async () => {
    try {
      await waitFor(
        'the Redfish emulator',
        () => {
          const ports = listeningPorts();
          if (rec.nodes.every((n) => ports.has(redfishPortOf(rec, n)))) return true;
          return alive(started) ? undefined : false;
        },
        10_000,
        20,
      ).then((ok) => {
        if (!ok) throw new Error('it exited');
      });
    } catch (e) {
      const tail = (readText(paths.redfishLog) ?? '').split('\n').slice(-5).join('\n');
      throw new AppError(
        'ERR_LAB_COMMAND_FAILED',
        `the Redfish emulator of lab ${rec.name} did not start: ${tail || (e as Error).message}`,
        { details: { log: paths.redfishLog }, cause: e },
      );
    }
  };
  return { outcome, ready };
}

/** Starts the emulator detached (it survives us), output appended to redfish.log. */
function spawnEmulator(paths: LabPaths): number {
  const fd = openSync(paths.redfishLog, 'a', 0o600);
  try {
    // A small heap: the emulator holds a handful of listeners and JSON documents.
    const child = spawn(process.execPath, ['--max-old-space-size=32', paths.redfishScript, paths.labDir], {
      argv0: REDFISH_PROGRAM,
      env: { ...BASE_ENV, REDFISH_HOST: BMC_HOST, REDFISH_USERNAME: BMC_USERNAME },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.on('error', () => undefined);
    child.unref();
    if (child.pid === undefined) throw new AppError('ERR_LAB_COMMAND_FAILED', 'cannot start the Redfish emulator');
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Stops the lab's emulator (teardown also finds it by its command line). */
export async function stopRedfish(paths: LabPaths): Promise<boolean> {
  const pid = redfishPid(paths);
  if (pid === null) return false;
  await stopPids([pid], 2000);
  return true;
}
