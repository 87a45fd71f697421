/**
 * The `ssh` power driver (reboot only) through anneal's API and power monitor, on a real 2-node lab: a
 * reset really reboots the node's OS (every process stops, sshd comes back with a new pid), off leaves it
 * off (the BMC agrees), on and next boot fail with ERR_POWER_FAILED, and the other node is untouched.
 * Also the lab side: the node's own reboot, poweroff, shutdown and systemctl are the lab's shims, and
 * `reboot -f` is refused.
 *
 * SAFETY: nothing here runs a power command on the host. Before anything asks a node to reboot, the
 * first test checks that the node's commands are the lab's shims and that its bounding set lacks
 * CAP_SYS_BOOT; every later test depends on it (mocha --bail is not needed: `shimsVerified` gates them).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { createApp } from '../../../core/api/app';
import { boot, type Anneal } from '../../../core/boot';
import { loadConfig } from '../../../core/config';
import type { NodeRecord } from '../../../core/domain/records';
import { tcpReachable } from '../../../core/exec/probe';
import { labDown, labNodeCredentials, labStatus, labUp, type LabNodeStatus, type LabStatus } from '../../../core/lab';
import { NODE_POWER_SHIMS } from '../../../core/lab/node';
import { silentLogger } from '../../../core/log';
import { freshDatabase, type TestDatabase } from '../../helpers/engines';
import { exec, requireLab } from '../../helpers/lab-e2e';
import { addTestAdminToken, testAuth } from '../../helpers/server';

const repoRoot = path.resolve(__dirname, '../../..');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Pids of host processes whose argv[0] is `name`. */
function pidsNamed(name: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0] === name;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('e2e: the ssh power driver (reboot) on a 2-node lab', function () {
  this.timeout(240_000);
  const name = `s${randomBytes(2).toString('hex')}`;
  const bmcBasePort = 20_000 + Math.floor(Math.random() * 20_000);
  const redfishBasePort = 41_000 + Math.floor(Math.random() * 8_000);
  let stateDir = '';
  let lab: LabStatus;
  let key = '';
  let db: TestDatabase | undefined;
  let anneal: Anneal | undefined;
  let server: Server | undefined;
  let base = '';
  let shimsVerified = false;
  /** n2's sshd pid and marker process at the start: both must survive everything done to n1. */
  let n2Before: { sshd: number; marker: number } | undefined;

  const n = (i: number): LabNodeStatus => lab.nodes[i - 1]!;
  const live = async (i: number) => (await labStatus({ name, stateDir })).nodes[i - 1]!;
  const sshdPid = async (i: number): Promise<number | null> => {
    const init = (await live(i)).initPid;
    try {
      const pid = Number(readFileSync(`/proc/${init}/root/run/sshd.pid`, 'utf8').trim());
      return pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('sshd') ? pid : null;
    } catch {
      return null;
    }
  };
  const ssh = (i: number, command: string) =>
    exec('ssh', [
      '-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
      '-o', 'ConnectTimeout=3', '-o', 'LogLevel=ERROR', `root@${n(i).ip}`, command,
    ]); // prettier-ignore
  /** Starts a background `sleep` on node i over ssh (its own session, so it outlives the ssh call); its pid. */
  const startMarker = async (i: number): Promise<number> => {
    const tag = `anneal-test-marker-${randomBytes(4).toString('hex')}`;
    const res = await ssh(i, `setsid -f bash -c 'exec -a ${tag} sleep 1000' </dev/null >/dev/null 2>&1`);
    expect(res.code, res.stderr).to.equal(0);
    return eventually(`marker on n${i}`, async () => pidsNamed(tag)[0]);
  };
  const running = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const api = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${base}${route}`, {
      method,
      headers: body === undefined ? testAuth : { 'content-type': 'application/json', ...testAuth },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  const getNode = async (i: number) => (await api('GET', `/nodes/${n(i).name}`)).json as unknown as NodeRecord;
  const ipmitool = async (i: number, ...args: string[]) => {
    const c = await labNodeCredentials({ name, stateDir, node: i });
    const argv = ['-I', 'lanplus', '-C', '3', '-H', c.bmc.host, '-p', String(c.bmc.port), '-U', c.bmc.username];
    return exec('ipmitool', [...argv, '-E', ...args], { IPMI_PASSWORD: c.bmc.password });
  };
  const controlLog = (i: number) => readFileSync(path.join(lab.labDir, 'nodes', `n${i}`, 'bmc', 'control.log'), 'utf8');
  const requireShims = () => {
    if (!shimsVerified) throw new Error('the nodes’ power shims were not verified: refusing to ask a node to reboot');
  };

  before(async function () {
    requireLab(this);
    stateDir = mkdtempSync('/tmp/anneal-ssh-hammer-test-');
    lab = await labUp({ name, nodes: 2, stateDir, bmcBasePort, redfishBasePort, annealUrl: null, log: silentLogger });
    key = (await labNodeCredentials({ name, stateDir, node: 1 })).ssh.privateKeyPath;
    db = await freshDatabase('sqlite');
    anneal = await boot(
      {
        ...loadConfig({}),
        database: db.target,
        fixtures: ['test'],
        ssh: { keyFile: key, user: 'root' },
        powerPollMs: 200,
      },
      { log: silentLogger },
    );
    for (const node of lab.nodes) {
      await anneal.services.inventory.createNode({ name: node.name, address: node.ip, macs: node.macs }, 'test');
    }
    await addTestAdminToken(anneal);
    server = await new Promise<Server>((resolve) => {
      const s = createApp(anneal!).listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2`;
  });

  after(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    await anneal?.close();
    await db?.drop();
    if (stateDir) {
      await labDown({ name, stateDir }).catch(() => undefined);
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it("every node's reboot, poweroff, halt, shutdown and systemctl are the lab's shims, and nothing has CAP_SYS_BOOT", async () => {
    const shim = createHash('sha256')
      .update(readFileSync(path.join(repoRoot, 'core/lab/node-power-shim.sh')))
      .digest('hex');
    for (const i of [1, 2]) {
      const res = await ssh(
        i,
        `for c in reboot poweroff halt shutdown systemctl; do sha256sum "$(command -v $c)"; done; ` +
          `sha256sum ${NODE_POWER_SHIMS.join(' ')} /sbin/reboot; grep CapBnd /proc/self/status`,
      );
      expect(res.code, res.stderr).to.equal(0);
      const lines = res.stdout.trim().split('\n');
      const sums = lines.filter((l) => /^[0-9a-f]{64} /.test(l));
      expect(sums, res.stdout).to.have.length(5 + NODE_POWER_SHIMS.length + 1);
      for (const l of sums) expect(l.slice(0, 64), l).to.equal(shim);
      const capBnd = BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(res.stdout)![1]}`);
      expect(capBnd & (1n << 22n), 'CAP_SYS_BOOT (22) in the bounding set').to.equal(0n);
    }
    // The host's own commands are untouched.
    expect(readFileSync('/proc/1/cmdline', 'utf8')).to.not.include('anneal-lab');
    for (const file of NODE_POWER_SHIMS) {
      expect(existsSync(file) && readFileSync(file).includes('node-power-shim'), file).to.equal(false);
    }
    shimsVerified = true;
  });

  it('configures driver ssh without BMC credentials; reads power on and alive through SSH', async () => {
    requireShims();
    for (const i of [1, 2]) {
      const set = await api('PUT', `/nodes/${n(i).name}/bmc`, { driver: 'ssh' });
      expect(set.status, set.text).to.equal(200);
      expect(set.json).to.include({ bmcDriver: 'ssh' });
      const read = await api('GET', `/nodes/${n(i).name}/power`);
      expect(read.status, read.text).to.equal(200);
      expect(read.json).to.include({ powerState: 'on' });
    }
    anneal!.powerMonitor.start();
    for (const i of [1, 2]) {
      await eventually(`n${i} alive`, async () => ((await getNode(i)).alive ? true : undefined));
    }
    n2Before = { sshd: (await sshdPid(2))!, marker: await startMarker(2) };
    expect(n2Before.sshd).to.be.a('number');
  });

  it("reset reboots the node's OS: every process stops, sshd comes back with a new pid, alive again", async () => {
    requireShims();
    const sshdBefore = (await sshdPid(1))!;
    const marker = await startMarker(1);
    const t0 = Date.now();
    const res = await api('POST', `/nodes/${n(1).name}/power`, { action: 'reset' });
    const returned = Date.now() - t0;
    expect(res.status, res.text).to.equal(200);
    expect(res.json).to.include({ alive: false });
    expect(res.json.powerState).to.be.oneOf(['on', 'off']);
    // The driver returns once the node went down: the marker started before is gone by then or soon.
    await eventually('the marker process to be gone', async () => (running(marker) ? undefined : true), 10_000);
    const sshdAfter = await eventually('a new sshd on n1', async () => {
      const pid = await sshdPid(1);
      return pid !== null && pid !== sshdBefore ? pid : undefined;
    });
    const sshdBack = Date.now() - t0;
    const alive = await eventually('n1 alive again', async () => {
      const node = await getNode(1);
      return node.alive && node.powerState === 'on' ? node : undefined;
    });
    const aliveBack = Date.now() - t0;
    expect(alive.alive).to.equal(true);
    expect(sshdAfter).to.not.equal(sshdBefore);
    expect((await ssh(1, 'hostname')).stdout.trim()).to.equal(n(1).name);
    expect(controlLog(1)).to.match(/ reset\n/);
    expect(readFileSync(path.join(lab.labDir, 'redfish.log'), 'utf8')).to.include(
      `${n(1).name}: OS requested a reboot`,
    );
    console.log(
      `    reset: API returned after ${returned} ms (node down), sshd back after ${sshdBack} ms, alive=true after ${aliveBack} ms`,
    );
  });

  it("the node's own `reboot -f` is refused; plain `reboot` and `shutdown -r now` reboot it", async () => {
    requireShims();
    const before = (await sshdPid(1))!;
    const forced = await ssh(1, 'reboot -f');
    expect(forced.code).to.equal(1);
    expect(forced.stderr).to.include('CAP_SYS_BOOT');
    await sleep(500);
    expect(await sshdPid(1)).to.equal(before);

    let previous = before;
    for (const command of ['reboot', 'shutdown -r now']) {
      const t0 = Date.now();
      const res = await ssh(1, command);
      expect(res.code, res.stderr).to.be.oneOf([0, 255]); // 255: the session was cut by the reboot
      const next = await eventually(`a new sshd after ${command}`, async () => {
        const pid = await sshdPid(1);
        return pid !== null && pid !== previous ? pid : undefined;
      });
      console.log(`    ${command} on the node: sshd back after ${Date.now() - t0} ms`);
      previous = next;
    }
    expect(readFileSync(path.join(lab.labDir, 'nodes', 'n1', 'upper', 'var', 'log', 'anneal-lab-power.log'), 'utf8'))
      .to.include('refused: reboot -f')
      .and.include('reset requested by: reboot');
    await eventually('n1 alive again', async () => ((await getNode(1)).alive ? true : undefined));
  });

  it('off leaves the node off: unreachable, status off, the BMC reports off', async () => {
    requireShims();
    const t0 = Date.now();
    const res = await api('POST', `/nodes/${n(1).name}/power`, { action: 'off' });
    const returned = Date.now() - t0;
    expect(res.status, res.text).to.equal(200);
    expect(res.json).to.include({ powerState: 'off', alive: false });
    expect(await tcpReachable(n(1).ip, 22, 1000)).to.equal(false);
    const read = await api('GET', `/nodes/${n(1).name}/power`);
    expect(read.json).to.include({ powerState: 'off' });
    const bmc = await ipmitool(1, 'chassis', 'power', 'status');
    expect(bmc.stdout, bmc.stderr).to.include('Chassis Power is off');
    expect((await live(1)).power).to.equal('off');
    await sleep(1000); // stays off
    expect(await tcpReachable(n(1).ip, 22, 1000)).to.equal(false);
    expect((await getNode(1)).alive).to.equal(false);
    console.log(`    off: API returned after ${returned} ms`);
  });

  it('on and next boot fail with ERR_POWER_FAILED: ssh cannot power a machine on or choose its boot device', async () => {
    const on = await api('POST', `/nodes/${n(1).name}/power`, { action: 'on' });
    expect(on.status, on.text).to.equal(502);
    const err = on.json.error as { code: string; message: string };
    expect(err.code).to.equal('ERR_POWER_FAILED');
    expect(err.message).to.include('ssh cannot power a machine on').and.include('give the node a BMC');
    const boot = await api('POST', `/nodes/${n(1).name}/boot`, { device: 'pxe' });
    expect(boot.status, boot.text).to.equal(502);
    expect((boot.json.error as { message: string }).message).to.include("ssh cannot choose a machine's boot device");
    expect((await live(1)).power).to.equal('off');
  });

  it('the other node was untouched; the BMC powers n1 on again and the monitor sees it alive', async () => {
    expect(await sshdPid(2)).to.equal(n2Before!.sshd);
    expect(running(n2Before!.marker)).to.equal(true);
    expect((await getNode(2)).alive).to.equal(true);
    expect(controlLog(2)).to.not.match(/ reset\n| power off\n/);

    const on = await ipmitool(1, 'chassis', 'power', 'on');
    expect(on.code, on.stderr).to.equal(0);
    await eventually('n1 alive after the BMC powered it on', async () => {
      const node = await getNode(1);
      return node.alive && node.powerState === 'on' ? true : undefined;
    });
  });
});
