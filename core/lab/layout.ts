/**
 * Names, addresses and paths of a lab, derived only from the lab name, the node index and the state
 * directory (pure functions, so every command, and the teardown sweep after a crash, finds the same
 * objects again). Interface names stay within Linux's 15 characters.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { inputError } from '../errors';

/** The one subnet every lab uses; it exists only on the lab's bridge and inside its namespaces. */
export const LAB_SUBNET = '10.231.0.0/24';
export const LAB_PREFIX_LENGTH = 24;
/** The host's address on the lab bridge (the default route of every node, and where anneal listens). */
export const LAB_HOST_IP = '10.231.0.1';
/** Node i gets 10.231.0.(NODE_IP_OFFSET + i). */
export const NODE_IP_OFFSET = 10;
export const MAX_NODES = 200;
export const DEFAULT_LAB_NAME = 'anneal';
export const DEFAULT_STATE_DIR = '/var/lib/anneal-lab';
export const DEFAULT_BMC_BASE_PORT = 9000;
/** The Redfish service of node i listens on 127.0.0.1:(redfishBasePort + i) (TCP). */
export const DEFAULT_REDFISH_BASE_PORT = 8000;
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

export function nodeIp(index: number): string {
  return `10.231.0.${NODE_IP_OFFSET + index}`;
}

function macOf(lab: string, kind: number, index: number): string {
  const h = hashHex(lab).slice(0, 2);
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
