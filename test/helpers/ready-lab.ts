/**
 * A lab and an in-process anneal for the ready-state barclamps' e2e tests (test/e2e/lab/{ntp,dns,proxy}):
 * lab nodes in one deployment whose `anneal/admin-address` is the lab's host address, the given roles
 * bound on every node (their service roles follow onto the service node), helpers to converge, bump,
 * read runs, talk to nodes over ssh, run any node-role's `remove` action where its jig runs (the context
 * built as the annealer builds it), and stop the service daemons.
 *
 * The data dir lies in a fresh 0700 directory (as a clone under /root would): the service daemons must
 * not need to reach it (their files live under /run/anneal). Teardown stops every service daemon and
 * waits until it is gone (core/services/service-daemons.ts) before it removes any directory.
 *
 * Prerequisites: the lab's (root, iproute2, sshd, ipmi_sim…) and the programs the barclamps run; with
 * CI=true a missing one fails the test, otherwise the suite is skipped with the reason.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createJigs } from '../../core/annealer/jigs';
import { adminUnavailable, roleContext } from '../../core/annealer/role-context';
import { nodeView } from '../../core/annealer/node-view';
import { boot, type Anneal } from '../../core/boot';
import { loadConfig } from '../../core/config';
import type { NodeRoleRecord, RunRecord } from '../../core/domain/records';
import { createLocalExecutor } from '../../core/exec/local';
import { createMemoryHostKeyStore, createSshPool } from '../../core/exec/ssh';
import { labDown, labNodeCredentials, labUp, type LabStatus } from '../../core/lab';
import { silentLogger } from '../../core/log';
import { roleTemplateData } from '../../core/plugins/registry';
import { stopServiceDaemons } from '../../core/services/service-daemons';
import { freshDatabase, type TestDatabase } from './engines';
import { requireLab, ssh, sshArgs, type SshResult } from './lab-e2e';

export const DEPLOYMENT = 'lab';

export interface ReadyLab {
  name: string;
  lab: LabStatus;
  key: string;
  anneal: Anneal;
  db: TestDatabase;
  /** ANNEAL_DATA_DIR; service daemons keep their files under `<dataDir>/services`. */
  dataDir: string;
  serviceDir: string;
  deploymentId: number;
  ssh(ip: string, command: string): SshResult;
  /** ssh that must exit 0; returns stdout. */
  sh(ip: string, command: string): string;
  /** `sh` without blocking the event loop: for commands that talk to a server in this process. */
  shAsync(ip: string, command: string): Promise<string>;
  /** Runs the annealer until nothing is left to do; throws naming every node-role that is not active. */
  converge(timeoutMs?: number): Promise<number>;
  nodeRoles(): Promise<NodeRoleRecord[]>;
  runs(nodeRoleId: number): Promise<RunRecord[]>;
  /** Bumps node-roles (they run again), then converges. Returns the converge time in ms. */
  rerun(ids: number[]): Promise<number>;
  /** Runs the role's `remove` action on the admin host, as the local jig would; returns its stdout. */
  remove(role: string): Promise<string>;
  /**
   * Runs the `remove` action of a role on a node (by name) where its jig runs, with the context the
   * annealer builds (core/annealer/role-context.ts; attribs: the deployment's, else the defaults);
   * returns its stdout. Until the annealer runs removals itself, this is how tests run them.
   */
  removeOn(role: string, nodeName: string): Promise<string>;
  close(): Promise<void>;
}

const execFileAsync = promisify(execFile);

/** Skips (or, with CI=true, fails) the suite when the lab or one of `programs` is missing. */
export const requireReadyLab = requireLab;

export async function readyLab(opts: {
  prefix: string;
  nodes: number;
  /** Deployment attribs besides anneal/admin-address. */
  attribs: Record<string, unknown>;
  /** Roles bound on every node. */
  bind: string[];
  /** Extra roles bound on the first node only (e.g. a fixture role as a bystander). */
  bindFirst?: string[];
  fixtures?: string[];
}): Promise<ReadyLab> {
  const name = `${opts.prefix}${randomBytes(2).toString('hex')}`;
  // A lab up that fails half-way leaves its parts behind for a retry: remove them, or every later lab
  // test on this host fails on the taken subnet.
  const lab = await labUp({ name, nodes: opts.nodes, annealUrl: null, log: silentLogger }).catch(async (err) => {
    await labDown({ name }).catch(() => undefined);
    throw err;
  });
  // 0700 (mkdtemp): the daemons' users (_chrony, dnsmasq, tinyproxy) cannot traverse it, as under /root.
  const home = mkdtempSync(path.join(tmpdir(), `anneal-${name}-`));
  const dataDir = path.join(home, 'data');
  mkdirSync(dataDir);
  const serviceDir = path.join(dataDir, 'services');
  /** Stops every service daemon of this instance and waits until it is gone, then removes the files. */
  const teardown = async () => {
    await stopServiceDaemons(serviceDir, silentLogger, { purge: true });
    rmSync(home, { recursive: true, force: true });
  };
  let anneal: Anneal | undefined;
  let db: TestDatabase | undefined;
  try {
    const key = (await labNodeCredentials({ name, node: 1 })).ssh.privateKeyPath;
    db = await freshDatabase('sqlite');
    anneal = await boot(
      {
        ...loadConfig({ ANNEAL_DATA_DIR: dataDir }),
        database: db.target,
        fixtures: opts.fixtures ?? [],
        ssh: { keyFile: key, user: 'root' },
      },
      { log: silentLogger },
    );
    const { services, store, annealer, registry } = anneal;
    const d = await services.inventory.createDeployment({ name: DEPLOYMENT }, 'test');
    const deploymentAttribs = { 'anneal/admin-address': lab.hostIp, ...opts.attribs };
    for (const [k, v] of Object.entries(deploymentAttribs))
      await services.changes.setAttrib('deployment', d.id, k, v, 'test');
    for (const [i, n] of lab.nodes.entries()) {
      const node = await services.inventory.createNode(
        { name: n.name, address: n.ip, macs: n.macs, alive: true, deployment: DEPLOYMENT },
        'test',
      );
      for (const role of [...opts.bind, ...(i === 0 ? (opts.bindFirst ?? []) : [])]) {
        await services.binding.bind(d.id, role, node.id);
      }
    }
    await services.changes.commitDeployment(DEPLOYMENT, 'test');
    let started = false;
    const pool = createSshPool({
      username: 'root',
      privateKey: readFileSync(key, 'utf8'),
      hostKeys: createMemoryHostKeyStore(),
    });
    const jigs = createJigs({ localEnv: { ...process.env, ANNEAL_SERVICE_DIR: serviceDir }, ssh: pool });
    const self: ReadyLab = {
      name,
      lab,
      key,
      anneal,
      db,
      dataDir,
      serviceDir,
      deploymentId: d.id,
      ssh: (ip, command) => ssh(key, ip, command),
      sh(ip, command) {
        const r = ssh(key, ip, command);
        if (r.status !== 0) throw new Error(`ssh ${ip} ${command}: exit ${r.status}: ${r.stderr}`);
        return r.stdout;
      },
      async shAsync(ip, command) {
        const { stdout } = await execFileAsync('ssh', sshArgs(key, ip, command), { encoding: 'utf8', timeout: 60_000 });
        return stdout;
      },
      nodeRoles: () => store.nodeRoles.list({ deploymentId: d.id }),
      runs: (id) => store.runs.list({ nodeRoleId: id }),
      async converge(timeoutMs = 180_000) {
        const t0 = Date.now();
        if (started) annealer.wake();
        else annealer.start();
        started = true;
        await annealer.settle({ timeoutMs });
        const ms = Date.now() - t0;
        const bad = (await self.nodeRoles()).filter((nr) => nr.state !== 'active');
        if (bad.length) {
          const why = await Promise.all(
            bad.map(async (nr) => {
              const last = (await self.runs(nr.id)).at(-1);
              return `${nr.role} on ${nr.node} is ${nr.state}: ${JSON.stringify(last?.error ?? null)} ${last?.stderrTail ?? ''}`;
            }),
          );
          throw new Error(`not converged:\n${why.join('\n')}`);
        }
        return ms;
      },
      async rerun(ids) {
        await store.nodeRoles.bump(ids, Date.now());
        return self.converge();
      },
      async remove(role) {
        const svc = await store.nodes.serviceNode(d.id);
        if (!svc) throw new Error('no service node');
        const node = nodeView(svc);
        const remove = registry.role(role).spec.actions?.remove;
        if (!remove) throw new Error(`role ${role} has no remove action`);
        const result = await remove({
          node,
          role,
          deployment: DEPLOYMENT,
          generation: 0,
          wall: {},
          attribs: {},
          exec: createLocalExecutor({ ...process.env, ANNEAL_SERVICE_DIR: serviceDir }),
          render: (t, data) =>
            registry.renderer.renderFile(
              registry.templatePath(role, t),
              data ?? roleTemplateData({ node, role, deployment: DEPLOYMENT, attribs: {} }),
            ),
          log: { info: () => undefined, warn: () => undefined },
          signal: new AbortController().signal,
          now: Date.now,
          admin: adminUnavailable(),
        });
        if (!result.done) throw new Error(`remove of ${role} answered not yet: ${result.reason}`);
        return result.output?.stdout ?? '';
      },
      async removeOn(role, nodeName) {
        const loaded = registry.role(role);
        const remove = loaded.spec.actions?.remove;
        if (!remove) throw new Error(`role ${role} has no remove action`);
        const n = (await store.nodes.list({})).find((x) => x.name === nodeName);
        if (!n) throw new Error(`no node ${nodeName}`);
        const node = nodeView(n);
        const attribs: Record<string, unknown> = {};
        for (const w of loaded.wants) attribs[w] = registry.attrib(w).default;
        Object.assign(attribs, Object.fromEntries(Object.entries(deploymentAttribs).filter(([k]) => k in attribs)));
        const input = { role: loaded, node, deployment: DEPLOYMENT, attribs, generation: 0, wall: {} };
        const env = { registry, jigs, now: Date.now, log: silentLogger, admin: adminUnavailable };
        const result = await remove(roleContext(input, env, AbortSignal.timeout(loaded.timeoutMs)));
        if (!result.done) throw new Error(`remove of ${role} on ${nodeName} answered not yet: ${result.reason}`);
        return result.output?.stdout ?? '';
      },
      async close() {
        await anneal?.close();
        await pool.dispose();
        await db?.drop();
        await labDown({ name });
        await teardown();
      },
    };
    return self;
  } catch (err) {
    await anneal?.close().catch(() => undefined);
    await db?.drop().catch(() => undefined);
    await labDown({ name }).catch(() => undefined);
    await teardown().catch(() => undefined);
    throw err;
  }
}

/** The pid in a pid file on the admin host if that process is alive, else null. */
export function livePid(pidFile: string): number | null {
  const r = spawnSync('sh', ['-c', 'p=$(cat "$1" 2>/dev/null) && [ -d "/proc/$p" ] && echo "$p"', 'sh', pidFile], {
    encoding: 'utf8',
  });
  const pid = Number(r.stdout.trim());
  return r.status === 0 && pid > 0 ? pid : null;
}

/** Local addresses (addr:port) a process listens on (TCP) or is bound to (UDP), from `ss`. */
export function listeningOn(pid: number): string[] {
  const out = spawnSync('ss', ['-Hlntup'], { encoding: 'utf8' }).stdout;
  return [
    ...new Set(
      out
        .split('\n')
        .filter((l) => l.includes(`pid=${pid},`))
        .map((l) => l.trim().split(/\s+/)[4]!),
    ),
  ].sort();
}
