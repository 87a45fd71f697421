/**
 * The `bios-configure` role on a real 2-node lab: node 1 through its Redfish BMC (the lab emulator's Bios
 * and Bios/Settings), node 2 through the `lab` driver (its /etc/anneal-lab/bios.json). The baseline is read
 * back from the real state; an unknown attribute fails at once naming it; a second run changes nothing
 * (not re-applied, state identical); the check passes, then fails with the remediation once an attribute
 * is changed behind anneal's back. Also the emulator's Storage and Bios errors, which change nothing.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { LAB_BIOS_DEFAULTS } from '../../../core/hardware/lab';
import { hardwareLab, requireLab, type HardwareLab } from '../../helpers/hardware-lab';

const baseline = { ProcVirtualization: 'Disabled', SriovGlobalEnable: 'Enabled', AssetTag: 'rack-7 u12' };

describe('e2e: the bios-configure role on lab nodes (redfish and lab drivers)', function () {
  this.timeout(300_000);
  let h: HardwareLab;
  const biosFile = () => path.join(h.lab.labDir, 'nodes', 'n1', 'redfish-bios.json');

  before(async function () {
    requireLab(this);
    h = await hardwareLab('bios');
    await h.setBmc(1, 'redfish');
    await h.setBmc(2, 'ipmi');
    const { services, store } = h.anneal;
    const d = await store.deployments.get('lab');
    await services.changes.setAttrib('deployment', d.id, 'bios/settings', { ...baseline, NoSuchKnob: 'On' }, 'test');
    for (const n of h.nodes) await services.binding.bind(d.id, 'bios-configure', n.id);
  });

  after(async () => {
    await h?.close();
  });

  it('fails at once on an attribute the BIOS does not have, naming it, and changes nothing', async () => {
    await h.converge();
    for (const nr of await h.nodeRoles('bios-configure')) {
      expect(nr.state).to.equal('error');
      expect(nr.attempts).to.equal(1);
      expect(nr.lastError).to.deep.include({ code: 'ERR_ATTRIB_INVALID', kind: 'user' });
      expect(nr.lastError?.message).to.match(
        /^bios\/settings: the BIOS of \S+ has no attribute NoSuchKnob \(it has AssetTag, /,
      );
    }
    expect((await h.redfish(1, 'GET', '/redfish/v1/Systems/1/Bios')).body.Attributes).to.deep.equal(LAB_BIOS_DEFAULTS);
    expect(h.ssh(2, 'test -e /etc/anneal-lab/bios.json').status).to.equal(1);
  });

  it('applies the baseline through Redfish and in band, and reads it back', async () => {
    const { services, store } = h.anneal;
    const d = await store.deployments.get('lab');
    await services.changes.setAttrib('deployment', d.id, 'bios/settings', baseline, 'test');
    await h.converge();
    for (const nr of await h.nodeRoles('bios-configure')) {
      expect(nr.state, JSON.stringify(nr.lastError)).to.equal('active');
    }
    const bios = await h.redfish(1, 'GET', '/redfish/v1/Systems/1/Bios');
    expect(bios.body.Attributes).to.deep.equal({ ...LAB_BIOS_DEFAULTS, ...baseline });
    expect(bios.body['@Redfish.Settings'].SettingsObject['@odata.id']).to.equal('/redfish/v1/Systems/1/Bios/Settings');
    const lab = JSON.parse(h.ssh(2, 'cat /etc/anneal-lab/bios.json').stdout) as { attributes: Record<string, unknown> };
    expect(lab.attributes).to.deep.equal(baseline);
    const [r1, r2] = await h.nodeRoles('bios-configure');
    expect(r1!.wall).to.deep.equal({
      driver: 'redfish',
      changed: ['AssetTag', 'ProcVirtualization', 'SriovGlobalEnable'],
    });
    expect(r2!.wall).to.deep.include({ driver: 'lab' });
    expect((await store.nodes.get(h.nodes[0]!.id)).facts.bios).to.deep.equal({
      driver: 'redfish',
      attributes: baseline,
    });
  });

  it('a second run changes nothing: not re-applied, BIOS state identical', async () => {
    const { store } = h.anneal;
    const before = { text: readFileSync(biosFile(), 'utf8'), mtime: statSync(biosFile()).mtimeMs };
    const lab = h.ssh(2, 'stat -c %Y:%s /etc/anneal-lab/bios.json; cat /etc/anneal-lab/bios.json').stdout;
    const nrs = await h.nodeRoles('bios-configure');
    await store.nodeRoles.bump(
      nrs.map((n) => n.id),
      Date.now(),
    );
    await h.converge();
    for (const nr of await h.nodeRoles('bios-configure')) {
      expect(nr.state).to.equal('active');
      const runs = await store.runs.list({ nodeRoleId: nr.id });
      expect(runs[runs.length - 1]!.stdoutTail).to.equal('destructive role already ran; not run again');
    }
    expect(readFileSync(biosFile(), 'utf8')).to.equal(before.text);
    expect(statSync(biosFile()).mtimeMs).to.equal(before.mtime);
    expect(h.ssh(2, 'stat -c %Y:%s /etc/anneal-lab/bios.json; cat /etc/anneal-lab/bios.json').stdout).to.equal(lab);
  });

  it('the check reads the BIOS back: passes, then fails with the remediation once an attribute changed', async () => {
    const { services } = h.anneal;
    for (const n of h.lab.nodes) {
      const c = (await services.checks.forNode(n.name)).checks.find((x) => x.role === 'bios-configure')!;
      expect(c).to.include({ ok: true, name: 'BIOS matches bios/settings' });
    }
    const patch = await h.redfish(1, 'PATCH', '/redfish/v1/Systems/1/Bios/Settings', {
      Attributes: { ProcVirtualization: 'Enabled' },
    });
    expect(patch.status).to.equal(204);
    const edit = `{"attributes":{"ProcVirtualization":"Disabled","SriovGlobalEnable":"Disabled","AssetTag":"rack-7 u12"}}`;
    expect(h.ssh(2, `echo '${edit}' >/etc/anneal-lab/bios.json`).status).to.equal(0);
    const expected = [
      'redfish BIOS: ProcVirtualization: want "Disabled", got "Enabled"',
      'lab BIOS: SriovGlobalEnable: want "Enabled", got "Disabled"',
    ];
    for (const [i, n] of h.lab.nodes.entries()) {
      const c = (await services.checks.forNode(n.name)).checks.find((x) => x.role === 'bios-configure')!;
      expect(c).to.include({ ok: false, detail: expected[i] });
      expect(c.remediation).to.match(/re-run bios-configure/);
    }
  });

  it('the emulator refuses bad Storage and Bios requests with Redfish errors and keeps its state', async () => {
    const before = readFileSync(biosFile(), 'utf8');
    const bad = async (method: string, uri: string, body: unknown, status: number, id: RegExp) => {
      const r = await h.redfish(1, method, uri, body);
      expect(r.status, JSON.stringify(r.body)).to.equal(status);
      expect(r.body.error.code).to.match(id);
    };
    const settings = '/redfish/v1/Systems/1/Bios/Settings';
    await bad('PATCH', settings, { Attributes: { Nope: 'x' } }, 400, /\.PropertyUnknown$/);
    await bad('PATCH', settings, { Attributes: { BootMode: 'Floppy' } }, 400, /\.PropertyValueNotInList$/);
    await bad('PATCH', settings, { Attributes: { BootMode: 1 } }, 400, /\.PropertyValueTypeError$/);
    await bad(
      'PATCH',
      settings,
      { Attributes: {}, '@Redfish.SettingsApplyTime': { ApplyTime: 'OnReset' } },
      400,
      /\.PropertyValueNotInList$/,
    );
    await bad('PATCH', '/redfish/v1/Systems/1/Bios', {}, 405, /\.OperationNotAllowed$/);
    expect(readFileSync(biosFile(), 'utf8')).to.equal(before);

    const volumes = '/redfish/v1/Systems/1/Storage/1/Volumes';
    const drive = (d: string) => ({ '@odata.id': `/redfish/v1/Systems/1/Storage/1/Drives/${d}` });
    await bad(
      'POST',
      volumes,
      { Name: 'v', RAIDType: 'RAID7', Links: { Drives: [drive('sda')] } },
      400,
      /\.PropertyValueNotInList$/,
    );
    await bad(
      'POST',
      volumes,
      { Name: 'v', RAIDType: 'RAID1', Links: { Drives: [drive('sda')] } },
      400,
      /\.PropertyValueIncorrect$/,
    );
    await bad(
      'POST',
      volumes,
      { Name: 'v', RAIDType: 'RAID0', Links: { Drives: [drive('sdz')] } },
      400,
      /\.PropertyValueNotInList$/,
    );
    const ok = await h.redfish(1, 'POST', volumes, {
      Name: 'v1',
      RAIDType: 'RAID0',
      Links: { Drives: [drive('sda')] },
    });
    expect(ok.status).to.equal(201);
    expect(ok.body).to.deep.include({ Name: 'v1', RAIDType: 'RAID0', CapacityBytes: 8 * 1024 ** 3 });
    await bad(
      'POST',
      volumes,
      { Name: 'v2', RAIDType: 'None', Links: { Drives: [drive('sda')] } },
      400,
      /\.ResourceInUse$/,
    );
    await bad(
      'POST',
      volumes,
      { Name: 'v1', RAIDType: 'None', Links: { Drives: [drive('sdb')] } },
      400,
      /\.ResourceAlreadyExists$/,
    );
    expect((await h.redfish(1, 'GET', volumes)).body['Members@odata.count']).to.equal(1);
    await bad('DELETE', volumes, undefined, 405, /\.OperationNotAllowed$/);
    await bad('GET', '/redfish/v1/Systems/1/Storage/1/Volumes/99', undefined, 404, /\.ResourceMissingAtURI$/);
  });
});
