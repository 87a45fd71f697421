/**
 * The `raid-configure` role on a real 2-node lab. Node 1 has a Redfish BMC (the lab emulator): the
 * `redfish` driver creates its volumes through DMTF Storage/Volumes. Node 2 has an ipmi BMC: the `lab`
 * driver configures its virtual controller in band (/etc/anneal-lab/raid.json). The test reads the real
 * state back (Redfish GET, the node's file), shows the action refuses to wipe a different configuration
 * until raid/force is set, that a second run changes nothing (no attrib change, dependents not re-run,
 * destructive role not re-applied, controller state byte-for-byte the same), and that the check passes,
 * then fails with the remediation once the volumes are gone.
 */
import { statSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { hardwareLab, requireLab, type HardwareLab } from '../../helpers/hardware-lab';

const GiB = 1024 ** 3;

describe('e2e: the raid-configure role on lab nodes (redfish and lab drivers)', function () {
  this.timeout(300_000);
  let h: HardwareLab;
  let serials: { sda: string; sdb: string }[] = [];
  const storageFile = () => path.join(h.lab.labDir, 'nodes', 'n1', 'redfish-storage.json');

  before(async function () {
    requireLab(this);
    h = await hardwareLab('raid');
    await h.setBmc(1, 'redfish');
    await h.setBmc(2, 'ipmi');
    serials = [1, 2].map((i) => {
      const hw = JSON.parse(h.ssh(i, 'cat /etc/anneal-lab/hardware.json').stdout) as {
        disks: { name: string; serial: string }[];
      };
      return {
        sda: hw.disks.find((d) => d.name === 'sda')!.serial,
        sdb: hw.disks.find((d) => d.name === 'sdb')!.serial,
      };
    });
    // Node 2's controller already holds another configuration (a one-disk RAID0 on sda).
    const old = { volumes: [{ name: 'old', level: 'RAID0', drives: [serials[1]!.sda], capacityBytes: 8 * GiB }] };
    expect(h.ssh(2, 'cat >/etc/anneal-lab/raid.json', JSON.stringify(old)).status).to.equal(0);
    const { services, store } = h.anneal;
    const d = await store.deployments.get('lab');
    // Node 2: no OS volume, every disk passed through.
    await services.changes.setAttrib('node', h.nodes[1]!.id, 'raid/os-level', 'none', 'test');
    for (const n of h.nodes) await services.binding.bind(d.id, 'raid-configure', n.id);
  });

  after(async () => {
    await h?.close();
  });

  it('binds inventory and bmc-configure with it; redfish creates the planned RAID1; lab refuses to wipe', async () => {
    await h.converge();
    expect((await h.nodeRoles('inventory')).map((n) => n.state)).to.deep.equal(['active', 'active']);
    expect((await h.nodeRoles('bmc-configure')).map((n) => n.state)).to.deep.equal(['active', 'active']);
    const [r1, r2] = await h.nodeRoles('raid-configure');
    expect(r1!.state, JSON.stringify(r1!.lastError)).to.equal('active');
    expect(r1!.wall).to.deep.equal({ driver: 'redfish', decision: 'create', volumes: ['os'] });

    // The emulator's controller, read back over Redfish.
    const coll = await h.redfish(1, 'GET', '/redfish/v1/Systems/1/Storage/1/Volumes');
    expect(coll.body['Members@odata.count']).to.equal(1);
    const vol = await h.redfish(1, 'GET', coll.body.Members[0]['@odata.id']);
    expect(vol.body).to.deep.include({ Name: 'os', RAIDType: 'RAID1', CapacityBytes: 8 * GiB });
    expect(vol.body.Links.Drives.map((x: { '@odata.id': string }) => x['@odata.id']).sort()).to.deep.equal([
      '/redfish/v1/Systems/1/Storage/1/Drives/sda',
      '/redfish/v1/Systems/1/Storage/1/Drives/sdb',
    ]);
    const drive = await h.redfish(1, 'GET', '/redfish/v1/Systems/1/Storage/1/Drives/sdb');
    expect(drive.body).to.include({ SerialNumber: serials[0]!.sdb, CapacityBytes: 16 * GiB });
    const n1 = await h.anneal.store.nodes.get(h.nodes[0]!.id);
    expect(n1.facts.raid).to.deep.equal({
      driver: 'redfish',
      volumes: [
        { name: 'os', level: 'RAID1', drives: [serials[0]!.sda, serials[0]!.sdb].sort(), capacityBytes: 8 * GiB },
      ],
    });

    // Node 2: refused, nothing wiped.
    expect(r2!.state).to.equal('error');
    expect(r2!.lastError).to.deep.include({ code: 'ERR_STATE_INVALID', kind: 'user' });
    expect(r2!.lastError?.message).to.match(/holds another configuration \(old RAID0 .*set raid\/force to true/);
    expect(JSON.parse(h.ssh(2, 'cat /etc/anneal-lab/raid.json').stdout).volumes[0].name).to.equal('old');
  });

  it('with raid/force, the lab driver wipes the old configuration and builds the plan', async () => {
    const { services } = h.anneal;
    await services.changes.setAttrib('node', h.nodes[1]!.id, 'raid/force', true, 'test');
    await h.converge();
    const [, r2] = await h.nodeRoles('raid-configure');
    expect(r2!.state, JSON.stringify(r2!.lastError)).to.equal('active');
    expect(r2!.wall).to.deep.include({ driver: 'lab', decision: 'wipe' });
    const state = JSON.parse(h.ssh(2, 'cat /etc/anneal-lab/raid.json').stdout) as { volumes: unknown[] };
    expect(state.volumes).to.deep.equal([
      { name: 'jbod-sda', level: 'JBOD', drives: [serials[1]!.sda], capacityBytes: 8 * GiB },
      { name: 'jbod-sdb', level: 'JBOD', drives: [serials[1]!.sdb], capacityBytes: 16 * GiB },
    ]);
  });

  it('a second run changes nothing: no attrib change, no dependent re-run, not re-applied, same controller state', async () => {
    const { store } = h.anneal;
    const raidBefore = await h.nodeRoles('raid-configure');
    const emuBefore = { text: readFileSync(storageFile(), 'utf8'), mtime: statSync(storageFile()).mtimeMs };
    const labBefore = h.ssh(2, 'stat -c %Y:%s /etc/anneal-lab/raid.json; cat /etc/anneal-lab/raid.json').stdout;

    // inventory again on both nodes: same disks, so inventory/disks does not change and raid-configure
    // (which wants it) is not re-run.
    const inv = await h.nodeRoles('inventory');
    await store.nodeRoles.bump(
      inv.map((n) => n.id),
      Date.now(),
    );
    await h.converge();
    const raidMid = await h.nodeRoles('raid-configure');
    expect(raidMid.map((n) => n.generation)).to.deep.equal(raidBefore.map((n) => n.generation));
    for (const nr of await h.nodeRoles('inventory')) {
      expect((await store.runs.list({ nodeRoleId: nr.id })).filter((r) => r.status === 'succeeded')).to.have.length(2);
    }

    // raid-configure itself asked to run again: destructive, so it is not re-applied.
    await store.nodeRoles.bump(
      raidBefore.map((n) => n.id),
      Date.now(),
    );
    await h.converge();
    for (const nr of await h.nodeRoles('raid-configure')) {
      expect(nr.state).to.equal('active');
      const runs = await store.runs.list({ nodeRoleId: nr.id });
      expect(runs[runs.length - 1]!.stdoutTail).to.equal('destructive role already ran; not run again');
    }
    expect(readFileSync(storageFile(), 'utf8')).to.equal(emuBefore.text);
    expect(statSync(storageFile()).mtimeMs).to.equal(emuBefore.mtime);
    expect(h.ssh(2, 'stat -c %Y:%s /etc/anneal-lab/raid.json; cat /etc/anneal-lab/raid.json').stdout).to.equal(
      labBefore,
    );
  });

  it('the check reads the volumes back: passes, then fails with the remediation once they are gone', async () => {
    const { services } = h.anneal;
    for (const n of h.lab.nodes) {
      const ok = await services.checks.forNode(n.name);
      const c = ok.checks.find((x) => x.role === 'raid-configure')!;
      expect(c, JSON.stringify(ok)).to.include({ ok: true, name: 'RAID volumes match the plan' });
    }
    // Someone resets node 1's controller through its BMC, and empties node 2's.
    const reset = await h.redfish(1, 'POST', '/redfish/v1/Systems/1/Storage/1/Actions/Storage.ResetToDefaults', {
      ResetType: 'ResetAll',
    });
    expect(reset.status).to.equal(204);
    expect(h.ssh(2, `echo '{"volumes":[]}' >/etc/anneal-lab/raid.json`).status).to.equal(0);
    for (const [i, n] of h.lab.nodes.entries()) {
      const bad = await services.checks.forNode(n.name);
      const c = bad.checks.find((x) => x.role === 'raid-configure')!;
      expect(c).to.include({ ok: false });
      expect(c.detail).to.equal(
        i === 0
          ? 'redfish controller: volume os: missing'
          : 'lab controller: volume jbod-sda: missing; volume jbod-sdb: missing',
      );
      expect(c.remediation).to.match(/set raid\/force to true on the node and re-run raid-configure/);
    }
  });
});
