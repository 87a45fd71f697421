/**
 * What `anneal demo` needs from this host: root and the programs of the lab and of the ready-state
 * service roles (prerequisites, with the Debian packages that provide what is missing), a port for the
 * server, and stopping the service daemons (chronyd, dnsmasq, tinyproxy) the demo's server started under
 * its data directory.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { labPrerequisites } from '../lab';
import { allPids, cmdline, stopPids } from '../lab/proc';
import { CliError } from './client';

/** Programs the ready-state roles run on this host (their service daemons) or on the nodes (which share /usr). */
const SERVICE_PROGRAMS = ['chronyd', 'chronyc', 'dnsmasq', 'tinyproxy'];

/** The Debian package of each program the demo needs (lab programs and service programs). */
const PACKAGE_OF: Record<string, string> = {
  ip: 'iproute2',
  tc: 'iproute2',
  unshare: 'util-linux',
  nsenter: 'util-linux',
  flock: 'util-linux',
  umount: 'mount',
  setpriv: 'util-linux',
  find: 'findutils',
  bash: 'bash',
  sshd: 'openssh-server',
  'ssh-keygen': 'openssh-client',
  ipmi_sim: 'openipmi',
  ipmitool: 'ipmitool',
  curl: 'curl',
  chronyd: 'chrony',
  chronyc: 'chrony',
  dnsmasq: 'dnsmasq',
  tinyproxy: 'tinyproxy',
};

const SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Root, and what is missing: programs and the Debian packages that provide them. No side effects. */
export function demoPrerequisites(): { root: boolean; missing: string[]; packages: string[] } {
  const lab = labPrerequisites();
  const services = SERVICE_PROGRAMS.filter((p) => !SEARCH_PATH.some((d) => existsSync(path.join(d, p))));
  const missing = [...lab.missing, ...services];
  const packages = [...new Set(missing.map((p) => PACKAGE_OF[p] ?? p))];
  return { root: lab.root, missing, packages };
}

/** Throws one CliError (ERR_LAB_PREREQUISITE) naming what is missing and the command that fixes it. */
export function requireDemoHost(): void {
  const { root, missing, packages } = demoPrerequisites();
  if (!root) {
    throw new CliError(
      'the demo must run as root (its lab makes network namespaces, a bridge and mounts): sudo npx anneal demo',
      'ERR_LAB_PREREQUISITE',
    );
  }
  if (missing.length) {
    throw new CliError(
      `the demo cannot run here: missing ${missing.join(', ')}; install with: apt-get install -y ${packages.join(' ')}`,
      'ERR_LAB_PREREQUISITE',
    );
  }
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/**
 * `preferred` when it is free on 127.0.0.1, otherwise a free port the kernel picks (`fallback` true). The
 * port is only probed: another program may still take it before the server binds it (the server then
 * exits saying so).
 */
export async function pickPort(preferred: number): Promise<{ port: number; fallback: boolean }> {
  if (await canListen(preferred, '127.0.0.1')) return { port: preferred, fallback: false };
  const port = await new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port: p } = srv.address() as { port: number };
      srv.close(() => resolve(p));
    });
  });
  return { port, fallback: true };
}

/**
 * Stops every process whose command line names a path under `dir` (SIGTERM, then SIGKILL after 5 s): the
 * service daemons the server's service roles started with their files under `<dataDir>/services`. `dir` is
 * the demo's own fresh directory, so nothing else matches. Returns how many processes were stopped.
 */
export async function stopProcessesUnder(dir: string): Promise<number> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const pids = allPids().filter((pid) => (cmdline(pid) ?? []).some((arg) => arg.includes(prefix)));
  return stopPids(pids, 5_000);
}
