/**
 * The lab: virtual nodes on this host that are real enough to run anneal against without hardware
 * (DESIGN §5, docs/lab.md). Node i of lab L is a network namespace `anl-L-i` with the address
 * <subnet>+(10+i) (10.231.0.(10+i) in the default subnet) on the lab bridge, its own hostname `n<i>.L.lab`,
 * its own /etc /var /root /home /opt /srv /usr (overlayfs), its own sshd and host keys, two sparse virtual
 * disks, and an ipmi_sim BMC on 127.0.0.1:(bmcBasePort+i) whose power control really starts and stops the
 * node's processes. One Redfish BMC emulator per lab serves node i on 127.0.0.1:(redfishBasePort+i)/tcp and
 * drives the same chassis (core/lab/redfish.ts). Labs with other names, subnets and ports run side by side
 * (core/lab/claims.ts).
 *
 * Every function needs root. Mutating commands hold the lab's lock (ERR_LAB_LOCKED when another holds it).
 * Secrets (BMC passwords, the SSH private key) live only in 0600 files under the state directory and are
 * never logged; `labNodeCredentials` hands them out.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { AppError, inputError } from '../errors';
import { silentLogger, type Logger } from '../log';
import { startBmc, stopBmc } from './bmc';
import { checkName, checkSubnet, claimPorts, neighbours, registerLab, unregisterLab, withHostLock } from './claims';
import {
  BMC_HOST, BMC_USERNAME, bridgeName, checkLabName, DEFAULT_LAB_NAME, DEFAULT_REDFISH_BASE_PORT, DEFAULT_STATE_DIR,
  hostVethName, LAB_SUBNET, labPaths, labShort, MAX_NODES, netnsName, nodeIp, nodeMacs, nodeName, nodePaths,
  parseLabSubnet, SSH_USER, subnetHostIp, validHostIp, type LabPaths,
} from './layout'; // prettier-ignore
import { ensureBridge, setLinkUp, setSlowLink } from './net';
import { ensureNode, nodeStatus, type EnsureOutcome, type LabContext } from './node';
import { pool, run } from './proc';
import { ensureRedfish, installRedfishEmulator, redfishPortOf, redfishRunning } from './redfish';
import {
  newBmcPassword, readFaults, readLabRecord, readSecrets, setFault, withLabLock, writeIfChanged,
  writeLabRecord, writeSecrets, type LabRecord, type NodeRecord,
} from './state'; // prettier-ignore
import { labLinks, labNetnsList, teardown } from './teardown';
import {
  LAB_FAULTS, type LabDownResult, type LabFault, type LabNodeCredentials, type LabNodeRef, type LabNodeStatus,
  type LabRef, type LabStatus, type LabUpOptions,
} from './types'; // prettier-ignore

export * from './types';
export {
  LAB_HOST_IP, LAB_SUBNET, DEFAULT_LAB_NAME, DEFAULT_STATE_DIR, DEFAULT_BMC_BASE_PORT, DEFAULT_REDFISH_BASE_PORT,
  PORT_BLOCK_SIZE, labSubnetProblem, nodeIp, portBlock, subnetHostIp,
} from './layout'; // prettier-ignore

/** Programs the lab runs (Debian: iproute2, util-linux, openssh-server, openipmi, ipmitool, curl). */
const REQUIRED_PROGRAMS = [
  'ip',
  'tc',
  'unshare',
  'nsenter',
  'flock',
  'find',
  'bash',
  'sshd',
  'ssh-keygen',
  'ipmi_sim',
  'ipmitool',
  'curl',
  'umount',
  'setpriv',
];
const SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** What the lab needs and what is missing on this host (no side effects; tests use it to decide to skip). */
export function labPrerequisites(): { ok: boolean; root: boolean; missing: string[] } {
  const root = process.getuid?.() === 0;
  const missing = REQUIRED_PROGRAMS.filter((p) => !SEARCH_PATH.some((d) => existsSync(path.join(d, p))));
  return { ok: root && missing.length === 0, root, missing };
}

function requirePrerequisites(): void {
  const { root, missing } = labPrerequisites();
  if (root && missing.length === 0) return;
  const parts = [
    ...(root ? [] : ['it must run as root (namespaces, bridges, mounts)']),
    ...(missing.length
      ? [`missing programs: ${missing.join(', ')} (apt-get install -y iproute2 openssh-server openipmi ipmitool curl)`]
      : []),
  ];
  throw new AppError('ERR_LAB_PREREQUISITE', `the lab cannot run here: ${parts.join('; ')}`, {
    details: { root, missing },
  });
}

function refOf(ref: LabRef): { name: string; paths: LabPaths } {
  const name = ref.name ?? DEFAULT_LAB_NAME;
  checkLabName(name);
  return { name, paths: labPaths(ref.stateDir ?? DEFAULT_STATE_DIR, name) };
}

function loadRecord(name: string, paths: LabPaths): LabRecord {
  const rec = readLabRecord(paths);
  if (!rec) {
    throw new AppError('ERR_LAB_NOT_FOUND', `no lab ${JSON.stringify(name)} in ${paths.stateDir}`, {
      details: { name, stateDir: paths.stateDir },
    });
  }
  return rec;
}

function findNode(rec: LabRecord, ref: LabNodeRef): NodeRecord {
  const s = String(ref);
  const m = /^n?(\d+)(?:\.(.+))?$/.exec(s);
  const node =
    m && (m[2] === undefined || m[2] === `${rec.name}.lab`)
      ? rec.nodes.find((n) => n.index === Number(m[1]))
      : undefined;
  if (!node) {
    throw new AppError('ERR_LAB_NODE_NOT_FOUND', `lab ${rec.name} has no node ${JSON.stringify(ref)}`, {
      details: { ref, nodes: rec.nodes.map((n) => n.name) },
    });
  }
  return node;
}

function validateUrl(url: string, hostIp: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw inputError([{ field: 'annealUrl', message: `expected a URL like http://${hostIp}:3000` }]);
  }
  if (
    u.protocol !== 'http:' ||
    u.hostname !== hostIp ||
    u.username ||
    u.password ||
    (u.pathname !== '/' && u.pathname !== '')
  ) {
    throw inputError([
      {
        field: 'annealUrl',
        message: `expected http://${hostIp}:<port> (lab nodes only ever talk to the host's lab bridge address)`,
      },
    ]);
  }
  return `http://${hostIp}${u.port ? `:${u.port}` : ''}`;
}

function statusOf(paths: LabPaths, rec: LabRecord): LabStatus {
  const redfish = redfishRunning(paths, rec);
  return {
    name: rec.name,
    stateDir: paths.stateDir,
    labDir: paths.labDir,
    bridge: rec.bridge,
    hostIp: rec.hostIp,
    subnet: rec.subnet,
    bmcBasePort: rec.bmcBasePort,
    redfishBasePort: rec.redfishBasePort ?? DEFAULT_REDFISH_BASE_PORT,
    annealUrl: rec.annealUrl,
    pxeHook: rec.pxeHook,
    createdAt: rec.createdAt,
    nodes: rec.nodes.map((n) => withRedfish(rec, nodeStatus(rec, paths, n), redfish)),
  };
}

/** Adds the node's Redfish service to its status (a stopped emulator makes the node unhealthy). */
function withRedfish(rec: LabRecord, s: LabNodeStatus, running: (n: NodeRecord) => boolean): LabNodeStatus {
  const node = rec.nodes.find((n) => n.index === s.index) as NodeRecord;
  const up = running(node) && !s.faults.includes('bmc-down');
  return {
    ...s,
    redfish: { host: BMC_HOST, port: redfishPortOf(rec, node), username: BMC_USERNAME, running: up },
    healthy: s.healthy && (up || s.faults.includes('bmc-down')),
  };
}

function installScripts(paths: LabPaths): void {
  mkdirSync(paths.binDir, { recursive: true, mode: 0o755 });
  // pxe-install.cjs: the built-in network boot (bmc-control.sh feeds it to node inside the node).
  for (const f of ['node-init.sh', 'bmc-control.sh', 'pxe-install.cjs']) {
    writeIfChanged(path.join(paths.binDir, f), readFileSync(path.join(__dirname, f), 'utf8'), 0o755);
  }
}

async function ensureSshKey(paths: LabPaths, name: string): Promise<string> {
  mkdirSync(paths.sshDir, { recursive: true, mode: 0o700 });
  if (!existsSync(paths.sshKey)) {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `anneal-lab-${name}`, '-f', paths.sshKey]);
  }
  chmodSync(paths.sshKey, 0o600);
  return readFileSync(`${paths.sshKey}.pub`, 'utf8');
}

function labContext(paths: LabPaths, rec: LabRecord, log: Logger, sshPublicKey: string): LabContext {
  const secrets = readSecrets(paths);
  return {
    paths,
    rec,
    log,
    sshPublicKey,
    bmcPassword: (i) => {
      const pw = secrets.bmcPasswords[String(i)];
      if (!pw) throw new AppError('ERR_LAB_COMMAND_FAILED', `no BMC password for node ${i} in ${paths.secretsFile}`);
      return pw;
    },
  };
}

/**
 * Creates lab `name` with nodes 1..`nodes`, or brings an existing one up to that: healthy nodes are kept
 * as they are (power state and injected faults included), missing or broken parts are created, nodes
 * beyond `nodes` are left alone. New or restarted nodes are powered on through their BMC; when it returns,
 * their sshd accepts connections. Running it twice changes nothing the second time.
 *
 * The lab's subnet (default 10.231.0.0/24), host address (the subnet's .1) and base ports are fixed when
 * it is created; without base ports it takes the first free port block (core/lab/claims.ts).
 *
 * Throws ERR_INPUT_INVALID (bad options), ERR_LAB_PREREQUISITE (not root, programs missing),
 * ERR_LAB_CONFLICT (the name, the subnet, a port or the MACs clash with another lab or a host interface, a
 * port is taken, an option that cannot change differs from the existing lab: a refused lab leaves nothing
 * behind), ERR_LAB_LOCKED, ERR_LAB_COMMAND_FAILED (a step failed; run it again, it resumes where it
 * stopped; `anneal lab down` removes everything).
 */
export async function labUp(opts: LabUpOptions): Promise<LabStatus> {
  const { name, paths } = refOf(opts);
  const log = opts.log;
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > MAX_NODES) {
    throw inputError([{ field: 'nodes', message: `expected a whole number from 1 to ${MAX_NODES}` }]);
  }
  const concurrency = opts.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw inputError([{ field: 'concurrency', message: 'expected a whole number from 1 to 64' }]);
  }
  if (opts.subnet !== undefined) parseLabSubnet(opts.subnet);
  requirePrerequisites();
  const hadStateDir = existsSync(paths.stateDir);
  return withLabLock(paths, async () => {
    const started = Date.now();
    const prev = readLabRecord(paths);
    for (const field of ['bmcBasePort', 'redfishBasePort'] as const) {
      const port = opts[field] ?? prev?.[field];
      if (port !== undefined && (!Number.isInteger(port) || port < 1024 || port + opts.nodes > 65535)) {
        throw inputError([{ field, message: `expected a port from 1024 to ${65535 - opts.nodes}` }]);
      }
    }
    for (const field of ['subnet', 'hostIp', 'bmcBasePort', 'redfishBasePort'] as const) {
      const was = prev?.[field];
      const now = opts[field];
      if (was === undefined || now === undefined || was === now) continue;
      throw new AppError(
        'ERR_LAB_CONFLICT',
        `lab ${name} exists with ${field} ${was}; it cannot change (remove the lab first: anneal lab down --name ${name})`,
        { details: { [field]: was } },
      );
    }
    const subnet = opts.subnet ?? prev?.subnet ?? LAB_SUBNET;
    const hostIp = opts.hostIp ?? prev?.hostIp ?? subnetHostIp(subnet);
    if (!validHostIp(subnet, hostIp)) {
      const [first, last] = [subnetHostIp(subnet), nodeIp(0, subnet)];
      throw inputError([{ field: 'hostIp', message: `expected an address of ${subnet} from ${first} to ${last}` }]);
    }
    const annealUrl =
      opts.annealUrl === undefined ? (prev?.annealUrl ?? null) : opts.annealUrl && validateUrl(opts.annealUrl, hostIp);
    const pxeHook = opts.pxeHook === undefined ? (prev?.pxeHook ?? null) : opts.pxeHook || null;
    const bridge = bridgeName(name);

    // What the lab holds on the host (name, subnet, ports, MACs) is checked and recorded under the host
    // lock, before anything of it is made: a refused lab leaves nothing behind (core/lab/claims.ts).
    const rec = await withHostLock(async () => {
      const around = neighbours(paths);
      checkName(name, around);
      await checkSubnet(subnet, bridge, around);
      if (!prev && ((await labNetnsList(name)).length > 0 || labLinks(name).length > 0)) {
        // The state is gone but parts of the lab are not (deleted state dir, crash): start from clean.
        log.warn({ lab: name }, 'lab: found parts of a lab without its state; removing them first');
        await teardown(name, paths, log);
      }
      const known = new Set(prev?.nodes.map((n) => n.index) ?? []);
      const adding = Array.from({ length: opts.nodes }, (_, i) => i + 1).filter((i) => !known.has(i));
      const ports = await claimPorts(
        name,
        {
          bmcBasePort: opts.bmcBasePort ?? prev?.bmcBasePort,
          redfishBasePort: opts.redfishBasePort ?? prev?.redfishBasePort,
        },
        adding,
        around,
      );
      const now = new Date().toISOString();
      // Labs made before Redfish get their Redfish ports here (the only change to an existing node record).
      const next: LabRecord = prev
        ? {
            ...prev,
            redfishBasePort: ports.redfishBasePort,
            annealUrl,
            pxeHook,
            nodes: prev.nodes.map((n) => ({ ...n, redfishPort: n.redfishPort ?? ports.redfishBasePort + n.index })),
          }
        : {
            version: 1,
            name,
            short: labShort(name),
            bridge,
            subnet,
            hostIp,
            ...ports,
            annealUrl,
            pxeHook,
            createdAt: now,
            updatedAt: now,
            nodes: [],
          };
      for (const i of adding) {
        next.nodes.push({
          index: i,
          name: nodeName(name, i),
          ip: nodeIp(i, subnet),
          netns: netnsName(name, i),
          hostVeth: hostVethName(name, i),
          macs: nodeMacs(name, i),
          bmcPort: next.bmcBasePort + i,
          redfishPort: ports.redfishBasePort + i,
        });
      }
      mkdirSync(paths.labDir, { recursive: true, mode: 0o700 });
      // Recorded before any node exists, so an interrupted run leaves enough behind for `labDown`.
      if (!prev || JSON.stringify({ ...prev, updatedAt: '' }) !== JSON.stringify({ ...next, updatedAt: '' }))
        writeLabRecord(paths, next);
      registerLab(name, paths.labDir);
      return next;
    });

    mkdirSync(paths.nodesDir, { recursive: true, mode: 0o700 });
    installScripts(paths);
    const redfishChanged = installRedfishEmulator(paths);
    const sshPublicKey = await ensureSshKey(paths, name);

    const secrets = readSecrets(paths);
    let secretsChanged = false;
    for (let i = 1; i <= opts.nodes; i++) {
      if (!secrets.bmcPasswords[String(i)]) {
        secrets.bmcPasswords[String(i)] = newBmcPassword();
        secretsChanged = true;
      }
    }
    if (secretsChanged || !existsSync(paths.secretsFile)) writeSecrets(paths, secrets);

    // Started before the nodes and waited for after them: its start overlaps theirs.
    const redfish = await ensureRedfish(paths, rec, redfishChanged);
    await ensureBridge(rec);
    const ctx = labContext(paths, rec, log, sshPublicKey);
    const wanted = rec.nodes.filter((n) => n.index <= opts.nodes);
    const outcomes = await pool(wanted, concurrency, (n) => ensureNode(ctx, n));
    await redfish.ready();
    const count = (o: EnsureOutcome) => outcomes.filter((x) => x === o).length;
    log.info(
      {
        lab: name,
        nodes: opts.nodes,
        created: count('created'),
        repaired: count('repaired'),
        kept: count('kept'),
        redfish: redfish.outcome,
        ms: Date.now() - started,
      },
      'lab: up',
    );
    return statusOf(paths, rec);
  }).catch((e: unknown) => {
    if (!hadStateDir) removeIfEmpty(paths.stateDir); // a refused lab leaves not even its state directory
    throw e;
  });
}

/** The lab as it is now (live checks of every node; changes nothing). Throws ERR_LAB_NOT_FOUND. */
export async function labStatus(ref: LabRef = {}): Promise<LabStatus> {
  const { name, paths } = refOf(ref);
  return statusOf(paths, loadRecord(name, paths));
}

/**
 * Removes everything the lab made: processes (inits, sshds and whatever runs on the nodes, BMCs),
 * namespaces, links, the forwarding guard, mounts and the lab's state directory (and the state directory
 * itself when nothing else is left in it). Works from the state files and by sweeping the host for the
 * lab's names, so it is safe after a crash and safe to run twice. Throws ERR_LAB_LOCKED, ERR_LAB_PREREQUISITE.
 */
export async function labDown(ref: LabRef & { log?: Logger } = {}): Promise<LabDownResult> {
  const { name, paths } = refOf(ref);
  requirePrerequisites();
  const result = await withLabLock(paths, () => teardown(name, paths, ref.log ?? silentLogger));
  unregisterLab(name, paths.labDir);
  removeIfEmpty(paths.stateDir);
  return result;
}

function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir); // only when empty
  } catch {
    /* other labs or files: keep it */
  }
}

/**
 * Injects a fault into one node; it stays until `labHeal` (labUp leaves it alone, power cycles keep it):
 * `sshd-down` kills the node's sshd (power stays on; sshd does not start again), `link-down` sets the host
 * side of its veth down, `bmc-down` stops its ipmi_sim, `slow-link` adds 200 ms netem delay on the host
 * side of its veth. Throws ERR_LAB_NOT_FOUND, ERR_LAB_NODE_NOT_FOUND, ERR_INPUT_INVALID (unknown fault).
 */
export async function labFault(
  ref: LabRef & { node: LabNodeRef; fault: LabFault; log?: Logger },
): Promise<LabNodeStatus> {
  const { name, paths } = refOf(ref);
  if (!(LAB_FAULTS as readonly string[]).includes(ref.fault)) {
    throw inputError([{ field: 'fault', message: `expected one of: ${LAB_FAULTS.join(', ')}` }]);
  }
  requirePrerequisites();
  return withLabLock(paths, async () => {
    const rec = loadRecord(name, paths);
    const node = findNode(rec, ref.node);
    const np = nodePaths(paths, node.index);
    const log = ref.log ?? silentLogger;
    // Marked first: power-on and labUp consult the marker, so nothing undoes the fault meanwhile.
    setFault(np, ref.fault, true);
    try {
      switch (ref.fault) {
        case 'sshd-down':
          await run(path.join(paths.binDir, 'bmc-control.sh'), [np.dir, 'sshd-stop']);
          break;
        case 'link-down':
          await setLinkUp(node.hostVeth, false);
          break;
        case 'bmc-down':
          await stopBmc(np);
          break;
        case 'slow-link':
          if ((await setSlowLink(node.hostVeth, true)) === 'tbf') {
            log.warn(
              { node: node.name },
              'lab: this kernel has no netem; slow-link is a 512 kbit/s limit instead of a 200 ms delay',
            );
          }
          break;
      }
    } catch (e) {
      setFault(np, ref.fault, false);
      throw e;
    }
    log.info({ lab: name, node: node.name, fault: ref.fault }, 'lab: fault injected');
    return withRedfish(rec, nodeStatus(rec, paths, node), redfishRunning(paths, rec));
  });
}

/** Undoes every injected fault of one node, or of all nodes when `node` is omitted. Throws like labFault. */
export async function labHeal(ref: LabRef & { node?: LabNodeRef; log?: Logger }): Promise<LabStatus> {
  const { name, paths } = refOf(ref);
  requirePrerequisites();
  return withLabLock(paths, async () => {
    const rec = loadRecord(name, paths);
    const nodes = ref.node === undefined ? rec.nodes : [findNode(rec, ref.node)];
    for (const node of nodes) {
      const np = nodePaths(paths, node.index);
      for (const fault of readFaults(np)) {
        setFault(np, fault, false);
        switch (fault) {
          case 'sshd-down':
            await run(path.join(paths.binDir, 'bmc-control.sh'), [np.dir, 'sshd-start']);
            break;
          case 'link-down':
            await setLinkUp(node.hostVeth, true);
            break;
          case 'bmc-down':
            await startBmc(np, node);
            break;
          case 'slow-link':
            await setSlowLink(node.hostVeth, false);
            break;
        }
        (ref.log ?? silentLogger).info({ lab: name, node: node.name, fault }, 'lab: fault healed');
      }
    }
    return statusOf(paths, rec);
  });
}

/**
 * The secrets anneal needs to manage one lab node: its BMC password and the path of the lab's SSH private
 * key (root login). Do not log the result. Throws ERR_LAB_NOT_FOUND, ERR_LAB_NODE_NOT_FOUND.
 */
export async function labNodeCredentials(ref: LabRef & { node: LabNodeRef }): Promise<LabNodeCredentials> {
  const { name, paths } = refOf(ref);
  const rec = loadRecord(name, paths);
  const node = findNode(rec, ref.node);
  const password = readSecrets(paths).bmcPasswords[String(node.index)];
  if (!password)
    throw new AppError('ERR_LAB_NOT_FOUND', `lab ${name} has no BMC password for ${node.name}; run \`anneal lab up\``);
  return {
    node: node.name,
    ssh: { host: node.ip, port: 22, username: SSH_USER, privateKeyPath: paths.sshKey },
    bmc: { host: BMC_HOST, port: node.bmcPort, username: BMC_USERNAME, password },
    redfish: { host: BMC_HOST, port: redfishPortOf(rec, node), username: BMC_USERNAME, password },
  };
}
