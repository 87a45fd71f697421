/**
 * One lab node: its files (node.env, seeded upper dirs, virtual disks, hardware facts), its init (the
 * process holding its mount + UTS namespaces, started by node-init.sh inside its network namespace), its
 * BMC, and its status. `ensureNode` is level-based: it inspects what exists and creates or repairs only
 * what is missing, so running it on a healthy node changes nothing.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  cpSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  chmodSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../errors';
import type { Logger } from '../log';
import { bmcPid, ipmitool, startBmc, writeBmcConfig } from './bmc';
import {
  BMC_HOST, BMC_USERNAME, DISKS, diskSerial, NODE_DISK_DIR, NODE_HARDWARE_FILE, nodePaths, OVERLAY_DIRS,
  type LabPaths, type NodePaths,
} from './layout'; // prettier-ignore
import { ensureNodeNet, linkExists, linkIsUp, linkMaster, netnsExists, setSlowLink } from './net';
import { alive, allPids, cmdline, mntNs, netNsInode, run, spawnDetached, stopPids, waitFor } from './proc';
import {
  readFaults,
  readText,
  shellQuote,
  writeFileAtomic,
  writeIfChanged,
  type LabRecord,
  type NodeRecord,
} from './state';
import type { LabDisk, LabNodeStatus } from './types';

/** What every node operation needs to know about its lab. */
export interface LabContext {
  paths: LabPaths;
  rec: LabRecord;
  log: Logger;
  /** The lab's SSH public key (authorized on every node). */
  sshPublicKey: string;
  bmcPassword(index: number): string;
}

export type EnsureOutcome = 'created' | 'repaired' | 'kept';

/**
 * Where a node's OS power commands live (paths inside the node). Each is a copy of node-power-shim.sh in
 * the node's own upper layer: it shadows the host's binary inside the node only, and asks the lab's
 * chassis (the watcher in redfish-bmc.ts) to reset or power the node off, as an OS asks ACPI.
 */
export const NODE_POWER_SHIMS = [
  '/usr/sbin/reboot',
  '/usr/sbin/poweroff',
  '/usr/sbin/halt',
  '/usr/sbin/shutdown',
  '/usr/bin/systemctl',
] as const;

export function disksOf(rec: LabRecord, np: NodePaths, index: number): LabDisk[] {
  return DISKS.map((d) => ({
    name: d.name,
    path: path.join(np.disks, `${d.name}.img`),
    nodePath: `${NODE_DISK_DIR}/${d.name}.img`,
    sizeBytes: d.sizeBytes,
    serial: diskSerial(rec.name, index, d.name),
    model: 'ANNEAL LAB DISK',
  }));
}

/** The pid of the node's init when it runs (checked by its argv), else null. */
export function liveInit(np: NodePaths): number | null {
  const pid = Number(readText(np.initPid));
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const argv = cmdline(pid);
  return argv && argv[0] === `anneal-lab-init ${np.dir}` ? pid : null;
}

/** The pid of the node's sshd (its pid file inside the node's /run, same mount namespace), else null. */
export function sshdPid(initPid: number): number | null {
  const pid = Number(readText(`/proc/${initPid}/root/run/sshd.pid`));
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return null;
  return mntNs(pid) === mntNs(initPid) ? pid : null;
}

function nodeEnv(ctx: LabContext, node: NodeRecord, np: NodePaths): string {
  const vars: Record<string, string> = {
    NODE_NAME: node.name,
    NODE_INDEX: String(node.index),
    NODE_IP: node.ip,
    NODE_NETNS: node.netns,
    NODE_MACS: `${node.macs.eth0},${node.macs.eth1}`,
    NODE_DIR: np.dir,
    LAB_DIR: ctx.paths.labDir,
    HOST_IP: ctx.rec.hostIp,
    BMC_ADDRESS: `${BMC_HOST}:${node.bmcPort}`,
    ANNEAL_URL: ctx.rec.annealUrl ?? '',
    PXE_HOOK: ctx.rec.pxeHook ?? '',
    // The node binary that runs the built-in network boot (pxe-install.cjs) inside the node.
    NODE_BIN: process.execPath,
    OVERLAY_DIRS: OVERLAY_DIRS.join(' '),
  };
  const lines = Object.entries(vars).map(([k, v]) => `${k}=${shellQuote(v)}`);
  return `# lab node ${node.name} (written by anneal lab; read by node-init.sh and bmc-control.sh)\n${lines.join('\n')}\n`;
}

/** mkdir -p `dir` under an upper tree, each created level taking the mode of the host directory it overlays. */
function mkdirLike(upperRoot: string, rel: string, fallbackMode = 0o755): string {
  mkdirSync(upperRoot, { recursive: true, mode: 0o755 });
  let cur = upperRoot;
  for (const part of rel.split('/').filter(Boolean)) {
    cur = path.join(cur, part);
    if (existsSync(cur)) continue;
    const hostDir = `/${path.relative(upperRoot, cur)}`;
    let mode = fallbackMode;
    try {
      mode = statSync(hostDir).mode & 0o7777;
    } catch {
      /* not on the host: fallback */
    }
    mkdirSync(cur);
    chmodSync(cur, mode);
  }
  return cur;
}

function writeIfMissing(file: string, data: string, mode = 0o644): void {
  if (!existsSync(file)) writeFileAtomic(file, data, mode);
}

/**
 * Seeds the node's own files into its upper dirs. Only while its init is not running (overlayfs does not
 * allow changing an upper dir under a mounted overlay); only files that are missing.
 */
async function seedUpper(ctx: LabContext, node: NodeRecord, np: NodePaths, disks: LabDisk[]): Promise<void> {
  for (const d of OVERLAY_DIRS) {
    mkdirLike(np.upper, d);
    mkdirSync(path.join(np.work, d), { recursive: true, mode: 0o700 });
  }
  // The node's own lower layers for /root and /home (see node-init.sh): /etc/skel, and empty.
  const lowerRoot = path.join(np.dir, 'lower', 'root');
  if (!existsSync(lowerRoot)) {
    mkdirSync(path.dirname(lowerRoot), { recursive: true, mode: 0o755 });
    if (existsSync('/etc/skel')) cpSync('/etc/skel', lowerRoot, { recursive: true });
    else mkdirSync(lowerRoot);
    chmodSync(lowerRoot, 0o700);
  }
  mkdirSync(path.join(np.dir, 'lower', 'home'), { recursive: true, mode: 0o755 });
  const up = (rel: string) => path.join(np.upper, rel);
  const short = node.name.split('.')[0] ?? node.name;
  writeIfMissing(up('etc/hostname'), `${node.name}\n`);
  writeIfMissing(
    up('etc/hosts'),
    `127.0.0.1\tlocalhost\n${node.ip}\t${node.name} ${short}\n${ctx.rec.hostIp}\tanneal-host\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
  );
  // No resolver off the lab: queries go to the host bridge address, where nothing answers.
  writeIfMissing(
    up('etc/resolv.conf'),
    `search ${ctx.rec.name}.lab\nnameserver ${ctx.rec.hostIp}\noptions timeout:1 attempts:1\n`,
  );
  writeIfMissing(up('etc/machine-id'), `${randomBytes(16).toString('hex')}\n`, 0o444);

  mkdirLike(np.upper, 'etc/ssh');
  // NOTE(lab): ed25519 + ecdsa only. `ssh-keygen -A` would add RSA, ~0.9 s of CPU per node (45 s for 50).
  for (const type of ['ed25519', 'ecdsa'] as const) {
    const key = up(`etc/ssh/ssh_host_${type}_key`);
    if (!existsSync(key)) await run('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', `root@${node.name}`, '-f', key]);
  }
  writeIfMissing(
    up('etc/ssh/sshd_config'),
    [
      `# sshd of lab node ${node.name} (written by anneal lab)`,
      `ListenAddress ${node.ip}`,
      'Port 22',
      'HostKey /etc/ssh/ssh_host_ed25519_key',
      'HostKey /etc/ssh/ssh_host_ecdsa_key',
      'PidFile /run/sshd.pid',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'AuthorizedKeysFile .ssh/authorized_keys',
      'UseDNS no',
      'X11Forwarding no',
      'PrintMotd no',
      'MaxStartups 100:30:200',
      'MaxSessions 64',
      'AcceptEnv LANG LC_*',
      'Subsystem sftp /usr/lib/openssh/sftp-server',
      '',
    ].join('\n'),
  );

  mkdirLike(np.upper, 'etc/anneal-lab');
  const hardware = {
    node: node.name,
    lab: ctx.rec.name,
    system: { manufacturer: 'anneal', product: 'anneal-lab-node', serial: diskSerial(ctx.rec.name, node.index, 'sys') },
    cpus: os.cpus().length,
    memoryBytes: os.totalmem(),
    nics: [
      { name: 'eth0', mac: node.macs.eth0, ip: node.ip },
      { name: 'eth1', mac: node.macs.eth1, ip: null },
    ],
    disks: disks.map(({ name, nodePath, sizeBytes, serial, model }) => ({
      name,
      path: nodePath,
      sizeBytes,
      serial,
      model,
    })),
    bmc: { address: BMC_HOST, port: node.bmcPort, username: BMC_USERNAME },
  };
  writeIfMissing(up(NODE_HARDWARE_FILE.slice(1)), `${JSON.stringify(hardware, null, 2)}\n`);

  mkdirLike(np.upper, 'root/.ssh', 0o700);
  chmodSync(up('root/.ssh'), 0o700);
  writeFileAtomic(up('root/.ssh/authorized_keys'), `${ctx.sshPublicKey.trim()}\n`, 0o600);
  mkdirLike(np.upper, 'var/log');

  // Kept current (not only when missing): the node's reboot, poweroff, halt, shutdown and systemctl.
  const shim = readFileSync(path.join(__dirname, 'node-power-shim.sh'), 'utf8');
  for (const file of NODE_POWER_SHIMS) {
    mkdirLike(np.upper, path.dirname(file).slice(1));
    writeIfChanged(up(file.slice(1)), shim, 0o755);
  }
}

/** Creates the node's sparse disk files that are missing. */
function ensureDisks(np: NodePaths, disks: LabDisk[]): void {
  mkdirSync(np.disks, { recursive: true, mode: 0o700 });
  for (const d of disks) {
    if (existsSync(d.path)) continue;
    const fd = openSync(d.path, 'w', 0o600);
    try {
      ftruncateSync(fd, d.sizeBytes);
    } finally {
      closeSync(fd);
    }
  }
}

/** Inode of a named network namespace (/run/netns/<name>), or null. */
function netnsInode(netns: string): number | null {
  try {
    return statSync(`/run/netns/${netns}`).ino;
  } catch {
    return null;
  }
}

/** Processes left from a previous init of the node (its recorded mount namespace, or its netns). */
export function nodeLeftovers(np: NodePaths, netns: string): number[] {
  const ns = readText(np.initMntNs);
  const netIno = netnsInode(netns);
  return allPids().filter((p) => (ns !== null && mntNs(p) === ns) || (netIno !== null && netNsInode(p) === netIno));
}

async function startInit(ctx: LabContext, node: NodeRecord, np: NodePaths): Promise<number> {
  writeFileSync(np.initLog, '', { mode: 0o600 });
  const script = path.join(ctx.paths.binDir, 'node-init.sh');
  const args = [
    'netns',
    'exec',
    node.netns,
    'unshare',
    '--mount',
    '--uts',
    '--fork',
    '--kill-child',
    '--propagation',
    'private',
    'bash',
    script,
    np.dir,
  ];
  const launcher = spawnDetached('ip', args, np.initLog);
  const ready = await waitFor(
    `the init of ${node.name}`,
    () => {
      const m = /^ready (\d+) (mnt:\[\d+\])$/m.exec(readFileSync(np.initLog, 'utf8'));
      if (m) return { pid: Number(m[1]), ns: m[2] as string };
      return alive(launcher) ? undefined : null;
    },
    15_000,
    20,
  ).catch(() => null);
  if (!ready) {
    const logTail = (readText(np.initLog) ?? '').split('\n').slice(-5).join('\n');
    await stopPids([launcher]);
    throw new AppError('ERR_LAB_COMMAND_FAILED', `the init of ${node.name} did not start: ${logTail || 'no output'}`, {
      details: { node: node.name, log: np.initLog },
    });
  }
  writeFileAtomic(np.initPid, `${ready.pid}\n`);
  writeFileAtomic(np.initMntNs, `${ready.ns}\n`);
  return ready.pid;
}

/** Resolves when <ip>:22 accepts a TCP connection, or throws after `timeoutMs`. */
export function waitForSsh(ip: string, timeoutMs: number): Promise<void> {
  const once = () =>
    new Promise<boolean>((resolve) => {
      const s = connect({ host: ip, port: 22, timeout: 1000 });
      const done = (ok: boolean) => {
        s.destroy();
        resolve(ok);
      };
      s.once('connect', () => done(true));
      s.once('error', () => done(false));
      s.once('timeout', () => done(false));
    });
  return waitFor(`sshd on ${ip}:22`, async () => ((await once()) ? true : undefined), timeoutMs, 100).then(
    () => undefined,
  );
}

/** Powers the node on the way a datacenter would: through its BMC (directly when its BMC is faulted). */
export async function powerOn(ctx: LabContext, node: NodeRecord, np: NodePaths): Promise<void> {
  if (bmcPid(np) !== null) {
    await ipmitool(node.bmcPort, ctx.bmcPassword(node.index), ['chassis', 'power', 'on']);
  } else {
    await run(path.join(ctx.paths.binDir, 'bmc-control.sh'), [np.dir, 'set', 'power', '1']);
  }
}

/**
 * Makes node `node` exist and be healthy: namespace, links, files, disks, init, BMC. A node whose init
 * had to be (re)started is powered on through its BMC and waited for (sshd accepting connections, unless
 * it has the sshd-down fault). Injected faults are left as they are. Returns what it had to do.
 */
export async function ensureNode(ctx: LabContext, node: NodeRecord): Promise<EnsureOutcome> {
  const np = nodePaths(ctx.paths, node.index);
  const t0 = Date.now();
  const ms: Record<string, number> = {};
  const lap = (step: string) => (ms[step] = Date.now() - t0 - Object.values(ms).reduce((a, b) => a + b, 0));
  const fresh = !existsSync(np.env);
  const faults = readFaults(np);
  mkdirSync(np.dir, { recursive: true, mode: 0o700 });
  mkdirSync(np.bmcDir, { recursive: true, mode: 0o700 });
  const env = nodeEnv(ctx, node, np);
  writeIfChanged(np.env, env);
  const disks = disksOf(ctx.rec, np, node.index);
  ensureDisks(np, disks);

  let initPid = liveInit(np);
  if (initPid !== null && netNsInode(initPid) !== netnsInode(node.netns)) {
    // Its namespace was deleted (and maybe made anew): the init holds the old one, with the old veth.
    // Stop the node before touching the network, so that veth goes away with the old namespace.
    ctx.log.warn({ node: node.name }, 'lab: the node init is in a stale network namespace; restarting the node');
    initPid = null;
  }
  if (initPid === null) {
    const leftovers = nodeLeftovers(np, node.netns);
    if (leftovers.length > 0) {
      ctx.log.warn({ node: node.name, pids: leftovers.length }, 'lab: stopping processes left from a previous init');
      await stopPids(leftovers);
    }
  }

  const netChanged = await ensureNodeNet(node, ctx.rec, faults.includes('link-down'));
  if (netChanged && faults.includes('slow-link')) await setSlowLink(node.hostVeth, true);
  lap('net');

  const initStarted = initPid === null;
  if (initPid === null) {
    await seedUpper(ctx, node, np, disks);
    lap('files');
    initPid = await startInit(ctx, node, np);
    lap('init');
    writeFileAtomic(np.power, '0\n');
  }

  writeBmcConfig(ctx.paths, np, node, ctx.bmcPassword(node.index));
  const bmcStarted = faults.includes('bmc-down') ? false : await startBmc(np, node);
  lap('bmc');

  // Powered on when its init was (re)started, or when a previous run stopped before the first power-on.
  const booted = path.join(np.dir, 'booted');
  const wasBooted = existsSync(booted);
  if (initStarted || !wasBooted) {
    await powerOn(ctx, node, np);
    writeFileAtomic(booted, `${new Date().toISOString()}\n`);
    lap('powerOn');
    if (!faults.includes('sshd-down')) await waitForSsh(node.ip, 20_000);
    lap('sshd');
  }
  const outcome: EnsureOutcome = fresh
    ? 'created'
    : netChanged || initStarted || bmcStarted || !wasBooted
      ? 'repaired'
      : 'kept';
  if (outcome !== 'kept') ctx.log.info({ node: node.name, outcome, initPid, ms }, `lab: node ${outcome}`);
  return outcome;
}

/** The live status of one node (reads /proc, /sys and the node's files; changes nothing). */
export function nodeStatus(rec: LabRecord, paths: LabPaths, node: NodeRecord): LabNodeStatus {
  const np = nodePaths(paths, node.index);
  const initPid = liveInit(np);
  const bmcRunning = bmcPid(np) !== null;
  const faults = readFaults(np);
  const power = initPid !== null && readText(np.power) === '1' ? 'on' : 'off';
  const healthy =
    initPid !== null &&
    netnsExists(node.netns) &&
    linkExists(node.hostVeth) &&
    linkMaster(node.hostVeth) === rec.bridge &&
    (faults.includes('link-down') || linkIsUp(node.hostVeth)) &&
    (faults.includes('bmc-down') || bmcRunning);
  return {
    name: node.name,
    index: node.index,
    ip: node.ip,
    macs: [node.macs.eth0, node.macs.eth1],
    nics: [
      { name: 'eth0', mac: node.macs.eth0, ip: node.ip },
      { name: 'eth1', mac: node.macs.eth1, ip: null },
    ],
    netns: node.netns,
    hostVeth: node.hostVeth,
    bmc: { host: BMC_HOST, port: node.bmcPort, username: BMC_USERNAME, running: bmcRunning },
    power,
    bootDevice: readText(np.boot) ?? 'none',
    sshdRunning: initPid !== null && sshdPid(initPid) !== null,
    initPid,
    disks: disksOf(rec, np, node.index),
    faults,
    healthy,
  };
}
