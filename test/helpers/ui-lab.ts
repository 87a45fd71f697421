/**
 * A lab for the web UI's browser test (test/e2e/lab/web-ui.test.ts): lab nodes, the real server
 * (`core/main.ts`, spawnServer) listening on loopback and the lab bridge, the `system` deployment set up
 * as in the ready-state test, and the nodes registered through POST /nodes with what the lab's discovery
 * announces (MACs, address, BMC and its password) with the discovery roles bound but not yet committed,
 * so the test decides when the converge starts. Also: the Chromium gate and the page captures file that
 * the secrets sweep reads.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { boot } from '../../core/boot';
import { loadConfig } from '../../core/config';
import { labDown, labNodeCredentials, labUp, type LabStatus } from '../../core/lab';
import { silentLogger } from '../../core/log';
import { stopServiceDaemons } from '../../core/services/service-daemons';
import { freshDatabase, type TestDatabase } from './engines';
import { ssh } from './lab-e2e';
import { apiCaller, freePort, spawnServer, TEST_ADMIN_TOKEN, type ServerChild } from './server';

export const CHROMIUM = '/usr/bin/chromium';
/** Flags for a headless Chromium that never talks to anything but the page's server. */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
/** What the browser test received (responses and page HTML), for the secrets sweep. */
export const UI_CAPTURES = path.resolve(__dirname, '../../test-artifacts/ui-captures.json');

export interface UiCapture {
  kind: 'response' | 'html' | 'stream';
  url: string;
  status?: number;
  contentType?: string;
  /** Response headers, HTML or body text. */
  headers?: Record<string, string>;
  text: string;
}

/** The captures of the last browser test run (UI_CAPTURES); throws when it has not run. */
export function readUiCaptures(): UiCapture[] {
  return JSON.parse(readFileSync(UI_CAPTURES, 'utf8')) as UiCapture[];
}

/** Skips the suite without Debian's chromium (/usr/bin/chromium); with CI=true it fails instead. */
export function requireChromium(ctx: Mocha.Context): void {
  if (existsSync(CHROMIUM)) return;
  const why = `${CHROMIUM} is missing: apt-get install chromium`;
  if (process.env.CI === 'true') throw new Error(`the browser test is required (CI) but ${why}`);
  console.warn(`    skipping: ${why}`);
  ctx.skip();
}

export interface UiLab {
  name: string;
  lab: LabStatus;
  /** The lab's ssh key (root on every node). */
  key: string;
  server: ServerChild;
  /** http://127.0.0.1:<port> */
  url: string;
  /** The BMC passwords the nodes reported (secrets the UI must never show). */
  bmcPasswords: string[];
  /** Runs a command as root on a lab node (ssh with the lab's key); throws unless it exits 0. */
  sh(ip: string, command: string): string;
  /** One API call with the test admin token; rejects on a non-2xx answer, naming it. */
  api<T = unknown>(method: string, route: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

/**
 * Brings up `nodes` lab nodes and the server (env: extra server environment), sets up `system` as the
 * ready-state test does (admin address, no clock setting, debian-12, the lab's inventory) and registers
 * every node in it with the discovery roles bound, proposed. Everything is removed again on a failure.
 */
export async function startUiLab(opts: {
  prefix: string;
  nodes: number;
  env?: Record<string, string>;
}): Promise<UiLab> {
  const name = `${opts.prefix}${randomBytes(2).toString('hex')}`;
  const port = await freePort();
  const bridgeUrl = `http://10.231.0.1:${port}`;
  const url = `http://127.0.0.1:${port}`;
  let db: TestDatabase | undefined;
  let server: ServerChild | undefined;
  const dataDir = mkdtempSync(path.join(tmpdir(), `anneal-${name}-`));
  // The service daemons drop privileges (_chrony, dnsmasq, tinyproxy): they must reach their directory.
  chmodSync(dataDir, 0o755);

  const call = apiCaller(url);
  const api = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const res = await call(method, route, body);
    if (res.status >= 400) {
      throw Object.assign(new Error(`${method} ${route}: ${res.status} ${res.text}`), { status: res.status });
    }
    return (res.body ?? null) as T;
  };
  const close = async () => {
    await server?.stop();
    // The service daemons (chronyd, dnsmasq, tinyproxy) run on this host: stop them and wait until they
    // are gone (nothing writes their files any more) before anything is removed.
    await stopServiceDaemons(path.join(dataDir, 'services'), silentLogger, { purge: true });
    await db?.drop();
    await labDown({ name }).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const lab = await labUp({ name, nodes: opts.nodes, annealUrl: bridgeUrl, log: silentLogger });
    const key = (await labNodeCredentials({ name, node: 1 })).ssh.privateKeyPath;
    db = await freshDatabase('sqlite');
    const prep = await boot(
      // The same admin token as the server: should boot create the first admin, it is this one.
      {
        ...loadConfig({ ANNEAL_DATA_DIR: dataDir, ANNEAL_ADMIN_TOKEN: TEST_ADMIN_TOKEN }),
        database: db.target,
        fixtures: [],
      },
      { log: silentLogger },
    );
    try {
      const system = await prep.store.deployments.get('system');
      const site: Record<string, unknown> = {
        'anneal/admin-address': lab.hostIp,
        'ntp/set-clock': false,
        'provisioner/os': 'debian-12',
        'inventory/expect': { minDisks: 2, minDiskGib: 8, minNics: 2 },
      };
      for (const [k, v] of Object.entries(site)) await prep.services.changes.setAttrib('deployment', system.id, k, v, 'test'); // prettier-ignore
      await prep.services.changes.commitDeployment('system', 'test');
    } finally {
      await prep.close();
    }
    server = await spawnServer(name, db.target, {
      PORT: String(port),
      HOST: '127.0.0.1,10.231.0.1',
      ANNEAL_DATA_DIR: dataDir,
      ANNEAL_SSH_KEY: key,
      ANNEAL_PROVISIONER_URL: bridgeUrl,
      ANNEAL_FIXTURES: '',
      // The power monitor brings `alive` back after os-install's power cycle; poll it often.
      ANNEAL_POWER_POLL_MS: '1000',
      ...opts.env,
    });
    await server.ready();

    // Register each node as discovery does (the lab's own announcement may win the race: 409 is fine).
    const bmcPasswords: string[] = [];
    for (const n of lab.nodes) {
      const { bmc } = await labNodeCredentials({ name, node: n.index });
      bmcPasswords.push(bmc.password);
      const node = {
        name: n.name,
        macs: n.macs,
        address: n.ip,
        bmcAddress: `${bmc.host}:${bmc.port}`,
        bmcUsername: bmc.username,
        bmcPassword: bmc.password,
      };
      await api('POST', '/nodes', { ...node, alive: true }).catch((err: { status?: number }) => {
        if (err.status !== 409) throw err;
      });
    }
    const roles = await api<{ items: { name: string; flags: string[] }[] }>('GET', '/roles?limit=1000');
    const discovery = roles.items.filter((r) => r.flags.includes('discovery')).map((r) => r.name);
    for (const n of lab.nodes) {
      for (const role of discovery) await api('POST', '/deployments/system/bind', { role, node: n.name });
    }
    const sh = (ip: string, command: string) => {
      const r = ssh(key, ip, command);
      if (r.status !== 0) throw new Error(`ssh ${ip} ${command}: exit ${r.status}: ${r.stderr}`);
      return r.stdout;
    };
    return { name, lab, key, server, url, bmcPasswords, sh, api, close };
  } catch (err) {
    await close();
    throw err;
  }
}
