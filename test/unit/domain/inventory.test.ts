import { expect } from 'chai';
import { chunkedOutput, inventoryDrift, parseInventory, unmetExpectations } from '../../../core/domain/inventory';

const T = '\t';
const base = [
  '@cpu',
  `model${T}Intel(R) Xeon(R)   Gold 6130`,
  `threads${T}64`,
  `cores${T}32`,
  `sockets${T}2`,
  '@mem',
  `kb${T}263850144`,
  '@disk',
  `sdb${T}7814037168${T}ST4000NM0035${T}ZC1ABCD${T}1`,
  `sda${T}937703088${T}INTEL SSDSC2KB48${T}BTYF1234${T}0`,
  `sdc${T}0${T}empty${T}${T}1`,
  '@nic',
  '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00',
  '2: eno1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP mode DEFAULT group default qlen 1000\\    link/ether 3C:FD:FE:00:00:01 brd ff:ff:ff:ff:ff:ff',
  '3: eno2@if9: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000\\    link/ether 3c:fd:fe:00:00:02 brd ff:ff:ff:ff:ff:ff',
  '@nicsys',
  `eno1${T}3c:fd:fe:00:00:01${T}10000${T}up${T}1`,
  `eno2${T}aa:aa:aa:aa:aa:aa${T}1000${T}down${T}0`,
  '@dmi',
  `sys_vendor${T}Dell Inc.`,
  `product_serial${T}ABC1234`,
  '@lldp',
  'lldp.eno1.chassis.mac=00:11:22:33:44:55',
  'lldp.eno1.chassis.name=tor-1',
  'lldp.eno1.port.ifname=Ethernet12',
  'lldp.eno1.port.descr=server 7',
  '@lab',
  '@end',
];

describe('inventory: parsing the gather script output', () => {
  it('parses a server from /proc, /sys and netlink, sorted and normalized', () => {
    const inv = parseInventory(base.join('\n'));
    expect(inv.cpu).to.deep.equal({ model: 'Intel(R) Xeon(R) Gold 6130', sockets: 2, cores: 32, threads: 64 });
    expect(inv.memoryMb).to.equal(Math.floor(263850144 / 1024));
    expect(inv.disks).to.deep.equal([
      { name: 'sda', sizeBytes: 937703088 * 512, model: 'INTEL SSDSC2KB48', serial: 'BTYF1234', rotational: false },
      { name: 'sdb', sizeBytes: 7814037168 * 512, model: 'ST4000NM0035', serial: 'ZC1ABCD', rotational: true },
    ]);
    // eno2's /sys entry has another MAC (another namespace's device): no speed from it.
    expect(inv.nics).to.deep.equal([
      { name: 'eno1', mac: '3c:fd:fe:00:00:01', link: 'up', speedMbps: 10000 },
      { name: 'eno2', mac: '3c:fd:fe:00:00:02', link: 'down', speedMbps: null },
    ]);
    expect(inv.dmi).to.deep.equal({ product_serial: 'ABC1234', sys_vendor: 'Dell Inc.' });
    expect(inv.lldp).to.deep.equal([
      {
        interface: 'eno1',
        chassisName: 'tor-1',
        chassisId: '00:11:22:33:44:55',
        portId: 'Ethernet12',
        portDescription: 'server 7',
      },
    ]);
    expect(inv.source).to.equal('sysfs');
  });

  it("merges the lab's hardware file: its disks and system replace the host's /sys ones", () => {
    const lab = {
      system: { manufacturer: 'anneal', product: 'anneal-lab-node', serial: 'SYS1' },
      disks: [
        { name: 'sdb', path: '/srv/lab-disks/sdb.img', sizeBytes: 16, serial: 'S2', model: 'ANNEAL LAB DISK' },
        { name: 'sda', path: '/srv/lab-disks/sda.img', sizeBytes: 8, serial: 'S1', model: 'ANNEAL LAB DISK' },
      ],
    };
    const text = base.join('\n').replace('@lab\n', `@lab\n${JSON.stringify(lab, null, 2).replace(/\n/g, ' ')}\n`);
    const inv = parseInventory(text);
    expect(inv.source).to.equal('lab');
    expect(inv.disks.map((d) => [d.name, d.sizeBytes, d.serial, d.rotational])).to.deep.equal([
      ['sda', 8, 'S1', null],
      ['sdb', 16, 'S2', null],
    ]);
    expect(inv.dmi).to.deep.equal({ product_name: 'anneal-lab-node', product_serial: 'SYS1', sys_vendor: 'anneal' });
  });

  it('falls back to /sys/class/net without ip, and to threads for cores', () => {
    const text = [
      '@cpu',
      `model${T}x`,
      `threads${T}4`,
      `cores${T}0`,
      '@mem',
      `kb${T}2048`,
      '@nicsys',
      `eth0${T}52:54:00:00:00:01${T}-1${T}up${T}1`,
      '@end',
    ].join('\n');
    const inv = parseInventory(text);
    expect(inv.cpu).to.deep.equal({ model: 'x', sockets: 1, cores: 4, threads: 4 });
    expect(inv.nics).to.deep.equal([{ name: 'eth0', mac: '52:54:00:00:00:01', link: 'up', speedMbps: null }]);
    expect(inv.disks).to.deep.equal([]);
  });

  it('refuses truncated output and bad lab JSON; recognizes a chunked answer', () => {
    expect(() => parseInventory(base.slice(0, -1).join('\n'))).to.throw(/no @end/);
    expect(() => parseInventory('…' + base.slice(5).join('\n'))).to.throw(/no @cpu or @mem/);
    expect(() => parseInventory(base.join('\n').replace('@lab\n', '@lab\n{oops\n'))).to.throw(/not valid JSON/);
    expect(chunkedOutput(`@chunked${T}9000${T}/run/anneal-inventory.Ab12\n`)).to.deep.equal({
      chunked: true,
      size: 9000,
      path: '/run/anneal-inventory.Ab12',
    });
    expect(chunkedOutput(base.join('\n'))).to.equal(null);
  });

  it('names each drifted field', () => {
    const a = parseInventory(base.join('\n'));
    const b = { ...a, memoryMb: 1, disks: a.disks.slice(1) };
    expect(inventoryDrift(a, a)).to.deep.equal([]);
    expect(inventoryDrift(a, b).map((l) => l.split(':')[0])).to.deep.equal(['memory-mb', 'disks']);
  });
});

describe('unmetExpectations', () => {
  const gib = 1024 ** 3;
  const inv = {
    cpu: { model: 'x', sockets: 1, cores: 2, threads: 4 },
    memoryMb: 8000,
    disks: [
      { name: 'sda', sizeBytes: 8 * gib, model: 'm', serial: 's1', rotational: null },
      { name: 'sdb', sizeBytes: 16 * gib, model: 'm', serial: 's2', rotational: null },
    ],
    nics: [{ name: 'eth0', mac: '52:54:00:00:00:01', link: 'up' as const, speedMbps: null }],
    dmi: {},
    lldp: [],
    source: 'lab' as const,
  };

  it('meets no expectations trivially, and names every unmet one with what the node has', () => {
    expect(unmetExpectations(inv, {})).to.deep.equal([]);
    expect(unmetExpectations(inv, { minThreads: 4, minMemoryMb: 8000, minDisks: 2, minNics: 1 })).to.deep.equal([]);
    expect(
      unmetExpectations(inv, { minThreads: 8, minMemoryMb: 16000, minDisks: 2, minDiskGib: 10, minNics: 2 }),
    ).to.deep.equal([
      '4 CPU thread(s), expected at least 8',
      '8000 MB of memory, expected at least 16000',
      '1 disk(s) of at least 10 GiB, expected at least 2',
      '1 NIC(s), expected at least 2',
    ]);
    expect(unmetExpectations(inv, { minDiskGib: 32 })).to.deep.equal([
      '0 disk(s) of at least 32 GiB, expected at least 1',
    ]);
  });
});
