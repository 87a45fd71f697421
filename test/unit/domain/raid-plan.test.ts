import { expect } from 'chai';
import {
  planRaid,
  raidDecision,
  volumeCapacity,
  volumeDiff,
  type PlanDisk,
  type Volume,
} from '../../../core/domain/raid-plan';

const G = 1024 ** 3;
const disk = (name: string, gib: number, serial = `S-${name}`): PlanDisk => ({ name, sizeBytes: gib * G, serial });

describe('raid plan: volumes from inventory disks and raid attribs', () => {
  it('mirrors the two largest disks for the OS and passes the rest through (the default)', () => {
    const p = planRaid([disk('sda', 480), disk('sdb', 4000), disk('sdc', 4000), disk('sdd', 960)], {
      osLevel: 'raid1',
      data: 'jbod',
    });
    expect(p).to.deep.equal({
      ok: true,
      volumes: [
        { name: 'os', level: 'RAID1', drives: ['S-sdb', 'S-sdc'], capacityBytes: 4000 * G },
        { name: 'jbod-sda', level: 'JBOD', drives: ['S-sda'], capacityBytes: 480 * G },
        { name: 'jbod-sdd', level: 'JBOD', drives: ['S-sdd'], capacityBytes: 960 * G },
      ],
    });
  });

  it('odd sizes: a mirror is as large as its smallest member; the lab node (8 + 16 GiB)', () => {
    const p = planRaid([disk('sda', 8), disk('sdb', 16)], { osLevel: 'raid1', data: 'jbod' });
    expect(p).to.deep.equal({
      ok: true,
      volumes: [{ name: 'os', level: 'RAID1', drives: ['S-sda', 'S-sdb'], capacityBytes: 8 * G }],
    });
    expect(volumeCapacity('RAID5', [3 * G, 4 * G, 5 * G])).to.equal(6 * G);
    expect(volumeCapacity('RAID6', [4 * G, 4 * G, 4 * G, 9 * G])).to.equal(8 * G);
    expect(volumeCapacity('RAID10', [2 * G, 2 * G, 3 * G, 3 * G])).to.equal(4 * G);
    expect(volumeCapacity('RAID0', [1 * G, 2 * G])).to.equal(2 * G);
  });

  it('one disk: raid1 cannot be met (names raid/os-level); raid0 takes it; none leaves it to raid/data', () => {
    const one = [disk('sda', 100)];
    expect(planRaid(one, { osLevel: 'raid1', data: 'jbod' })).to.deep.include({ ok: false, field: 'raid/os-level' });
    expect(planRaid(one, { osLevel: 'raid0', data: 'jbod' })).to.deep.equal({
      ok: true,
      volumes: [{ name: 'os', level: 'RAID0', drives: ['S-sda'], capacityBytes: 100 * G }],
    });
    expect(planRaid(one, { osLevel: 'none', data: 'jbod' })).to.deep.equal({
      ok: true,
      volumes: [{ name: 'jbod-sda', level: 'JBOD', drives: ['S-sda'], capacityBytes: 100 * G }],
    });
  });

  it('no disks: nothing to plan unless an OS volume is asked for', () => {
    expect(planRaid([], { osLevel: 'none', data: 'raid5' })).to.deep.equal({ ok: true, volumes: [] });
    const r = planRaid([], { osLevel: 'raid1', data: 'jbod' });
    expect(r).to.deep.include({ ok: false, field: 'raid/os-level' });
    expect(r.ok ? '' : r.message).to.match(/needs 2 disks and the node has 0/);
  });

  it('data levels check their member counts and name raid/data', () => {
    const five = ['a', 'b', 'c', 'd', 'e'].map((n, i) => disk(`sd${n}`, 100 + i));
    expect(planRaid(five, { osLevel: 'raid1', data: 'raid5' })).to.deep.equal({
      ok: true,
      volumes: [
        { name: 'os', level: 'RAID1', drives: ['S-sdd', 'S-sde'], capacityBytes: 103 * G },
        { name: 'data', level: 'RAID5', drives: ['S-sda', 'S-sdb', 'S-sdc'], capacityBytes: 200 * G },
      ],
    });
    const bad = planRaid(five, { osLevel: 'raid1', data: 'raid6' });
    expect(bad).to.deep.include({ ok: false, field: 'raid/data' });
    expect(bad.ok ? '' : bad.message).to.match(/RAID6 needs at least 4 disk\(s\), got 3/);
    expect(planRaid(five, { osLevel: 'none', data: 'raid10' })).to.deep.include({ ok: false, field: 'raid/data' });
    expect(planRaid(five.slice(0, 4), { osLevel: 'none', data: 'raid10' })).to.deep.include({ ok: true });
    expect(planRaid(five, { osLevel: 'raid1', data: 'raid1' })).to.deep.include({ ok: false, field: 'raid/data' });
    expect(planRaid(five, { osLevel: 'raid1', data: 'none' })).to.deep.equal({
      ok: true,
      volumes: [{ name: 'os', level: 'RAID1', drives: ['S-sdd', 'S-sde'], capacityBytes: 103 * G }],
    });
  });

  it('ties are broken by serial, disks without a serial are known by name, duplicate ids are refused', () => {
    const p = planRaid([disk('sdb', 10, 'B'), disk('sda', 10, 'A'), disk('sdc', 10, '')], {
      osLevel: 'raid1',
      data: 'jbod',
    });
    expect(p).to.deep.equal({
      ok: true,
      volumes: [
        { name: 'os', level: 'RAID1', drives: ['A', 'B'], capacityBytes: 10 * G },
        { name: 'jbod-sdc', level: 'JBOD', drives: ['sdc'], capacityBytes: 10 * G },
      ],
    });
    expect(planRaid([disk('sda', 1, 'X'), disk('sdb', 1, 'X')], { osLevel: 'none', data: 'jbod' })).to.deep.include({
      ok: false,
      field: 'inventory/disks',
    });
  });
});

describe('raid plan: comparing and deciding', () => {
  const os: Volume = { name: 'os', level: 'RAID1', drives: ['A', 'B'], capacityBytes: 8 };
  it('names the volume and field that differ', () => {
    expect(volumeDiff([os], [os])).to.deep.equal([]);
    expect(volumeDiff([os], [{ ...os, level: 'RAID0', drives: ['B', 'A'] }])).to.deep.equal([
      'volume os level: want RAID1, got RAID0',
    ]);
    expect(volumeDiff([os], [{ ...os, drives: ['A'], capacityBytes: 4 }])).to.deep.equal([
      'volume os drives: want A,B, got A',
      'volume os capacityBytes: want 8, got 4',
    ]);
    expect(volumeDiff([os], [])).to.deep.equal(['volume os: missing']);
    expect(volumeDiff([], [os])).to.deep.equal(['volume os: not planned']);
  });
  it('leaves a controller that holds the plan alone, fills an empty one, refuses to wipe another config unless forced', () => {
    const other: Volume = { name: 'old', level: 'RAID0', drives: ['A'], capacityBytes: 8 };
    expect(raidDecision([os], [os], false)).to.equal('nothing');
    expect(raidDecision([os], [], false)).to.equal('create');
    expect(raidDecision([os], [other], false)).to.equal('refuse');
    expect(raidDecision([os], [other], true)).to.equal('wipe');
    expect(raidDecision([], [], false)).to.equal('nothing');
  });
});
