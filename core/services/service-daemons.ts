/**
 * Stops the service daemons anneal's service roles started on the admin host (dns-service's dnsmasq,
 * ntp-service's chronyd, proxy-service's tinyproxy; docs/barclamps.md "Service daemons"). Each keeps its
 * files in one directory, `/run/anneal/<id>/<daemon>`, that `<serviceDir>/<daemon>` links to (an older
 * layout: the directory itself).
 *
 * Contract of {@link stopServiceDaemons}: every process whose arguments name a file in one of those
 * directories (the daemon and any child it forked) gets SIGTERM; it resolves once all of them are gone
 * (zombies count as gone: they hold no files), sending SIGKILL to what is left after `timeoutMs` and
 * waiting up to {@link KILL_WAIT_MS} more. After it resolves nothing writes in those directories any
 * more, so they can be removed (`purge: true` does it). A missing service dir is nothing to stop. It
 * never throws for a process that exits on its own; it rejects only when a process survives SIGKILL.
 */
import { readdirSync, readFileSync, readlinkSync, rmSync, rmdirSync, lstatSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log';

/** How long stopServiceDaemons waits after SIGTERM before SIGKILL, by default. */
export const STOP_TIMEOUT_MS = 10_000;
/** How long it waits after SIGKILL before giving up. */
export const KILL_WAIT_MS = 2_000;
const POLL_MS = 50;

export interface StopServiceDaemonsOptions {
  timeoutMs?: number;
  /** Also delete each daemon's directory and the link to it once its processes are gone. */
  purge?: boolean;
}

/** The daemon directories under a service dir: `[link or dir, real directory]`. */
export function serviceDaemonDirs(serviceDir: string): Array<{ entry: string; dir: string }> {
  let names: string[];
  try {
    names = readdirSync(serviceDir);
  } catch {
    return [];
  }
  const out: Array<{ entry: string; dir: string }> = [];
  for (const name of names) {
    const entry = path.join(serviceDir, name);
    const st = lstatSync(entry, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) out.push({ entry, dir: path.resolve(serviceDir, readlinkSync(entry)) });
    else if (st?.isDirectory()) out.push({ entry, dir: entry });
  }
  return out;
}

/** Pids of live (not zombie) processes with an argument naming a file in one of `dirs`. */
export function processesUsing(dirs: readonly string[]): number[] {
  const prefixes = dirs.map((d) => `${d.replace(/\/+$/, '')}/`);
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    if (args.some((a) => prefixes.some((p) => a.includes(p))) && isAlive(Number(name))) pids.push(Number(name));
  }
  return pids;
}

/** True while the process exists and is not a zombie. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function signal(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone already */
    }
  }
}

/** Waits until none of `pids` is alive or `ms` passed; returns the ones still alive. */
async function waitGone(pids: readonly number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids.filter(isAlive);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    left = left.filter(isAlive);
  }
  return left;
}

export async function stopServiceDaemons(
  serviceDir: string,
  log: Pick<Logger, 'info' | 'warn'>,
  opts: StopServiceDaemonsOptions = {},
): Promise<void> {
  const daemons = serviceDaemonDirs(serviceDir);
  if (!daemons.length) return;
  const dirs = daemons.map((d) => d.dir);
  const pids = processesUsing(dirs);
  if (pids.length) {
    signal(pids, 'SIGTERM');
    let left = await waitGone(pids, opts.timeoutMs ?? STOP_TIMEOUT_MS);
    if (left.length) {
      log.warn({ pids: left }, 'service daemons did not stop on SIGTERM: sending SIGKILL');
      signal(left, 'SIGKILL');
      left = await waitGone(left, KILL_WAIT_MS);
      if (left.length) throw new Error(`service daemons ${left.join(', ')} survived SIGKILL (${dirs.join(', ')})`);
    }
    log.info({ pids, dirs }, 'service daemons stopped');
  }
  if (!opts.purge) return;
  for (const { entry, dir } of daemons) {
    rmSync(dir, { recursive: true, force: true });
    rmSync(entry, { recursive: true, force: true });
    try {
      if (dir.startsWith('/run/anneal/')) rmdirSync(path.dirname(dir));
    } catch {
      /* another daemon of this instance is still there */
    }
  }
}
