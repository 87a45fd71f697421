/**
 * Removing a lab: everything it made, found twice over — from its state files and by sweeping the host
 * for its names (namespaces `anl-<lab>-<i>`, links `anlbr-<short>` / `anl<short>-<i>`, processes whose
 * command line names the lab directory or that live in its namespaces, mounts under the lab directory) —
 * so it also works after a crash, with the state gone, and a second time (then it finds nothing).
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors';
import type { Logger } from '../log';
import { bridgeName, hostVethPrefix, netnsPrefix, type LabPaths } from './layout';
import { removeForwardGuard } from './net';
import { allPids, cmdline, mntNs, netNsInode, run, stopPids } from './proc';
import { readText } from './state';
import type { LabDownResult } from './types';

/**
 * Programs the lab starts with the lab directory on their command line; `anneal-lab-redfish` is the argv[0]
 * of the Redfish emulator (core/lab/redfish.ts).
 */
const LAB_PROGRAMS = new Set([
  'ipmi_sim',
  'unshare',
  'ip',
  'bash',
  'sh',
  'nsenter',
  'flock',
  'sshd',
  'curl',
  'anneal-lab-redfish',
]);

/** Network namespaces of the lab (`anl-<lab>-<digits>`). */
export async function labNetnsList(lab: string): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list'], { allowFail: true });
  const prefix = netnsPrefix(lab);
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)));
}

/** Host links of the lab: its bridge and the host sides of its veths. */
export function labLinks(lab: string): string[] {
  const prefix = hostVethPrefix(lab);
  const bridge = bridgeName(lab);
  let names: string[] = [];
  try {
    names = readdirSync('/sys/class/net');
  } catch {
    return [];
  }
  return names.filter((n) => n === bridge || (n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length))));
}

/** Mount points in this (the host's) mount namespace at or under `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => unescape(l.split(' ')[1] ?? ''))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** The lab's processes: started with the lab directory on their command line, or inside its namespaces. */
export function labProcesses(paths: LabPaths, netnsInodes: Set<number>): number[] {
  const mnts = new Set<string>();
  if (existsSync(paths.nodesDir)) {
    for (const n of readdirSync(paths.nodesDir)) {
      const ns = readText(path.join(paths.nodesDir, n, 'init.mntns'));
      if (ns) mnts.add(ns);
    }
  }
  const mine = (argv: string[]) =>
    argv.some((a) => a === paths.labDir || a.startsWith(`${paths.labDir}/`)) &&
    LAB_PROGRAMS.has(path.basename(argv[0] ?? ''));
  const pids = allPids();
  const byCmdline = pids.filter((p) => {
    const argv = cmdline(p);
    if (!argv) return false;
    if (argv[0]?.startsWith(`anneal-lab-init ${paths.labDir}/`)) {
      const ns = mntNs(p);
      if (ns) mnts.add(ns);
      return true;
    }
    return mine(argv);
  });
  const byNs = pids.filter((p) => {
    const ino = netNsInode(p);
    if (ino !== null && netnsInodes.has(ino)) return true;
    const ns = mntNs(p);
    return ns !== null && mnts.has(ns);
  });
  return [...new Set([...byCmdline, ...byNs])];
}

/**
 * Stops and removes everything of lab `lab` under `paths`. Safe to run when nothing (or only part)
 * exists. Throws ERR_LAB_COMMAND_FAILED when something could not be removed (the message names it);
 * running it again retries.
 */
export async function teardown(lab: string, paths: LabPaths, log: Logger): Promise<LabDownResult> {
  const namespaces = await labNetnsList(lab);
  const inodes = new Set<number>();
  for (const ns of namespaces) {
    try {
      inodes.add(statSync(`/run/netns/${ns}`).ino);
    } catch {
      /* gone meanwhile */
    }
  }
  // Processes first: they hold namespaces, mounts and ports. Twice, for children forked meanwhile.
  let processes = 0;
  for (let round = 0; round < 3; round++) {
    const pids = labProcesses(paths, inodes);
    if (pids.length === 0) break;
    processes += await stopPids(pids, round === 0 ? 3000 : 1000);
  }
  for (const ns of namespaces) await run('ip', ['netns', 'del', ns], { allowFail: true });
  const links = labLinks(lab);
  for (const l of links) await run('ip', ['link', 'del', l], { allowFail: true });
  await removeForwardGuard(bridgeName(lab));

  const mounts = mountsUnder(paths.labDir);
  for (const m of mounts) await run('umount', ['-l', m], { allowFail: true });
  const leftMounts = mountsUnder(paths.labDir);
  const leftNs = await labNetnsList(lab);
  const leftLinks = labLinks(lab);
  if (leftMounts.length + leftNs.length + leftLinks.length > 0) {
    throw new AppError('ERR_LAB_COMMAND_FAILED', `lab ${lab} could not be removed completely; run the command again`, {
      details: { mounts: leftMounts, namespaces: leftNs, links: leftLinks },
    });
  }
  // Only now, with no mount left under it, is a recursive delete safe.
  const hadDir = existsSync(paths.labDir);
  rmSync(paths.labDir, { recursive: true, force: true });
  const result: LabDownResult = {
    name: lab,
    removed: { namespaces: namespaces.length, links: links.length, processes, mounts: mounts.length, stateDir: hadDir },
  };
  log.info({ lab, ...result.removed }, 'lab: removed');
  return result;
}
