/**
 * The lab's files under <stateDir>/<lab>/: `lab.json` (what the lab is: names, addresses, options; no
 * secrets), `secrets.json` (0600: BMC passwords), the lab's SSH key pair, and the per-node runtime files
 * (`power`, `boot`, `init.pid`, `faults/`) shared with bmc-control.sh. Writes are atomic (temp + rename).
 * Also the lab lock: one mutating command per lab at a time.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors';
import { LAB_SUBNET, subnetHostIp, type LabPaths, type NodePaths } from './layout';
import { alive, sleep } from './proc';
import { LAB_FAULTS, type LabFault } from './types';

/** One node as lab.json records it (static facts; runtime state lives in the node's files). */
export interface NodeRecord {
  index: number;
  name: string;
  ip: string;
  netns: string;
  hostVeth: string;
  macs: { eth0: string; eth1: string; hostVeth: string };
  bmcPort: number;
  /** TCP port of the node's Redfish service on 127.0.0.1 (absent in labs made before Redfish). */
  redfishPort?: number;
}

/** lab.json, version 1. */
export interface LabRecord {
  version: 1;
  name: string;
  short: string;
  bridge: string;
  /** The lab's IPv4 subnet (`10.232.0.0/24`); readLabRecord fills in 10.231.0.0/24 for files without one. */
  subnet: string;
  /** The host's address on the lab bridge, inside `subnet` (its .1 unless `labUp` was given `hostIp`). */
  hostIp: string;
  bmcBasePort: number;
  /** Absent in labs made before Redfish; labUp fills it in. */
  redfishBasePort?: number;
  annealUrl: string | null;
  pxeHook: string | null;
  createdAt: string;
  updatedAt: string;
  nodes: NodeRecord[];
}

/** secrets.json (mode 0600). */
export interface LabSecrets {
  bmcPasswords: Record<string, string>;
}

/** Writes `data` to `file` atomically with `mode`. */
export function writeFileAtomic(file: string, data: string, mode = 0o644): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, file);
}

/** Writes `data` to `file` (atomically, with `mode`) unless it already has exactly that content. Returns whether it wrote. */
export function writeIfChanged(file: string, data: string, mode = 0o644): boolean {
  try {
    if (readFileSync(file, 'utf8') === data) return false;
  } catch {
    /* missing: write it */
  }
  writeFileAtomic(file, data, mode);
  return true;
}

/** lab.json of the lab at `paths`, or null when there is none. A file without a subnet means 10.231.0.0/24. */
export function readLabRecord(paths: Pick<LabPaths, 'stateFile'>): LabRecord | null {
  try {
    const rec = JSON.parse(readFileSync(paths.stateFile, 'utf8')) as LabRecord;
    rec.subnet ??= LAB_SUBNET;
    rec.hostIp ??= subnetHostIp(rec.subnet);
    return rec;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AppError('ERR_LAB_COMMAND_FAILED', `cannot read ${paths.stateFile}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

export function writeLabRecord(paths: LabPaths, rec: LabRecord): void {
  rec.updatedAt = new Date().toISOString();
  rec.nodes.sort((a, b) => a.index - b.index);
  writeFileAtomic(paths.stateFile, `${JSON.stringify(rec, null, 2)}\n`, 0o644);
}

export function readSecrets(paths: LabPaths): LabSecrets {
  try {
    return JSON.parse(readFileSync(paths.secretsFile, 'utf8')) as LabSecrets;
  } catch {
    return { bmcPasswords: {} };
  }
}

export function writeSecrets(paths: LabPaths, secrets: LabSecrets): void {
  writeFileAtomic(paths.secretsFile, `${JSON.stringify(secrets, null, 2)}\n`, 0o600);
}

/** A random password IPMI accepts everywhere (16 letters and digits; IPMI 1.5 allows at most 16). */
export function newBmcPassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  return [...randomBytes(16)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Reads a small runtime file (trimmed), or null. */
export function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

export function readFaults(np: NodePaths): LabFault[] {
  try {
    return readdirSync(np.faults)
      .filter((f): f is LabFault => (LAB_FAULTS as readonly string[]).includes(f))
      .sort();
  } catch {
    return [];
  }
}

export function setFault(np: NodePaths, fault: LabFault, on: boolean): void {
  const file = path.join(np.faults, fault);
  if (on) {
    mkdirSync(np.faults, { recursive: true });
    writeFileSync(file, `${new Date().toISOString()}\n`);
  } else {
    rmSync(file, { force: true });
  }
}

/** Single-quotes a value for a shell `KEY='value'` line. */
export function shellQuote(v: string): string {
  return `'${v.replaceAll("'", `'\\''`)}'`;
}

/**
 * Creates the lock file `file` holding our pid; a lock whose holder is gone is taken over. Returns false
 * when another live process holds it; throws what the file system throws otherwise.
 */
function takePidLock(file: string): boolean {
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(readText(file));
      if ((Number.isInteger(holder) && holder > 0 && alive(holder)) || attempt > 0) return false;
      rmSync(file, { force: true });
    }
  }
}

/**
 * Runs `fn` holding the lab's lock file (<stateDir>/.<lab>.lock with the holder's pid). A lock whose
 * holder is gone is taken over. Throws ERR_LAB_LOCKED when another live process holds it.
 */
export async function withLabLock<T>(paths: LabPaths, fn: () => Promise<T>): Promise<T> {
  mkdirSync(paths.stateDir, { recursive: true, mode: 0o755 });
  let taken: boolean;
  try {
    taken = takePidLock(paths.lockFile);
  } catch (e) {
    throw lockError(paths.lockFile, 'on this lab', e);
  }
  if (!taken) throw lockError(paths.lockFile, 'on this lab');
  try {
    return await fn();
  } finally {
    rmSync(paths.lockFile, { force: true });
  }
}

/**
 * Runs `fn` holding the lock file `file` (its directory made when missing), waiting up to `waitMs`
 * for another holder to let go. Throws ERR_LAB_LOCKED when it does not.
 */
export async function withWaitingLock<T>(file: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  const deadline = Date.now() + waitMs;
  for (;;) {
    let taken: boolean;
    try {
      taken = takePidLock(file);
    } catch (e) {
      throw lockError(file, 'on this host', e);
    }
    if (taken) break;
    if (Date.now() > deadline) throw lockError(file, 'on this host');
    await sleep(25);
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

function lockError(lockFile: string, where: string, cause?: unknown): AppError {
  const holder = readText(lockFile);
  return new AppError(
    'ERR_LAB_LOCKED',
    `another lab command is running ${where} (lock ${lockFile}${holder ? `, pid ${holder}` : ''})`,
    { details: { lockFile, pid: holder ? Number(holder) : null }, cause },
  );
}
