/**
 * Names, addresses and paths of a lab, derived only from the lab name, its subnet, the node index and the
 * state directory (pure functions, so every command, and the teardown sweep after a crash, finds the same
 * objects again). Interface names stay within Linux's 15 characters.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { formatIpv4, parseIpv4 } from '../domain/ipam';
import { inputError } from '../errors';

/**
 * The default subnet of a lab (`labUp` without `subnet`, and lab.json files written before labs had their
 * own). A lab's subnet exists only on its bridge and inside its namespaces.
 */
export const LAB_SUBNET = '10.231.0.0/24';
export const LAB_PREFIX_LENGTH = 24;
/** The host's address on the default subnet's lab bridge (the default route of every node, and where anneal listens). */
export const LAB_HOST_IP = '10.231.0.1';
/** Node i gets <subnet network>+(NODE_IP_OFFSET + i): 10.231.0.(10+i) in the default subnet. */
export const NODE_IP_OFFSET = 10;
export const MAX_NODES = 200;
/** The prefix lengths a lab subnet may have: /16 (a lab may use only its first 211 addresses) to /24. */
export const MIN_SUBNET_PREFIX = 16;
export const MAX_SUBNET_PREFIX = 24;
export const DEFAULT_LAB_NAME = 'anneal';
export const DEFAULT_STATE_DIR = '/var/lib/anneal-lab';
/** The BMC (UDP) of node i listens on 127.0.0.1:(bmcBasePort + i); the first lab's block. */
export const DEFAULT_BMC_BASE_PORT = 9000;
/** The Redfish service of node i listens on 127.0.0.1:(redfishBasePort + i) (TCP); the first lab's block. */
export const DEFAULT_REDFISH_BASE_PORT = 8000;
/**
 * Port blocks: a lab created without explicit base ports takes the first free block k (0, 1, …), that is
 * BMC base 9000 + k·PORT_BLOCK_SIZE and Redfish base 8000 + k·PORT_BLOCK_SIZE, so it can grow to MAX_NODES
 * nodes without reaching another lab's ports.
 */
export const PORT_BLOCK_SIZE = MAX_NODES;
/** How many blocks `labUp` tries before it gives up (block 99: BMC 28800, Redfish 27800). */
export const PORT_BLOCKS = 100;
export const BMC_HOST = '127.0.0.1';
export const BMC_USERNAME = 'admin';
export const SSH_USER = 'root';
/** Host directories each node overlays with its own writable copy. */
export const OVERLAY_DIRS = ['etc', 'var', 'root', 'home', 'opt', 'srv', 'usr'] as const;
/** Where a node sees its virtual disks, and the facts file describing its hardware. */
export const NODE_DISK_DIR = '/srv/lab-disks';
export const NODE_HARDWARE_FILE = '/etc/anneal-lab/hardware.json';
/** The two virtual disks of every node: sparse files, so they cost no space until written. */
export const DISKS = [
  { name: 'sda', sizeBytes: 8 * 1024 ** 3 },
  { name: 'sdb', sizeBytes: 16 * 1024 ** 3 },
] as const;

const labNamePattern = /^[a-z](?:[a-z0-9-]{0,22}[a-z0-9])?$/;

/** Throws ERR_INPUT_INVALID unless `name` is a lowercase DNS label of at most 24 characters. */
export function checkLabName(name: string): void {
  if (!labNamePattern.test(name) || name.includes('--')) {
    throw inputError([
      {
        field: 'name',
        message:
          'expected a lowercase name of letters, digits and single hyphens, starting with a letter, at most 24 characters',
      },
    ]);
  }
}

function hashHex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/**
 * A short form of the lab name for interface names: the name itself when it is 1–6 letters/digits, else
 * `h` + 5 hex digits of its hash. Never starts with `br`, so a veth (`anl<short>-<i>`) can never take the
 * name of a bridge (`anlbr-<short>`).
 */
export function labShort(name: string): string {
  if (/^[a-z0-9]{1,6}$/.test(name) && !name.startsWith('br')) return name;
  return `h${hashHex(name).slice(0, 5)}`;
}

export function bridgeName(lab: string): string {
  return `anlbr-${labShort(lab)}`;
}

export function hostVethName(lab: string, index: number): string {
  return `anl${labShort(lab)}-${index}`;
}

/** Prefix of every host-side veth of the lab (for the teardown sweep). */
export function hostVethPrefix(lab: string): string {
  return `anl${labShort(lab)}-`;
}

export function netnsName(lab: string, index: number): string {
  return `anl-${lab}-${index}`;
}

export function netnsPrefix(lab: string): string {
  return `anl-${lab}-`;
}

export function nodeName(lab: string, index: number): string {
  return `n${index}.${lab}.lab`;
}

/** Node `index`'s address in `subnet` (default 10.231.0.0/24): the network address + 10 + index. */
export function nodeIp(index: number, subnet: string = LAB_SUBNET): string {
  return formatIpv4(subnetOf(subnet).network + NODE_IP_OFFSET + index);
}

/** The host's default address on the bridge of a lab on `subnet`: the network address + 1 (`.1`). */
export function subnetHostIp(subnet: string = LAB_SUBNET): string {
  return formatIpv4(subnetOf(subnet).network + 1);
}

/** A lab subnet as numbers. */
export interface LabSubnet {
  /** The network address (host bits zero) as an unsigned 32-bit number. */
  network: number;
  prefixLength: number;
  /** How many addresses it spans (2^(32 - prefixLength)). */
  size: number;
}

const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((c) => {
  const [a, p] = c.split('/') as [string, string];
  return { cidr: c, network: parseIpv4(a) as number, size: 2 ** (32 - Number(p)) };
});

/**
 * What is wrong with `cidr` as a lab subnet (one sentence naming the fix, for `--subnet` and `subnet`), or
 * null: it must be an IPv4 network from /16 to /24 inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16,
 * written with its host bits zero.
 */
export function labSubnetProblem(cidr: string): string | null {
  const example = 'e.g. 10.232.0.0/24';
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(cidr);
  const address = m ? parseIpv4(m[1]!) : null;
  if (!m || address === null) return `"${cidr}" is not an IPv4 network in CIDR form (${example})`;
  const prefixLength = Number(m[2]);
  if (prefixLength < MIN_SUBNET_PREFIX || prefixLength > MAX_SUBNET_PREFIX) {
    return `"${cidr}" is a /${prefixLength}; a lab subnet is a /${MIN_SUBNET_PREFIX} to /${MAX_SUBNET_PREFIX} (${example})`;
  }
  const size = 2 ** (32 - prefixLength);
  if (address % size !== 0) {
    return `"${cidr}" has host bits set; write its network address: ${formatIpv4(address - (address % size))}/${prefixLength}`;
  }
  if (!PRIVATE_RANGES.some((r) => address >= r.network && address + size <= r.network + r.size)) {
    return `"${cidr}" is not a private range; use one inside ${PRIVATE_RANGES.map((r) => r.cidr).join(', ')} (${example})`;
  }
  return null;
}

/** Parses a lab subnet; throws ERR_INPUT_INVALID (field `subnet`) with `labSubnetProblem`'s sentence. */
export function parseLabSubnet(cidr: string): LabSubnet {
  const problem = labSubnetProblem(cidr);
  if (problem) throw inputError([{ field: 'subnet', message: problem }]);
  const [a, p] = cidr.split('/') as [string, string];
  const prefixLength = Number(p);
  return { network: parseIpv4(a) as number, prefixLength, size: 2 ** (32 - prefixLength) };
}

/** Like parseLabSubnet, for subnets already checked (lab.json): any IPv4 CIDR with host bits zero. */
function subnetOf(subnet: string): LabSubnet {
  const [a, p] = subnet.split('/') as [string, string | undefined];
  const network = parseIpv4(a);
  const prefixLength = Number(p);
  if (network === null || !Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    throw inputError([{ field: 'subnet', message: `"${subnet}" is not an IPv4 network in CIDR form` }]);
  }
  const size = 2 ** (32 - prefixLength);
  return { network: network - (network % size), prefixLength, size };
}

/** The prefix length of `subnet` (24 for 10.231.0.0/24). */
export function subnetPrefixLength(subnet: string = LAB_SUBNET): number {
  return subnetOf(subnet).prefixLength;
}

/** True when the address `ip` (a.b.c.d) is inside `subnet`. */
export function subnetContains(subnet: string, ip: string): boolean {
  const a = parseIpv4(ip);
  const s = subnetOf(subnet);
  return a !== null && a >= s.network && a < s.network + s.size;
}

/** True when two IPv4 networks share an address (one of them holds the other's network address). */
export function subnetsOverlap(a: string, b: string): boolean {
  const x = subnetOf(a);
  const y = subnetOf(b);
  return x.network < y.network + y.size && y.network < x.network + x.size;
}

/**
 * Whether `ip` may be the host's address on a lab on `subnet`: from the network address + 1 to + 10 (below
 * the node addresses).
 */
export function validHostIp(subnet: string, ip: string): boolean {
  const a = parseIpv4(ip);
  const s = subnetOf(subnet);
  return a !== null && a >= s.network + 1 && a <= s.network + NODE_IP_OFFSET;
}

/** The base ports of port block `k` (see PORT_BLOCK_SIZE). */
export function portBlock(k: number): { bmcBasePort: number; redfishBasePort: number } {
  return {
    bmcBasePort: DEFAULT_BMC_BASE_PORT + k * PORT_BLOCK_SIZE,
    redfishBasePort: DEFAULT_REDFISH_BASE_PORT + k * PORT_BLOCK_SIZE,
  };
}

/** The byte of a lab's MACs that comes from its name (52:54:00:<this>:…); two labs sharing it share MACs. */
export function macLabByte(lab: string): string {
  return hashHex(lab).slice(0, 2);
}

function macOf(lab: string, kind: number, index: number): string {
  const h = macLabByte(lab);
  return ['52', '54', '00', h, kind.toString(16).padStart(2, '0'), index.toString(16).padStart(2, '0')].join(':');
}

/**
 * Stable, locally administered MACs: 52:54:00:<lab hash>:<kind>:<index>, kind 00 = eth0, 01 = eth1,
 * fe = the host side of the node's veth, ff = the bridge (index 0).
 */
export function nodeMacs(lab: string, index: number): { eth0: string; eth1: string; hostVeth: string } {
  return { eth0: macOf(lab, 0, index), eth1: macOf(lab, 1, index), hostVeth: macOf(lab, 0xfe, index) };
}

export function bridgeMac(lab: string): string {
  return macOf(lab, 0xff, 0);
}

/** A stable serial number for disk `disk` of node `index`. */
export function diskSerial(lab: string, index: number, disk: string): string {
  return `ANL${hashHex(lab).slice(0, 6).toUpperCase()}-${index}-${disk.toUpperCase()}`;
}

/** Every path of a lab under its state directory. */
export function labPaths(stateDir: string, lab: string) {
  const labDir = path.join(path.resolve(stateDir), lab);
  return {
    stateDir: path.resolve(stateDir),
    labDir,
    lockFile: path.join(path.resolve(stateDir), `.${lab}.lock`),
    stateFile: path.join(labDir, 'lab.json'),
    secretsFile: path.join(labDir, 'secrets.json'),
    sshDir: path.join(labDir, 'ssh'),
    sshKey: path.join(labDir, 'ssh', 'id_ed25519'),
    binDir: path.join(labDir, 'bin'),
    nodesDir: path.join(labDir, 'nodes'),
    logFile: path.join(labDir, 'lab.log'),
    /** The Redfish BMC emulator: its JavaScript copy, pid file, the ports it serves, its log (core/lab/redfish.ts). */
    redfishScript: path.join(labDir, 'bin', 'redfish-bmc.js'),
    redfishPid: path.join(labDir, 'redfish.pid'),
    redfishPorts: path.join(labDir, 'redfish.ports'),
    redfishLog: path.join(labDir, 'redfish.log'),
  };
}

export type LabPaths = ReturnType<typeof labPaths>;

/** Every path of one node under its lab's state directory. */
export function nodePaths(paths: LabPaths, index: number) {
  const dir = path.join(paths.nodesDir, `n${index}`);
  return {
    dir,
    env: path.join(dir, 'node.env'),
    initLog: path.join(dir, 'init.log'),
    initPid: path.join(dir, 'init.pid'),
    initMntNs: path.join(dir, 'init.mntns'),
    power: path.join(dir, 'power'),
    boot: path.join(dir, 'boot'),
    faults: path.join(dir, 'faults'),
    discovered: path.join(dir, 'discovered'),
    upper: path.join(dir, 'upper'),
    work: path.join(dir, 'work'),
    disks: path.join(dir, 'disks'),
    bmcDir: path.join(dir, 'bmc'),
    bmcConf: path.join(dir, 'bmc', 'lan.conf'),
    bmcEmu: path.join(dir, 'bmc', 'sim.emu'),
    bmcState: path.join(dir, 'bmc', 'state'),
    bmcControl: path.join(dir, 'bmc', 'control'),
    bmcPid: path.join(dir, 'bmc', 'ipmi_sim.pid'),
    bmcLog: path.join(dir, 'bmc', 'ipmi_sim.log'),
  };
}

export type NodePaths = ReturnType<typeof nodePaths>;
