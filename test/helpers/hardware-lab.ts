/**
 * A lab and an in-process anneal for the managed-node and hardware-configured e2e tests (inventory, bmc,
 * raid, bios): a 2-node lab in its own state directory with random BMC/Redfish ports, anneal booted on a
 * fresh SQLite database with the lab's SSH key and plain-http Redfish, one deployment `lab` holding the
 * lab's nodes. Lab tests run one at a time under /tmp/anneal-lab-tests.lock (see docs/lab.md).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { boot, type Anneal } from '../../core/boot';
import { loadConfig } from '../../core/config';
import type { NodeRecord, NodeRoleRecord } from '../../core/domain/records';
import { labDown, labNodeCredentials, labUp, type LabStatus } from '../../core/lab';
import { silentLogger } from '../../core/log';
import { freshDatabase, type TestDatabase } from './engines';

export interface HardwareLab {
  name: string;
  stateDir: string;
  lab: LabStatus;
  anneal: Anneal;
  key: string;
  nodes: NodeRecord[];
  ssh(index: number, command: string, input?: string): { status: number | null; stdout: string; stderr: string };
  /** Sets the node's BMC through the power service: `ipmi` (ipmi_sim) or `redfish` (the lab's emulator). */
  setBmc(index: number, driver: 'ipmi' | 'redfish', password?: string): Promise<void>;
  /** GET (or another method) on node `index`'s Redfish emulator, with its credentials. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests index into Redfish JSON freely
  redfish(index: number, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** The deployment's node-roles of `role`, in node order. */
  nodeRoles(role: string): Promise<NodeRoleRecord[]>;
  /** The committed node-scope attribs of a node, by name. */
  committedAttribs(nodeId: number): Promise<Record<string, unknown>>;
  /** Commits, starts the annealer if needed and waits until nothing is runnable. */
  converge(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export { requireLab } from './lab-e2e';

export async function hardwareLab(prefix: string, nodes = 2): Promise<HardwareLab> {
  const name = `${prefix}${randomBytes(2).toString('hex')}`;
  const stateDir = mkdtempSync('/tmp/anneal-hw-test-');
  const bmcBasePort = 20_000 + Math.floor(Math.random() * 20_000);
  const redfishBasePort = 41_000 + Math.floor(Math.random() * 8_000);
  let db: TestDatabase | undefined;
  let anneal: Anneal | undefined;
  const cleanup = async () => {
    await anneal?.close();
    await db?.drop();
    await labDown({ name, stateDir });
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const lab = await labUp({
      name,
      nodes,
      stateDir,
      bmcBasePort,
      redfishBasePort,
      annealUrl: null,
      log: silentLogger,
    });
    const key = (await labNodeCredentials({ name, stateDir, node: 1 })).ssh.privateKeyPath;
    db = await freshDatabase('sqlite');
    const config = loadConfig({});
    anneal = await boot(
      {
        ...config,
        database: db.target,
        ssh: { keyFile: key, user: 'root' },
        redfish: { protocol: 'http', acceptSelfSignedCertificates: false },
        bmcMinIntervalMs: 0,
        // Operational errors (an unreachable BMC) retry quickly here, so tests see the retry and the recovery.
        retry: { maxAttempts: 8, baseMs: 300, maxMs: 2000 },
      },
      { log: silentLogger },
    );
    const a = anneal;
    await a.services.inventory.createDeployment({ name: 'lab' }, 'test');
    const records: NodeRecord[] = [];
    for (const n of lab.nodes) {
      records.push(
        await a.services.inventory.createNode(
          { name: n.name, address: n.ip, macs: n.macs, alive: true, deployment: 'lab' },
          'test',
        ),
      );
    }
    const ssh = (index: number, command: string, input?: string) => {
      const ip = lab.nodes[index - 1]!.ip;
      const res = spawnSync(
        'ssh',
        [
          '-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=3',
          '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', `root@${ip}`, command,
        ], // prettier-ignore
        { encoding: 'utf8', timeout: 30_000, ...(input === undefined ? {} : { input }) },
      );
      return { status: res.status, stdout: res.stdout, stderr: res.stderr };
    };
    let started = false;
    return {
      name,
      stateDir,
      lab,
      anneal: a,
      key,
      nodes: records,
      ssh,
      async setBmc(index, driver, password) {
        const c = await labNodeCredentials({ name, stateDir, node: index });
        const port = driver === 'redfish' ? c.redfish.port : c.bmc.port;
        await a.services.power.configureBmc(
          lab.nodes[index - 1]!.name,
          { address: `127.0.0.1:${port}`, username: 'admin', password: password ?? c.bmc.password, driver },
          'test',
        );
      },
      async redfish(index, method, path, body) {
        const c = await labNodeCredentials({ name, stateDir, node: index });
        const res = await fetch(`http://127.0.0.1:${c.redfish.port}${path}`, {
          method,
          headers: {
            authorization: `Basic ${Buffer.from(`admin:${c.redfish.password}`).toString('base64')}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : undefined };
      },
      async nodeRoles(role) {
        const d = await a.store.deployments.get('lab');
        const all = await a.store.nodeRoles.list({ deploymentId: d.id });
        return all
          .filter((nr) => nr.role === role)
          .sort(
            (x, y) => lab.nodes.findIndex((n) => n.name === x.node) - lab.nodes.findIndex((n) => n.name === y.node),
          );
      },
      async committedAttribs(nodeId) {
        const values = await a.store.attribs.list('node', nodeId);
        return Object.fromEntries(values.filter((v) => v.hasCommitted).map((v) => [v.attrib, v.committed]));
      },
      async converge(timeoutMs = 120_000) {
        await a.services.changes.commitDeployment('lab', 'test');
        if (!started) a.annealer.start();
        started = true;
        a.annealer.wake();
        await a.annealer.settle({ timeoutMs });
      },
      close: cleanup,
    };
  } catch (e) {
    await cleanup().catch(() => undefined);
    throw e;
  }
}
