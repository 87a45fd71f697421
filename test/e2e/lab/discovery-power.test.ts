/**
 * The lab issue's first acceptance point, end to end through the product's own entry points: `anneal lab
 * up --nodes 5` (the CLI), the real server (`core/main.ts`) listening on loopback and the lab bridge, nodes
 * registering themselves through discovery, the power monitor keeping `powerState` and `alive` current
 * while `ipmitool` powers a node off and on behind anneal's back, an ssh-jig action on all five whose
 * second run changes nothing, and `anneal lab down` leaving nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Anneal } from '../../../core/boot';
import type { NodeRecord, NodeRoleRecord } from '../../../core/domain/records';
import { tcpReachable } from '../../../core/exec/probe';
import { labNodeCredentials, labStatus, type LabStatus } from '../../../core/lab';
import { freshDatabase, type TestDatabase } from '../../helpers/engines';
import { bootInProcess, freePort, spawnServer, testAuth, waitFor, type ServerChild } from '../../helpers/server';
import { exec, requireLab } from '../../helpers/lab-e2e';

const repoRoot = path.resolve(__dirname, '../../..');

describe('e2e: discovery, power monitor and alive on a 5-node lab (CLI + server)', function () {
  this.timeout(300_000);
  const name = `d${randomBytes(2).toString('hex')}`;
  let stateDir = '';
  let db: TestDatabase;
  let server: ServerChild | undefined;
  let local: Anneal | undefined;
  let lab: LabStatus;
  let key = '';
  let base = '';

  const anneal = (...args: string[]) =>
    exec(path.join(repoRoot, 'bin/anneal'), [...args, '--name', name, '--state-dir', stateDir]);
  const api = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${base}/api/v2${route}`, {
      method,
      headers: body === undefined ? testAuth : { 'content-type': 'application/json', ...testAuth },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };
  const getNode = async (n: string) => JSON.parse((await api('GET', `/nodes/${n}`)).text) as NodeRecord;
  const ipmitool = async (index: number, ...args: string[]) => {
    const c = await labNodeCredentials({ name, stateDir, node: index });
    const argv = ['-I', 'lanplus', '-C', '3', '-H', c.bmc.host, '-p', String(c.bmc.port), '-U', c.bmc.username];
    return exec('ipmitool', [...argv, '-E', ...args], { IPMI_PASSWORD: c.bmc.password });
  };
  const ssh = (ip: string, command: string) =>
    exec('ssh', [
      '-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
      '-o', 'ConnectTimeout=3', '-o', 'LogLevel=ERROR', `root@${ip}`, command,
    ]); // prettier-ignore
  const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000) =>
    waitFor(probe, { timeoutMs, intervalMs: 200, describe: () => what });

  before(async function () {
    requireLab(this);
    stateDir = mkdtempSync('/tmp/anneal-lab-test-');
    db = await freshDatabase('sqlite');
  });

  after(async () => {
    await local?.close();
    await server?.stop();
    if (stateDir) {
      await anneal('lab', 'down');
      rmSync(stateDir, { recursive: true, force: true });
    }
    await db?.drop();
  });

  it('registers all 5 nodes through discovery, with their MACs, BMC and management addresses', async () => {
    const port = await freePort();
    const up = await anneal('lab', 'up', '--nodes', '5', '--anneal-url', `http://10.231.0.1:${port}`);
    expect(up.code, up.stderr).to.equal(0);
    lab = await labStatus({ name, stateDir });
    key = (await labNodeCredentials({ name, stateDir, node: 1 })).ssh.privateKeyPath;

    // The server starts after the lab (the bridge address must exist to listen on it); nodes keep
    // announcing themselves until it answers.
    const started = Date.now();
    server = await spawnServer('discovery', db.target, {
      PORT: String(port),
      HOST: '127.0.0.1,10.231.0.1',
      ANNEAL_SSH_KEY: key,
      ANNEAL_POWER_POLL_MS: '500',
      ANNEAL_REDFISH_PROTOCOL: 'http',
      ANNEAL_LOG_LEVEL: 'info',
    });
    await server.ready();
    base = `http://127.0.0.1:${port}`;
    // The line is logged once every address listens; the port may answer a moment before.
    await until('the listening line', async () =>
      server!.output().includes(`anneal listening on http://127.0.0.1:${port}, http://10.231.0.1:${port}`)
        ? true
        : undefined,
    );

    const nodes = await until('5 discovered nodes', async () => {
      const list = JSON.parse((await api('GET', '/nodes?limit=100')).text) as { items: NodeRecord[] };
      const found = list.items.filter((n) => n.name.endsWith(`.${name}.lab`));
      return found.length === 5 ? found : undefined;
    });
    console.log(`    5 nodes discovered ${Date.now() - started} ms after the server was started`);
    for (const n of lab.nodes) {
      const node = nodes.find((x) => x.name === n.name)!;
      expect(node, n.name).to.not.equal(undefined);
      // The BMC's user and password came with the announcement (the password is never shown).
      expect(node).to.include({
        bmcAddress: `127.0.0.1:${n.bmc.port}`,
        bmcUsername: 'admin',
        address: n.ip,
        bmcDriver: 'ipmi',
      });
      expect(node.macs).to.deep.equal(n.macs);
    }
  });

  it('reads power and alive through the BMC once its credentials are set; the password is never shown', async () => {
    for (const n of lab.nodes) {
      const { password } = (await labNodeCredentials({ name, stateDir, node: n.index })).bmc;
      const res = await api('PUT', `/nodes/${n.name}/bmc`, { username: 'admin', password });
      expect(res.status, res.text).to.equal(200);
      expect(res.text).to.not.include(password);
      expect(JSON.parse(res.text)).to.include({ name: n.name, bmcUsername: 'admin' });
    }
    for (const n of lab.nodes) {
      await until(`${n.name} on and alive`, async () => {
        const node = await getNode(n.name);
        return node.powerState === 'on' && node.alive && node.powerCheckedAt ? node : undefined;
      });
    }
    const bad = await api('POST', `/nodes/${lab.nodes[0]!.name}/power`, { action: 'explode' });
    expect(bad.status).to.equal(400);
    expect(JSON.parse(bad.text).error).to.deep.include({ code: 'ERR_INPUT_INVALID' });
  });

  it('ipmitool power off makes a node unreachable and not alive; power on brings it back', async () => {
    const n3 = lab.nodes[2]!;
    const off = await ipmitool(3, 'chassis', 'power', 'off');
    expect(off.code, off.stderr).to.equal(0);
    const offAt = Date.now();
    expect(await tcpReachable(n3.ip, 22, 1000)).to.equal(false);
    expect((await ssh(n3.ip, 'true')).code).to.not.equal(0);
    const seenOff = await until('n3 not alive', async () => {
      const node = await getNode(n3.name);
      return !node.alive ? node : undefined;
    });
    expect(seenOff.powerState).to.equal('off');
    console.log(`    alive=false ${Date.now() - offAt} ms after ipmitool power off`);
    for (const other of lab.nodes.filter((n) => n !== n3)) expect((await getNode(other.name)).alive).to.equal(true);

    const on = await ipmitool(3, 'chassis', 'power', 'on');
    expect(on.code, on.stderr).to.equal(0);
    const onAt = Date.now();
    await until('n3 alive again', async () => {
      const node = await getNode(n3.name);
      return node.alive && node.powerState === 'on' ? node : undefined;
    });
    console.log(`    alive=true ${Date.now() - onAt} ms after ipmitool power on`);
    expect((await ssh(n3.ip, 'hostname')).stdout.trim()).to.equal(n3.name);
  });

  it('powers a node off and on through the API, with the state read back', async () => {
    const n2 = lab.nodes[1]!;
    const off = await api('POST', `/nodes/${n2.name}/power`, { action: 'off' });
    expect(off.status, off.text).to.equal(200);
    expect(JSON.parse(off.text)).to.include({ powerState: 'off', alive: false });
    expect(await tcpReachable(n2.ip, 22, 1000)).to.equal(false);
    const on = await api('POST', `/nodes/${n2.name}/power`, { action: 'on' });
    expect(JSON.parse(on.text)).to.include({ powerState: 'on' });
    await until('n2 alive again', async () => ((await getNode(n2.name)).alive ? true : undefined));
    const boot = await api('POST', `/nodes/${n2.name}/boot`, { device: 'pxe' });
    expect(JSON.parse(boot.text)).to.include({ bootDevice: 'pxe' });
    expect((await labStatus({ name, stateDir })).nodes[1]!.bootDevice).to.equal('pxe');
    await api('POST', `/nodes/${n2.name}/boot`, { device: 'disk' });
  });

  it('drives a node through its Redfish BMC (the lab emulator) with the same API', async () => {
    const n4 = lab.nodes[3]!;
    const rf = (await labNodeCredentials({ name, stateDir, node: 4 })).redfish;
    const set = await api('PUT', `/nodes/${n4.name}/bmc`, { driver: 'redfish', address: `${rf.host}:${rf.port}` });
    expect(JSON.parse(set.text)).to.include({ bmcDriver: 'redfish', bmcAddress: `${rf.host}:${rf.port}` });
    const off = await api('POST', `/nodes/${n4.name}/power`, { action: 'off' });
    expect(off.status, off.text).to.equal(200);
    expect(JSON.parse(off.text)).to.include({ powerState: 'off', alive: false });
    expect(await tcpReachable(n4.ip, 22, 1000)).to.equal(false);
    expect((await labStatus({ name, stateDir })).nodes[3]!.power).to.equal('off');
    await api('POST', `/nodes/${n4.name}/power`, { action: 'on' });
    await until('n4 alive again', async () => {
      const node = await getNode(n4.name);
      return node.alive && node.powerState === 'on' ? true : undefined;
    });
  });

  it('runs an ssh-jig action on all 5 discovered nodes; the second run changes nothing', async () => {
    for (const n of lab.nodes) {
      const bind = await api('POST', '/deployments/system/bind', { role: 'test-remote', node: n.name });
      expect(bind.status, bind.text).to.be.oneOf([200, 201]);
      expect((await api('POST', `/nodes/${n.name}/commit`)).status).to.equal(200);
    }
    const remote = await until(
      '5 active test-remote node-roles',
      async () => {
        const list = JSON.parse((await api('GET', '/node-roles?limit=1000')).text) as { items: NodeRoleRecord[] };
        const mine = list.items.filter((nr) => nr.role === 'test-remote' && nr.node.endsWith(`.${name}.lab`));
        const failed = mine.find((nr) => nr.state === 'error');
        if (failed) throw new Error(`${failed.node}: ${JSON.stringify(failed)}`);
        return mine.length === 5 && mine.every((nr) => nr.state === 'active') ? mine : undefined;
      },
      120_000,
    );
    const mtimes = new Map<string, string>();
    for (const nr of remote) {
      const ip = lab.nodes.find((n) => n.name === nr.node)!.ip;
      const out = await ssh(ip, 'cat /root/anneal-test.marker; echo; stat -c %Y /root/anneal-test.marker');
      const [content, mtime] = out.stdout.trim().split('\n');
      expect(content).to.equal('initial');
      mtimes.set(nr.node, mtime!);
    }

    // A second run of the same action: re-queued in the database the server anneals from.
    local = await bootInProcess(db.target);
    await local.store.nodeRoles.bump(
      remote.map((nr) => nr.id),
      Date.now(),
    );
    for (const nr of remote) {
      await until(
        `second run of ${nr.node}`,
        async () => {
          const runs = await local!.store.runs.list({ nodeRoleId: nr.id });
          const ok = runs.filter((r) => r.status === 'succeeded');
          return ok.length === 2 ? ok : undefined;
        },
        60_000,
      ).then((ok) => expect(ok[1]!.stdoutTail).to.equal('unchanged: /root/anneal-test.marker\n'));
      const ip = lab.nodes.find((n) => n.name === nr.node)!.ip;
      expect((await ssh(ip, 'stat -c %Y /root/anneal-test.marker')).stdout.trim()).to.equal(mtimes.get(nr.node));
    }
  });

  it('anneal lab down leaves no namespace, link, bridge, overlay mount or process behind', async () => {
    await local?.close();
    local = undefined;
    await server?.stop();
    server = undefined;
    const down = await anneal('lab', 'down');
    expect(down.code, down.stderr).to.equal(0);
    expect((await exec('ip', ['netns', 'list'])).stdout).to.not.include(`anl-${name}-`);
    const links = readdirSync('/sys/class/net');
    expect(links).to.not.include(lab.bridge);
    for (const n of lab.nodes) expect(links).to.not.include(n.hostVeth);
    expect((await exec('ip', ['rule', 'show'])).stdout).to.not.include(lab.bridge);
    const mounts = readFileSync('/proc/mounts', 'utf8');
    expect(mounts).to.not.include(stateDir);
    expect(mounts).to.not.include('anneal-lab-overlay');
    const ps = (await exec('ps', ['-eo', 'pid=,args='])).stdout
      .split('\n')
      .filter((l) => l.includes(stateDir) || l.includes(`anl-${name}-`) || l.includes(`.${name}.lab`));
    expect(ps).to.deep.equal([]);
    expect(existsSync(path.join(stateDir, name))).to.equal(false);
  });
});
