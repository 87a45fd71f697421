import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import {
  labDown,
  labFault,
  labHeal,
  labNodeCredentials,
  labStatus,
  labUp,
  type LabNodeStatus,
  type LabStatus,
} from '../../../core/lab';
import { silentLogger } from '../../../core/log';
import type { BmcTarget } from '../../../core/power/driver';
import { createRedfishDriver } from '../../../core/power/redfish';
import { tcpReachable } from '../../../core/exec/probe';
import { requireLab } from '../../helpers/lab-e2e';

/** True when <ip>:22 accepts a TCP connection within 1 s. */
const sshPortOpen = (ip: string): Promise<boolean> => tcpReachable(ip, 22, 1000);

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Command lines of every process on the host. */
function processes(): { pid: number; argv: string[] }[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean);
        return [{ pid: Number(p), argv }];
      } catch {
        return [];
      }
    });
}

const emulatorsOf = (stateDir: string) =>
  processes().filter((p) => p.argv[0] === 'anneal-lab-redfish' && p.argv.some((a) => a.startsWith(stateDir)));

describe('e2e: the redfish driver on the lab Redfish BMC emulator', function () {
  this.timeout(180_000);
  const name = `r${randomBytes(2).toString('hex')}`;
  const bmcBasePort = 20_000 + Math.floor(Math.random() * 20_000);
  const redfishBasePort = 41_000 + Math.floor(Math.random() * 8_000);
  const redfish = createRedfishDriver({ protocol: 'http', settleTimeoutMs: 5000, pollMs: 100 });
  let stateDir = '';
  let lab: LabStatus;

  const node = async (i: number): Promise<LabNodeStatus> => (await labStatus({ name, stateDir })).nodes[i - 1]!;
  const target = async (i: number): Promise<BmcTarget> => {
    const c = await labNodeCredentials({ name, stateDir, node: i });
    return { node: c.node, ...c.redfish };
  };
  const sshdPid = async (i: number): Promise<string> => {
    const n = await node(i);
    return readFileSync(`/proc/${n.initPid}/root/run/sshd.pid`, 'utf8').trim();
  };
  const controlLog = (i: number) => readFileSync(path.join(lab.labDir, 'nodes', `n${i}`, 'bmc', 'control.log'), 'utf8');
  /** A raw request to node i's Redfish service. */
  const raw = async (i: number, method: string, uri: string, body?: unknown, password?: string) => {
    const t = await target(i);
    const auth = Buffer.from(`${t.username}:${password ?? t.password}`).toString('base64');
    const res = await fetch(`http://${t.host}:${t.port}${uri}`, {
      method,
      headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    };
  };
  const expectRedfishError = (body: Record<string, unknown>, messageId: RegExp) => {
    const error = body.error as { code: string; message: string; '@Message.ExtendedInfo': Record<string, unknown>[] };
    expect(error.code).to.match(messageId);
    expect(error.message).to.be.a('string').and.not.equal('');
    expect(error['@Message.ExtendedInfo']).to.have.length(1);
    expect(error['@Message.ExtendedInfo'][0]).to.include({ MessageId: error.code, Message: error.message });
  };

  before(async function () {
    requireLab(this);
    stateDir = mkdtempSync('/tmp/anneal-redfish-test-');
    lab = await labUp({ name, nodes: 2, stateDir, bmcBasePort, redfishBasePort, log: silentLogger });
  });

  after(async () => {
    if (!stateDir) return;
    await labDown({ name, stateDir }).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('serves each node on its own port with the BMC credentials; one emulator, no secret on a command line', async () => {
    for (const n of lab.nodes) {
      expect(n.redfish).to.deep.equal({
        host: '127.0.0.1',
        port: redfishBasePort + n.index,
        username: 'admin',
        running: true,
      });
      expect(n.healthy).to.equal(true);
      const c = await labNodeCredentials({ name, stateDir, node: n.index });
      expect(c.redfish).to.deep.equal({ ...c.bmc, port: redfishBasePort + n.index });
    }
    const emulators = emulatorsOf(stateDir);
    expect(emulators).to.have.length(1);
    expect(readFileSync(path.join(lab.labDir, 'redfish.pid'), 'utf8').trim()).to.equal(String(emulators[0]!.pid));
    const c1 = await labNodeCredentials({ name, stateDir, node: 1 });
    expect(processes().some((p) => p.argv.join(' ').includes(c1.bmc.password))).to.equal(false);
    expect(readFileSync(path.join(lab.labDir, 'lab.json'), 'utf8')).to.not.include(c1.bmc.password);
    const sys = await raw(1, 'GET', '/redfish/v1/Systems/1');
    expect(sys.body).to.include({ '@odata.id': '/redfish/v1/Systems/1', Id: '1', Name: lab.nodes[0]!.name });
    expect(sys.body['@odata.type']).to.match(/^#ComputerSystem\.v1_\d+_\d+\.ComputerSystem$/);
    const resetAction = (sys.body.Actions as Record<string, { target: string }>)['#ComputerSystem.Reset'];
    expect(resetAction?.target).to.equal('/redfish/v1/Systems/1/Actions/ComputerSystem.Reset');
  });

  it('reads power on, powers off (sshd stops), sets next boot pxe, powers on (sshd answers again)', async () => {
    const t = await target(2);
    const n2 = await node(2);
    expect(await redfish.status(t)).to.equal('on');

    await redfish.power(t, 'off');
    expect(await sshPortOpen(n2.ip)).to.equal(false);
    expect(await redfish.status(t)).to.equal('off');
    expect(await node(2)).to.include({ power: 'off', sshdRunning: false });
    expect(await sshPortOpen((await node(1)).ip)).to.equal(true);

    await redfish.nextBoot(t, 'pxe');
    expect((await node(2)).bootDevice).to.equal('pxe');
    expect((await raw(2, 'GET', '/redfish/v1/Systems/1')).body.Boot).to.include({
      BootSourceOverrideTarget: 'Pxe',
      BootSourceOverrideEnabled: 'Once',
    });

    await redfish.power(t, 'on');
    await eventually('sshd of n2', () => sshPortOpen(n2.ip));
    expect(await redfish.status(t)).to.equal('on');
    // The override applies to one boot (no pxe hook here: the node booted from disk).
    expect(await node(2)).to.include({ power: 'on', sshdRunning: true, bootDevice: 'none' });

    await redfish.nextBoot(t, 'disk');
    expect((await node(2)).bootDevice).to.equal('default');
    await raw(2, 'PATCH', '/redfish/v1/Systems/1', { Boot: { BootSourceOverrideEnabled: 'Disabled' } });
    expect((await node(2)).bootDevice).to.equal('none');
  });

  it('changes nothing when powered on twice', async () => {
    const t = await target(1);
    const before = { sshd: await sshdPid(1), log: controlLog(1) };
    await redfish.power(t, 'on');
    await redfish.power(t, 'on');
    // Raw, too: the emulator itself treats On of a system that is on as nothing to do.
    expect((await raw(1, 'POST', '/redfish/v1/Systems/1/Actions/ComputerSystem.Reset', { ResetType: 'On' })).status).to.equal(204); // prettier-ignore
    expect(await sshdPid(1)).to.equal(before.sshd);
    expect(controlLog(1).slice(before.log.length)).to.not.match(/power (on|off)|reset/);
    expect(await redfish.status(t)).to.equal('on');
  });

  it('cycles and resets the node: its sshd restarts each time', async () => {
    const t = await target(1);
    const ip = (await node(1)).ip;
    for (const action of ['cycle', 'reset'] as const) {
      const before = await sshdPid(1);
      await redfish.power(t, action);
      await eventually(`sshd of n1 after ${action}`, () => sshPortOpen(ip));
      expect(await sshdPid(1), action).to.not.equal(before);
      expect(await redfish.status(t)).to.equal('on');
    }
    expect(controlLog(1)).to.match(/power off[\s\S]*power on[\s\S]*reset/);
  });

  it('rejects a wrong password with ERR_POWER_AUTH and changes nothing', async () => {
    const t = { ...(await target(1)), password: 'wrong-password-123' };
    const before = await sshdPid(1);
    for (const call of [() => redfish.status(t), () => redfish.power(t, 'off'), () => redfish.nextBoot(t, 'pxe')]) {
      const err = (await call().catch((e: unknown) => e)) as { code: string; message: string };
      expect(err).to.have.property('code', 'ERR_POWER_AUTH');
      expect(err.message).to.include(t.node).and.include(`127.0.0.1:${t.port}`).and.not.include(t.password);
      expect(JSON.stringify(err)).to.not.include(t.password);
    }
    expect(await sshdPid(1)).to.equal(before);
    expect(await node(1)).to.include({ power: 'on', bootDevice: 'none' });
    const res = await raw(1, 'GET', '/redfish/v1/Systems/1', undefined, 'wrong');
    expect(res.status).to.equal(401);
    expect(res.headers.get('www-authenticate')).to.match(/^Basic realm=/);
    expectRedfishError(res.body, /^Base\.1\.\d+\.\d+\.ResourceAtUriUnauthorized$/);
  });

  it('reports ERR_POWER_UNREACHABLE for a port with nothing listening, and for a node whose BMC is down', async () => {
    const free = await new Promise<number>((resolve) => {
      const s: Server = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    const t = { ...(await target(1)), port: free };
    const err = (await redfish.status(t).catch((e: unknown) => e)) as { code: string; message: string };
    expect(err).to.have.property('code', 'ERR_POWER_UNREACHABLE');
    expect(err.message).to.include(`127.0.0.1:${free}`).and.include(t.node).and.not.include(t.password);

    await labFault({ name, stateDir, node: 2, fault: 'bmc-down' });
    expect((await node(2)).redfish?.running).to.equal(false);
    const down = (await redfish.status(await target(2)).catch((e: unknown) => e)) as { code: string };
    expect(down).to.have.property('code', 'ERR_POWER_UNREACHABLE');
    await labHeal({ name, stateDir, node: 2 });
    expect(await redfish.status(await target(2))).to.equal('on');
  });

  it('answers bad requests with Redfish errors (400, 404, 405) and changes nothing', async () => {
    const before = await sshdPid(1);
    const reset = '/redfish/v1/Systems/1/Actions/ComputerSystem.Reset';
    const bad = await raw(1, 'POST', reset, { ResetType: 'Explode' });
    expect(bad.status).to.equal(400);
    expectRedfishError(bad.body, /\.ActionParameterValueNotInList$/);
    expect((await raw(1, 'POST', reset, {})).status).to.equal(400);
    const target400 = await raw(1, 'POST', '/redfish/v1/Systems/1/Actions/ComputerSystem.Explode', {
      ResetType: 'ForceOff',
    });
    expect(target400.status).to.equal(400);
    expectRedfishError(target400.body, /\.ActionNotSupported$/);
    const boot = await raw(1, 'PATCH', '/redfish/v1/Systems/1', { Boot: { BootSourceOverrideTarget: 'Floppy' } });
    expect(boot.status).to.equal(400);
    expectRedfishError(boot.body, /\.PropertyValueNotInList$/);
    const missing = await raw(1, 'GET', '/redfish/v1/Chassis');
    expect(missing.status).to.equal(404);
    expectRedfishError(missing.body, /\.ResourceMissingAtURI$/);
    const notAllowed = await raw(1, 'DELETE', '/redfish/v1/Systems/1');
    expect(notAllowed.status).to.equal(405);
    expect(notAllowed.headers.get('allow')).to.include('PATCH');
    expectRedfishError(notAllowed.body, /\.OperationNotAllowed$/);

    expect(await sshdPid(1)).to.equal(before);
    expect(await node(1)).to.include({ power: 'on', sshdRunning: true, bootDevice: 'none' });
  });

  it('keeps the emulator when brought up again or grown, and leaves none behind after lab down or a crash', async () => {
    const pid = emulatorsOf(stateDir).map((p) => p.pid);
    const again = await labUp({ name, nodes: 2, stateDir, log: silentLogger });
    expect(emulatorsOf(stateDir).map((p) => p.pid)).to.deep.equal(pid);
    expect(again.nodes.map((n) => n.redfish?.running)).to.deep.equal([true, true]);
    // A third node: the same emulator reloads (SIGHUP) and serves it too.
    const grown = await labUp({ name, nodes: 3, stateDir, log: silentLogger });
    expect(emulatorsOf(stateDir).map((p) => p.pid)).to.deep.equal(pid);
    expect(grown.nodes[2]?.redfish).to.include({ port: redfishBasePort + 3, running: true });
    expect(await redfish.status(await target(3))).to.equal('on');

    await labDown({ name, stateDir });
    expect(emulatorsOf(stateDir)).to.deep.equal([]);

    // State directory lost: the sweep finds the emulator by its command line.
    const up = await labUp({ name, nodes: 1, stateDir, bmcBasePort, redfishBasePort, log: silentLogger });
    expect(emulatorsOf(stateDir)).to.have.length(1);
    rmSync(up.labDir, { recursive: true, force: true });
    await labDown({ name, stateDir });
    expect(emulatorsOf(stateDir)).to.deep.equal([]);
    expect(existsSync(up.labDir)).to.equal(false);
  });

  it('refuses a Redfish port another process holds with ERR_LAB_CONFLICT naming it', async () => {
    const port = redfishBasePort + 1;
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const err = (await labUp({ name, nodes: 1, stateDir, bmcBasePort, redfishBasePort, log: silentLogger }).catch(
        (e: unknown) => e,
      )) as { code: string; message: string };
      expect(err).to.have.property('code', 'ERR_LAB_CONFLICT');
      expect(err.message).to.include(`127.0.0.1:${port}`);
    } finally {
      squatter.close();
      await labDown({ name, stateDir });
    }
    expect(emulatorsOf(stateDir)).to.deep.equal([]);
  });
});
