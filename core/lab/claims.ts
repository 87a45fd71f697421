/**
 * What a lab holds on this host besides its own names: its subnet, its BMC (UDP) and Redfish (TCP) ports
 * on 127.0.0.1, and the byte of its MACs that comes from its name. Labs run side by side when none of
 * these clash (docs/lab.md, "Several labs on one host").
 *
 * `labUp` checks them, holding the host-wide lock /run/anneal-lab/lock, against every other lab it can
 * find: the labs in the same state directory, the labs registered in /run/anneal-lab/labs/<name> (a file
 * naming the lab directory, written before the lock is let go, so a `labUp` running at the same time sees
 * the claim before any interface or port exists), and the labs whose processes run, from any state
 * directory. The host's interfaces are checked for the subnet too: a real network, or a lab with no
 * record left, still counts.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors';
import { udpPortFree } from './bmc';
import {
  BMC_HOST, bridgeMac, bridgeName, macLabByte, nodeName, PORT_BLOCK_SIZE, PORT_BLOCKS, portBlock,
  subnetsOverlap, type LabPaths,
} from './layout'; // prettier-ignore
import { allPids, cmdline, run, sleep } from './proc';
import { REDFISH_PROGRAM, redfishPortOf, tcpPortFree } from './redfish';
import { readLabRecord, readText, withWaitingLock, writeIfChanged, type LabRecord } from './state';

/** Host-wide runtime files of the labs (a tmpfs: gone at reboot, like the labs' namespaces and bridges). */
export const HOST_RUN_DIR = '/run/anneal-lab';
const HOST_LOCK = path.join(HOST_RUN_DIR, 'lock');
const REGISTRY_DIR = path.join(HOST_RUN_DIR, 'labs');
/** How long labUp waits for another labUp's claim (a few checks and writes, a leftover sweep at most). */
const HOST_LOCK_WAIT_MS = 60_000;
/**
 * How long a fixed BMC port that is busy is looked at again before it counts as taken: a just-removed lab's
 * ipmi_sim may still hold it (startBmc waits as long).
 */
const BMC_PORT_SETTLE_MS = 5_000;

/** Another lab on this host: its directory and its lab.json. */
export interface OtherLab {
  labDir: string;
  rec: LabRecord;
}

/** What labUp finds around it: the other labs, and lab directories whose processes run without a lab.json. */
export interface Neighbours {
  labs: OtherLab[];
  orphans: string[];
}

type PortKind = 'bmc' | 'redfish';

function conflict(message: string, details: Record<string, unknown>): AppError {
  return new AppError('ERR_LAB_CONFLICT', message, { details });
}

/** Runs `fn` holding the host-wide lab lock (waits for another holder; ERR_LAB_LOCKED after 60 s). */
export function withHostLock<T>(fn: () => Promise<T>): Promise<T> {
  return withWaitingLock(HOST_LOCK, HOST_LOCK_WAIT_MS, fn);
}

/** Records that lab `name` lives in `labDir` (read by every later labUp on this host). */
export function registerLab(name: string, labDir: string): void {
  mkdirSync(REGISTRY_DIR, { recursive: true, mode: 0o755 });
  writeIfChanged(path.join(REGISTRY_DIR, name), `${labDir}\n`);
}

/** Removes the record of lab `name`, when it names `labDir` (another lab of that name keeps its record). */
export function unregisterLab(name: string, labDir: string): void {
  const file = path.join(REGISTRY_DIR, name);
  if (readText(file) === labDir) rmSync(file, { force: true });
}

/** Lab directories with a running lab process: a node init (`anneal-lab-init <labDir>/nodes/n<i>`) or a Redfish emulator. */
function runningLabDirs(): string[] {
  const dirs = new Set<string>();
  for (const pid of allPids()) {
    const argv = cmdline(pid);
    if (!argv) continue;
    const init = /^anneal-lab-init (\/.+)\/nodes\/n\d+$/.exec(argv[0] ?? '');
    if (init) dirs.add(init[1]!);
    else if (argv[0] === REDFISH_PROGRAM && argv.length >= 3) dirs.add(argv[argv.length - 1]!);
  }
  return [...dirs];
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Every lab on this host other than the one at `paths` (see the file comment for where they are found). */
export function neighbours(paths: LabPaths): Neighbours {
  const dirs = new Set<string>(listDir(paths.stateDir).map((d) => path.join(paths.stateDir, d)));
  for (const name of listDir(REGISTRY_DIR)) {
    const dir = readText(path.join(REGISTRY_DIR, name));
    if (dir) dirs.add(dir);
  }
  const running = runningLabDirs();
  for (const dir of running) dirs.add(dir);
  dirs.delete(paths.labDir);
  const labs: OtherLab[] = [];
  for (const labDir of [...dirs].sort()) {
    let rec: LabRecord | null = null;
    try {
      rec = readLabRecord({ stateFile: path.join(labDir, 'lab.json') });
    } catch {
      /* unreadable: nothing to compare with */
    }
    if (rec) labs.push({ labDir, rec });
  }
  const orphans = running.filter((d) => d !== paths.labDir && !labs.some((l) => l.labDir === d)).sort();
  return { labs, orphans };
}

/**
 * Throws ERR_LAB_CONFLICT when lab `name` would take what another lab has: its name (the namespaces
 * `anl-<name>-<i>` are host-wide), its interface names (`anlbr-<short>`), or its MACs.
 */
export function checkName(name: string, around: Neighbours): void {
  const fix = 'choose another --name';
  const same =
    around.labs.find((o) => o.rec.name === name)?.labDir ?? around.orphans.find((d) => path.basename(d) === name);
  if (same) {
    throw conflict(
      `lab name ${name} is taken by the lab in ${same}; ${fix} (or pass --state-dir ${path.dirname(same)} to work on that lab)`,
      { name, labDir: same },
    );
  }
  const bridge = bridgeName(name);
  const links = around.labs.find((o) => o.rec.bridge === bridge);
  if (links) {
    throw conflict(
      `lab name ${name} gives the same interface names (${bridge}) as lab ${links.rec.name} in ${links.labDir}; ${fix}`,
      { name, bridge, labDir: links.labDir },
    );
  }
  const byte = macLabByte(name);
  const macs = around.labs.find((o) => macLabByte(o.rec.name) === byte);
  if (macs) {
    throw conflict(
      `lab name ${name} gives its nodes the same MACs (52:54:00:${byte}:…) as lab ${macs.rec.name} in ${macs.labDir}; ${fix}`,
      { name, macPrefix: `52:54:00:${byte}`, labDir: macs.labDir },
    );
  }
  // Bridges of labs with no record found (another state directory, all processes gone).
  for (const link of listDir('/sys/class/net').filter((l) => l.startsWith('anlbr-'))) {
    const mac = readText(`/sys/class/net/${link}/address`) ?? '';
    if (link === bridge && mac !== bridgeMac(name)) {
      throw conflict(`the bridge ${bridge} belongs to another lab (its MAC is ${mac}); ${fix}`, { name, bridge, mac });
    }
    if (link !== bridge && mac.startsWith(`52:54:00:${byte}:`)) {
      throw conflict(
        `lab name ${name} gives its nodes the same MACs (52:54:00:${byte}:…) as the lab on ${link}; ${fix}`,
        {
          name,
          macPrefix: `52:54:00:${byte}`,
          bridge: link,
        },
      );
    }
  }
}

/**
 * Throws ERR_LAB_CONFLICT when `subnet` overlaps another lab's subnet or the network of an address on any
 * host interface other than the lab's own `bridge`.
 */
export async function checkSubnet(subnet: string, bridge: string, around: Neighbours): Promise<void> {
  const fix = 'choose another --subnet';
  for (const o of around.labs) {
    if (subnetsOverlap(o.rec.subnet, subnet)) {
      throw conflict(
        `subnet ${subnet} overlaps ${o.rec.subnet} of lab ${o.rec.name} (${o.labDir}); ${fix}, or remove that lab (anneal lab down --name ${o.rec.name})`,
        { subnet, lab: o.rec.name, labDir: o.labDir, theirs: o.rec.subnet },
      );
    }
  }
  const { stdout } = await run('ip', ['-j', '-4', 'addr', 'show']);
  const links = JSON.parse(stdout || '[]') as { ifname: string; addr_info?: { local: string; prefixlen: number }[] }[];
  for (const l of links) {
    if (l.ifname === bridge) continue;
    for (const a of l.addr_info ?? []) {
      if (!subnetsOverlap(`${a.local}/${a.prefixlen}`, subnet)) continue;
      const lab = l.ifname.startsWith('anlbr-') ? ', the bridge of another lab (see `anneal lab status --name …`)' : '';
      throw conflict(`subnet ${subnet} overlaps ${a.local}/${a.prefixlen} on ${l.ifname}${lab}; ${fix}`, {
        subnet,
        interface: l.ifname,
        address: a.local,
      });
    }
  }
}

/** A lab's ports of one kind: each node's, and (`block`) the whole block its base starts. */
function portsOf(rec: LabRecord, kind: PortKind, block: boolean): [number, number][] {
  const base = kind === 'bmc' ? rec.bmcBasePort : rec.redfishBasePort;
  const nodes = rec.nodes.map((n): [number, number] => {
    const p = kind === 'bmc' ? n.bmcPort : redfishPortOf(rec, n);
    return [p, p];
  });
  return block && base !== undefined ? [[base + 1, base + PORT_BLOCK_SIZE], ...nodes] : nodes;
}

const FLAG: Record<PortKind, string> = { bmc: '--bmc-base-port', redfish: '--redfish-base-port' };

/**
 * Why lab `name` cannot have `kind` ports base+i for `indexes` (`busy`: a process holds one), or null.
 * `block`: keep out of other labs' whole blocks, not just their nodes' ports.
 */
async function portProblem(
  name: string,
  kind: PortKind,
  base: number,
  indexes: number[],
  around: Neighbours,
  block: boolean,
): Promise<{ message: string; busy: boolean } | null> {
  const lo = base + 1;
  const hi = base + (block ? PORT_BLOCK_SIZE : Math.max(0, ...indexes));
  for (const o of around.labs) {
    const hit = portsOf(o.rec, kind, block).find(([a, b]) => a <= hi && lo <= b);
    if (hit) {
      const what = kind === 'bmc' ? 'BMC' : 'Redfish';
      const message = `${what} ports ${lo}–${hi} overlap lab ${o.rec.name}'s (${o.labDir}, ${hit[0]}–${hit[1]}); choose another ${FLAG[kind]}, or leave it out to get a free block`;
      return { message, busy: false };
    }
  }
  const free = kind === 'bmc' ? udpPortFree : tcpPortFree;
  for (const i of indexes) {
    if (!(await free(base + i))) {
      const message =
        kind === 'bmc'
          ? `UDP port ${BMC_HOST}:${base + i} for the BMC of ${nodeName(name, i)} is taken by another process; free it or create the lab with another BMC base port (${FLAG.bmc})`
          : `TCP port ${BMC_HOST}:${base + i} for the Redfish service of ${nodeName(name, i)} is taken by another process; free it or create the lab with another Redfish base port (${FLAG.redfish})`;
      return { message, busy: true };
    }
  }
  return null;
}

/**
 * The base ports of lab `name`, checked before anything of it is made. A fixed base (given, or the
 * existing lab's) is checked for the nodes `indexes` about to be made: no other lab has those ports and no
 * process holds them (a busy BMC port is looked at again for 5 s). A base not given takes the first port block
 * k (BMC 9000 + 200k, Redfish 8000 + 200k) that reaches no other lab's block and whose ports for
 * `indexes` are free. Throws ERR_LAB_CONFLICT naming the port and the option to change.
 */
export async function claimPorts(
  name: string,
  fixed: { bmcBasePort?: number; redfishBasePort?: number },
  indexes: number[],
  around: Neighbours,
): Promise<{ bmcBasePort: number; redfishBasePort: number }> {
  const kinds: [PortKind, number | undefined][] = [
    ['bmc', fixed.bmcBasePort],
    ['redfish', fixed.redfishBasePort],
  ];
  for (const [kind, base] of kinds) {
    if (base === undefined) continue;
    const deadline = Date.now() + (kind === 'bmc' ? BMC_PORT_SETTLE_MS : 0);
    for (;;) {
      const problem = await portProblem(name, kind, base, indexes, around, false);
      if (!problem) break;
      if (!problem.busy || Date.now() > deadline) throw conflict(problem.message, { kind, base });
      await sleep(250);
    }
  }
  for (let k = 0; k < PORT_BLOCKS; k++) {
    const b = portBlock(k);
    const bmc = fixed.bmcBasePort ?? b.bmcBasePort;
    const redfish = fixed.redfishBasePort ?? b.redfishBasePort;
    if (fixed.bmcBasePort === undefined && (await portProblem(name, 'bmc', bmc, indexes, around, true))) continue;
    if (fixed.redfishBasePort === undefined && (await portProblem(name, 'redfish', redfish, indexes, around, true)))
      continue;
    return { bmcBasePort: bmc, redfishBasePort: redfish };
  }
  const last = portBlock(PORT_BLOCKS - 1);
  throw conflict(
    `no free port block for lab ${name} (BMC ${portBlock(0).bmcBasePort}–${last.bmcBasePort}, Redfish ${portBlock(0).redfishBasePort}–${last.redfishBasePort}); pass ${FLAG.bmc} and ${FLAG.redfish}`,
    { name },
  );
}
