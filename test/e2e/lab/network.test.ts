/**
 * Acceptance (ready-state issue, network): network-config bound on 3 lab nodes, with IPAM holding the
 * lab's admin network 10.231.0.0/24 (each node's current address recorded exactly) and a storage network
 * 192.168.50.0/24 on eth1 (addresses from a range). Each node gets its short hostname (hostname -f is its
 * FQDN), an /etc/hosts with every node, /etc/network/interfaces.d/eth1 and its storage address live on
 * eth1 (a dummy interface in the node's own namespace); eth0, the management link, is left alone. A
 * second converge changes nothing (checksums, mtimes, addresses). Checks pass, fail with remediation
 * once hostname, /etc/hosts and eth1 are broken, and pass after a re-run. An allocation on the
 * management interface is refused.
 */
import { expect } from 'chai';
import { readyLab, requireReadyLab, DEPLOYMENT, type ReadyLab } from '../../helpers/ready-lab';

describe('e2e: network barclamp on lab nodes', function () {
  this.timeout(400_000);
  let t: ReadyLab;
  const storage = (i: number) => `192.168.50.${10 + i}`;

  before(async function () {
    requireReadyLab(this, ['ip', 'hostname']);
    t = await readyLab({ prefix: 'net', nodes: 3, attribs: {}, bind: ['network-config'] });
    const ipam = t.anneal.services.networks;
    await ipam.createNetwork(
      {
        name: 'admin',
        deployment: DEPLOYMENT,
        cidr: '10.231.0.0/24',
        gateway: '10.231.0.1',
        category: 'admin',
        interface: 'eth0',
      },
      'test',
    );
    await ipam.createNetwork(
      { name: 'storage', deployment: DEPLOYMENT, cidr: '192.168.50.0/24', category: 'storage', interface: 'eth1' },
      'test',
    );
    await ipam.createRange('storage', { name: 'nodes', first: '192.168.50.10', last: '192.168.50.20' }, 'test');
    for (const n of t.lab.nodes) {
      await ipam.allocate('admin', { node: n.name, address: n.ip }, 'test');
      await ipam.allocate('storage', { node: n.name, range: 'nodes' }, 'test');
    }
  });

  after(async () => {
    await t?.close();
  });

  const short = (name: string) => name.split('.')[0]!;

  /** What a second run must leave alone: checksums and mtimes of the files, hostname, eth0 and eth1. */
  function nodeState(ip: string): string {
    return t.sh(
      ip,
      [
        'for f in /etc/hostname /etc/hosts /etc/network/interfaces.d/eth1; do echo "$(sha256sum <"$f" | cut -c1-16) $(stat -c %Y "$f") $f"; done',
        'echo "hostname $(hostname) $(hostname -f)"',
        "ip -4 -o addr show dev eth0 | awk '{ print $2, $4 }'",
        "ip -4 -o addr show dev eth1 | awk '{ print $2, $4 }'",
        'ip -o link show dev eth1 | grep -o "<[^>]*>"',
      ].join('\n'),
    );
  }

  it('converges: hostname, /etc/hosts, eth1 from IPAM (file and live), eth0 untouched; a second run changes nothing', async () => {
    const eth0Before = t.lab.nodes.map((n) => t.sh(n.ip, 'ip -4 -o addr show dev eth0; ip route show default'));
    const ms = await t.converge();
    console.log(`    first converge: ${ms} ms`);
    const hosts =
      '# Managed by anneal (network-config): every node of the deployment; local edits are overwritten.\n' +
      '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n' +
      t.lab.nodes.map((n) => `${n.ip} ${n.name} ${short(n.name)}\n`).join('');
    for (const [i, n] of t.lab.nodes.entries()) {
      expect(t.sh(n.ip, 'hostname; hostname -f; cat /etc/hostname')).to.equal(
        `${short(n.name)}\n${n.name}\n${short(n.name)}\n`,
      );
      expect(t.sh(n.ip, 'cat /etc/hosts')).to.equal(hosts);
      expect(t.sh(n.ip, 'cat /etc/network/interfaces.d/eth1')).to.equal(
        '# Managed by anneal (network-config): network storage; local edits are overwritten.\n' +
          `auto eth1\niface eth1 inet static\n    address ${storage(i)}/24\n`,
      );
      expect(t.sh(n.ip, 'ls /etc/network/interfaces.d')).to.equal('eth1\n');
      expect(t.sh(n.ip, "ip -4 -o addr show dev eth1 | awk '{ print $4 }'")).to.equal(`${storage(i)}/24\n`);
      expect(t.sh(n.ip, 'ip -o link show dev eth1')).to.match(/<[^>]*\bUP\b[^>]*>/);
      // The address is the node's own (its namespace's local table), and names resolve through /etc/hosts.
      expect(t.sh(n.ip, `ip route get ${storage(i)}`)).to.match(
        new RegExp(`^local ${storage(i).replaceAll('.', '\\.')} dev lo `),
      );
      const other = t.lab.nodes[(i + 1) % 3]!;
      expect(t.sh(n.ip, `getent hosts ${short(other.name)}`).replace(/\s+/g, ' ')).to.equal(
        `${other.ip} ${other.name} ${short(other.name)} `,
      );
      expect(t.sh(n.ip, 'ip -4 -o addr show dev eth0; ip route show default')).to.equal(eth0Before[i]);
    }
    const allocations = await t.anneal.services.networks.listAllocations('storage');
    expect(allocations.map((a) => `${a.node} ${a.address}`)).to.deep.equal(
      t.lab.nodes.map((n, i) => `${n.name} ${storage(i)}`),
    );

    const before = t.lab.nodes.map((n) => nodeState(n.ip));
    const nrs = await t.nodeRoles();
    const ms2 = await t.rerun(nrs.map((n) => n.id));
    console.log(`    second converge (bumped ${nrs.length} node-roles): ${ms2} ms`);
    for (const nr of nrs) {
      const ok = (await t.runs(nr.id)).filter((r) => r.status === 'succeeded');
      expect(ok.length, `${nr.role} on ${nr.node} ran twice`).to.equal(2);
      expect(ok[1]!.stdoutTail).to.match(/^unchanged: eth1 192\.168\.50\.\d+\/24$/m);
      expect(ok[1]!.stdoutTail).to.not.match(/^(changed|removed)/m);
    }
    expect(t.lab.nodes.map((n) => nodeState(n.ip))).to.deep.equal(before);
  });

  it('checks pass, fail with the remediation once hostname, /etc/hosts and eth1 are broken, and pass after a re-run', async () => {
    const { services } = t.anneal;
    const n2 = t.lab.nodes[1]!;
    const n3 = t.lab.nodes[2]!;
    const ok = await services.checks.forNode(n2.name);
    expect(ok, JSON.stringify(ok.checks)).to.deep.include({ ok: true, failed: 0 });
    expect(ok.checks.map((c) => c.name)).to.deep.equal([
      `hostname is ${short(n2.name)}`,
      `hostname -f is ${n2.name}`,
      '/etc/hosts lists every node of the deployment (3)',
      `eth1 has ${storage(1)}/24 (network storage)`,
    ]);

    t.sh(n2.ip, `hostname broken; sed -i '/ ${n3.name} /d' /etc/hosts; ip addr flush dev eth1`);
    const bad = await services.checks.forNode(n2.name);
    expect(bad).to.deep.include({ ok: false, passed: 0, failed: 4 });
    const rerun = `re-run the network-config node-role of ${n2.name}`;
    expect(bad.checks.map((c) => [c.detail, c.remediation])).to.deep.equal([
      ['hostname: broken', `${rerun} (it sets /etc/hostname and the running hostname)`],
      [bad.checks[1]!.detail, `${rerun} (/etc/hosts maps its address to ${n2.name} first)`],
      [
        `missing: ${n3.ip} ${n3.name}`,
        `${rerun} (it writes /etc/hosts from the deployment's nodes and IPAM allocations)`,
      ],
      [
        'eth1: no IPv4 address',
        `${rerun} (it brings eth1 up with its allocation); check that the node has the interface eth1`,
      ],
    ]);

    const mine = (await t.nodeRoles()).filter((nr) => nr.node === n2.name).map((nr) => nr.id);
    await t.rerun(mine);
    const last = (await t.runs(mine[0]!)).at(-1)!;
    expect(last.stdoutTail).to.include(`changed: hostname ${short(n2.name)}\n`);
    expect(last.stdoutTail).to.include('changed: /etc/hosts\n');
    expect(last.stdoutTail).to.include(`changed: eth1 ${storage(1)}/24\n`);
    expect(await services.checks.forNode(n2.name)).to.deep.include({ ok: true, failed: 0 });
  });

  it('refuses to reconfigure the management interface: an allocation on eth0 fails the run, eth0 keeps its address', async () => {
    const { services } = t.anneal;
    const n3 = t.lab.nodes[2]!;
    await services.networks.createNetwork(
      { name: 'oops', deployment: DEPLOYMENT, cidr: '10.231.0.0/24', category: 'general', interface: 'eth0' },
      'test',
    );
    await services.networks.allocate('oops', { node: n3.name, address: '10.231.0.99' }, 'test');
    const eth0 = t.sh(n3.ip, 'ip -4 -o addr show dev eth0; ls /etc/network/interfaces.d; hostname');
    const nr = (await t.nodeRoles()).find((x) => x.node === n3.name)!;
    const err = await t.rerun([nr.id]).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).to.match(/network-config on .* is error/);
    const last = (await t.runs(nr.id)).at(-1)!;
    expect(last.stderrTail).to.include(
      `network-config: eth0 carries the management address ${n3.ip}: network-config never reconfigures it`,
    );
    expect(t.sh(n3.ip, 'ip -4 -o addr show dev eth0; ls /etc/network/interfaces.d; hostname')).to.equal(eth0);
    expect(t.sh(n3.ip, 'ip -4 -o addr show dev eth0 | grep -c 10.231.0.99 || true')).to.equal('0\n');
  });
});
