/**
 * `anneal power …` against a real server and a real lab node behind its ipmi_sim BMC (needs root: run as
 * `flock /tmp/anneal-lab-tests.lock npx mocha test/integration/cli/power.test.ts`; fails under CI=true
 * when the lab's prerequisites are missing). The BMC password goes in on stdin only; power actions
 * really stop and start the node (the lab's status says so); BMC errors come back in one line with the
 * CLI's fix.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { labDown, labNodeCredentials, labStatus, labUp, type LabStatus } from '../../../core/lab';
import { silentLogger } from '../../../core/log';
import { requireLab } from '../../helpers/lab-e2e';
import { cli, cliServer, type CliServer } from './cli-harness';

describe('cli: anneal power (real server, lab node with ipmi_sim)', function () {
  this.timeout(180_000);
  const name = `cp${randomBytes(2).toString('hex')}`;
  let stateDir = '';
  let lab: LabStatus | undefined;
  let s: CliServer | undefined;
  let node = '';
  let bmc = '';
  let password = '';

  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await cli(args, s!.env, input);
    expect({ code: r.code, stderr: r.stderr }, args.join(' ')).to.deep.equal({ code: 0, stderr: '' });
    return r.stdout;
  };
  const labNode = async () => (await labStatus({ name, stateDir })).nodes[0]!;

  before(async function () {
    requireLab(this);
    stateDir = mkdtempSync('/tmp/anneal-cli-power-');
    lab = await labUp({
      name,
      nodes: 1,
      stateDir,
      bmcBasePort: 20_000 + Math.floor(Math.random() * 20_000),
      redfishBasePort: 41_000 + Math.floor(Math.random() * 8_000),
      annealUrl: null,
      log: silentLogger,
    });
    const c = await labNodeCredentials({ name, stateDir, node: 1 });
    bmc = `127.0.0.1:${c.bmc.port}`;
    password = c.bmc.password;
    node = lab.nodes[0]!.name;
    s = await cliServer('cli-power', { ANNEAL_BMC_MIN_INTERVAL_MS: '0', ANNEAL_POWER_POLL_MS: '0' });
    await s.api('POST', '/nodes', { name: node, address: lab.nodes[0]!.ip, alive: true });
  });

  after(async () => {
    await s?.close();
    if (stateDir) {
      await labDown({ name, stateDir });
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('says how to configure the BMC with the CLI when the node has none', async () => {
    const r = await cli(['power', 'status', node], s!.env);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.equal(
      `anneal: node ${node} has no BMC address, username, password: set them with PUT /api/v2/nodes/${node}/bmc ` +
        '[ERR_POWER_NOT_CONFIGURED] — with the CLI: `anneal power bmc NODE --address HOST --username USER --password-stdin`\n',
    );
  });

  it('sets the BMC with the password read from stdin; the password is never shown', async () => {
    const out = await ok(
      ['power', 'bmc', node, '--address', bmc, '--username', 'admin', '--password-stdin'],
      `${password}\n`,
    );
    expect(out).to.equal(`${node}: BMC ${bmc} user admin driver ipmi, password stored (never shown)\n`);
    const json = await ok(['nodes', 'show', node, '--json']);
    expect(json).to.not.include(password);
    expect(JSON.parse(json)).to.deep.include({ bmcAddress: bmc, bmcUsername: 'admin', bmcDriver: 'ipmi' });
  });

  it('reads the power state from the BMC: text and --json', async () => {
    expect((await labNode()).power).to.equal('on');
    const text = await ok(['power', 'status', node]);
    expect(text).to.match(
      new RegExp(`^${node}: power on, next boot (pxe|disk|unknown) \\(read \\d{4}-\\d\\d-\\d\\dT\\S+Z\\)\\n$`),
    );
    const json = JSON.parse(await ok(['power', 'status', node, '--json'])) as Record<string, unknown>;
    const api = (await s!.api('GET', `/nodes/${node}`)).body as Record<string, unknown>;
    expect(json).to.deep.equal({ ...api, powerCheckedAt: json.powerCheckedAt, updatedAt: json.updatedAt });
    expect(json).to.deep.include({ name: node, powerState: 'on' });
  });

  it('powers the node off and on, cycles and resets it: the lab node really stops and starts', async () => {
    expect(await ok(['power', 'off', node])).to.equal(`${node}: power off sent; the BMC reads off\n`);
    expect((await labNode()).power).to.equal('off');
    expect((await labNode()).sshdRunning).to.equal(false);
    expect(await ok(['power', 'on', node])).to.equal(`${node}: power on sent; the BMC reads on\n`);
    expect((await labNode()).power).to.equal('on');
    for (const action of ['cycle', 'reset']) {
      // Read right after the request: a cycle may still be in its off half.
      expect(await ok(['power', action, node])).to.match(
        new RegExp(`^${node.replace(/\./g, '\\.')}: power ${action} sent; the BMC reads (on|off)\n$`),
      );
      const deadline = Date.now() + 20_000;
      while ((await ok(['power', 'status', node])).split(',')[0] !== `${node}: power on`) {
        expect(Date.now(), `${node} back on after ${action}`).to.be.below(deadline);
        await new Promise((r) => setTimeout(r, 500));
      }
      expect((await labNode()).power).to.equal('on');
    }
    const json = JSON.parse(await ok(['power', 'off', node, '--json'])) as Record<string, unknown>;
    expect(json).to.deep.include({ name: node, powerState: 'off' });
    await ok(['power', 'on', node]);
  });

  it('sets the next boot device', async () => {
    expect(await ok(['power', 'boot', node, 'pxe'])).to.equal(`${node}: next boot pxe\n`);
    expect((await labNode()).bootDevice).to.equal('pxe');
    expect(await ok(['power', 'boot', node, 'disk'])).to.equal(`${node}: next boot disk\n`);
    expect((await labNode()).bootDevice).to.equal('default'); // ipmi_sim's name for "boot from disk"
  });

  it('reports a wrong BMC password in one line with the fix', async () => {
    await ok(['power', 'bmc', node, '--password-stdin'], 'wrong-password\n');
    const r = await cli(['power', 'status', node], s!.env);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.match(
      /^anneal: .* \[ERR_POWER_AUTH\] — with the CLI: `anneal power bmc NODE --username USER --password-stdin`\n$/,
    );
    expect(r.stderr).to.not.include(password);
  });
});
