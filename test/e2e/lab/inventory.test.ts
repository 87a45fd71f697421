/**
 * The `inventory` role on a real 2-node lab: the recorded attribs and facts are what the nodes really have
 * (their /etc/anneal-lab/hardware.json, /proc, netlink over ssh), a second run changes nothing, the check
 * passes, fails with the remediation once the hardware changes, and a re-run records the new hardware
 * (with an output long enough to be fetched in chunks).
 */
import { expect } from 'chai';
import type { Inventory } from '../../../core/domain/inventory';
import { hardwareLab, requireLab, type HardwareLab } from '../../helpers/hardware-lab';

describe('e2e: the inventory role on lab nodes', function () {
  this.timeout(300_000);
  let h: HardwareLab;

  before(async function () {
    requireLab(this);
    h = await hardwareLab('inv');
    const d = await h.anneal.store.deployments.get('lab');
    for (const n of h.nodes) await h.anneal.services.binding.bind(d.id, 'inventory', n.id);
  });

  after(async () => {
    await h?.close();
  });

  const attribsOf = (nodeId: number) => h.committedAttribs(nodeId);

  it('records what each node really has as node attribs and its inventory fact', async () => {
    await h.converge();
    const nrs = await h.nodeRoles('inventory');
    expect(nrs.map((n) => n.state)).to.deep.equal(['active', 'active']);
    for (const [i, n] of h.lab.nodes.entries()) {
      const index = i + 1;
      const node = await h.anneal.store.nodes.get(n.name);
      const a = await attribsOf(node.id);
      const hw = JSON.parse(h.ssh(index, 'cat /etc/anneal-lab/hardware.json').stdout) as {
        disks: { name: string; sizeBytes: number; serial: string; model: string }[];
        system: { manufacturer: string; product: string; serial: string };
      };
      expect(a['inventory/disks']).to.deep.equal(
        hw.disks.map((d) => ({
          name: d.name,
          sizeBytes: d.sizeBytes,
          model: d.model,
          serial: d.serial,
          rotational: null,
        })),
      );
      expect(hw.disks.map((d) => d.sizeBytes)).to.deep.equal([8 * 1024 ** 3, 16 * 1024 ** 3]);
      const memKb = Number(/MemTotal:\s+(\d+)/.exec(h.ssh(index, 'cat /proc/meminfo').stdout)![1]);
      expect(a['inventory/memory-mb']).to.equal(Math.floor(memKb / 1024));
      const threads = Number(h.ssh(index, 'grep -c ^processor /proc/cpuinfo').stdout.trim());
      expect((a['inventory/cpu'] as Inventory['cpu']).threads).to.equal(threads);
      const model = /model name\s*:\s*(.*)/.exec(h.ssh(index, 'cat /proc/cpuinfo').stdout)?.[1]?.trim();
      expect((a['inventory/cpu'] as Inventory['cpu']).model).to.equal(model?.replace(/\s+/g, ' '));
      // NICs as the node's own network namespace has them (not the host's /sys/class/net).
      const links = h.ssh(index, 'ip -o link show').stdout;
      const nics = a['inventory/nics'] as Inventory['nics'];
      expect(nics.map((x) => [x.name, x.mac])).to.deep.equal([
        ['eth0', n.macs[0]],
        ['eth1', n.macs[1]],
      ]);
      expect(links).to.include(n.macs[0]).and.include(n.macs[1]);
      expect(nics[0]!.link).to.equal('up');
      expect(a['inventory/dmi']).to.deep.equal({
        product_name: hw.system.product,
        product_serial: hw.system.serial,
        sys_vendor: hw.system.manufacturer,
      });
      const hasLldp = h.ssh(index, 'command -v lldpctl').status === 0;
      if (!hasLldp) expect(a['inventory/lldp']).to.deep.equal([]);
      // Shown on the node (GET /nodes/:ref returns these facts).
      const fact = node.facts.inventory as Inventory;
      expect(fact).to.deep.include({ source: 'lab', memoryMb: a['inventory/memory-mb'], disks: a['inventory/disks'] });
      expect(fact.nics).to.deep.equal(nics);
    }
  });

  it('a second run with the same hardware changes no attrib, no fact and re-runs nothing', async () => {
    const { store } = h.anneal;
    const before = await Promise.all(
      h.nodes.map(async (n) => ({ a: await attribsOf(n.id), node: await store.nodes.get(n.id) })),
    );
    const nrs = await h.nodeRoles('inventory');
    await store.nodeRoles.bump(
      nrs.map((n) => n.id),
      Date.now(),
    );
    await h.converge();
    const after = await h.nodeRoles('inventory');
    for (const [i, nr] of after.entries()) {
      expect(nr.state).to.equal('active');
      expect(nr.generation).to.equal(nrs[i]!.generation + 1);
      const runs = (await store.runs.list({ nodeRoleId: nr.id })).filter((r) => r.status === 'succeeded');
      expect(runs).to.have.length(2);
      const node = await store.nodes.get(h.nodes[i]!.id);
      expect(await attribsOf(node.id)).to.deep.equal(before[i]!.a);
      expect(node.facts).to.deep.equal(before[i]!.node.facts);
      // recordFacts wrote nothing: the node record is untouched.
      expect(node.updatedAt).to.equal(before[i]!.node.updatedAt);
    }
  });

  it('the check passes, fails with the remediation when the hardware changes, and a re-run records the change', async () => {
    const { services, store } = h.anneal;
    const n1 = h.lab.nodes[0]!;
    const ok = await services.checks.forNode(n1.name);
    expect(ok, JSON.stringify(ok)).to.deep.include({ ok: true, failed: 0 });
    expect(ok.checks.map((c) => c.name)).to.include('inventory matches the node');

    // The lab's virtual hardware grows: 60 more disks (long enough for the chunked fetch).
    const hw = JSON.parse(h.ssh(1, 'cat /etc/anneal-lab/hardware.json').stdout) as { disks: unknown[] };
    for (let i = 0; i < 60; i++) {
      const name = `vd${String(i).padStart(2, '0')}`;
      hw.disks.push({
        name,
        path: '/dev/null',
        sizeBytes: (i + 1) * 1e9,
        serial: `GROWN-${i}`,
        model: 'ANNEAL LAB DISK',
      });
    }
    const grew = h.ssh(
      1,
      'cp /etc/anneal-lab/hardware.json /root/hardware.json.orig && cat >/etc/anneal-lab/hardware.json',
      JSON.stringify(hw, null, 2),
    );
    expect(grew.status, grew.stderr).to.equal(0);
    const bad = await services.checks.forNode(n1.name);
    const drift = bad.checks.find((c) => c.name === 'inventory matches the node')!;
    expect(drift).to.include({ ok: false });
    expect(drift.detail).to.match(/^disks: recorded /);
    expect(drift.remediation).to.match(/retry the inventory node-role/);

    const [nr] = await h.nodeRoles('inventory');
    await store.nodeRoles.bump([nr!.id], Date.now());
    await h.converge();
    const disks = (await attribsOf(h.nodes[0]!.id))['inventory/disks'] as Inventory['disks'];
    expect(disks).to.have.length(62);
    expect(disks.find((d) => d.name === 'vd59')).to.deep.include({ serial: 'GROWN-59', sizeBytes: 60e9 });
    expect((await services.checks.forNode(n1.name)).ok).to.equal(true);
    // The chunked output's file on the node was removed.
    expect(h.ssh(1, 'ls /run/anneal-inventory.* 2>/dev/null | wc -l').stdout.trim()).to.equal('0');

    expect(h.ssh(1, 'mv /root/hardware.json.orig /etc/anneal-lab/hardware.json').status).to.equal(0);
    await store.nodeRoles.bump([nr!.id], Date.now());
    await h.converge();
    expect(((await attribsOf(h.nodes[0]!.id))['inventory/disks'] as unknown[]).length).to.equal(2);
  });
});
