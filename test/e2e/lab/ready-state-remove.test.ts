/**
 * Teardown of the ready-node roles on lab nodes (DESIGN §7b; docs/barclamps.md "What removing a role
 * undoes"): ssh-access, ssh-known-hosts, ntp-client, dns-client, proxy-client and network-config are
 * applied to 2 nodes, then each role's `remove` runs on each node, children first, with the context the
 * annealer builds. Afterwards every file those roles touch is as it was before the first apply (content,
 * mode, owner, mtime, or absent), the hostname and eth1's link and addresses are as before, the chronyd
 * ntp-client started is gone and no undo record is left; a second remove changes nothing. The service
 * roles' removes stop their daemons, wait for them and delete their directories.
 */
import { expect } from 'chai';
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { processesUsing } from '../../../core/services/service-daemons';
import { DEPLOYMENT, readyLab, requireReadyLab, type ReadyLab } from '../../helpers/ready-lab';

/** What the roles write on a node, and what their daemons write. */
const PATHS = [
  '/etc/chrony/chrony.conf',
  '/etc/default/chrony',
  '/var/lib/chrony',
  '/var/lib/chrony/chrony.drift',
  '/var/log/chrony/chronyd.log',
  '/run/chrony',
  '/etc/resolv.conf',
  '/etc/systemd/resolved.conf.d/anneal.conf',
  '/etc/profile.d/anneal-proxy.sh',
  '/etc/apt/apt.conf.d/80anneal-proxy',
  '/root/.ssh',
  '/root/.ssh/authorized_keys',
  '/etc/ssh/ssh_known_hosts',
  '/etc/hostname',
  '/etc/hosts',
  '/etc/network/interfaces.d',
  '/etc/network/interfaces.d/eth1',
  '/etc/netplan/60-anneal-eth1.yaml',
  '/var/lib/anneal',
];
/** Children first: a role's remove runs after every role that requires it is gone. */
const REMOVE_ORDER = ['network-config', 'proxy-client', 'dns-client', 'ntp-client', 'ssh-known-hosts', 'ssh-access'];

/** One line per path (link target; or mode, owner, and for a file mtime and content hash; or absent). */
const SNAPSHOT = `
for p in ${PATHS.join(' ')}; do
  if [ -L "$p" ]; then echo "$p link $(readlink "$p")"
  elif [ -d "$p" ]; then echo "$p dir $(stat -c '%a %U:%G' "$p")"
  elif [ -e "$p" ]; then echo "$p file $(stat -c '%a %U:%G %Y' "$p") $(sha256sum <"$p" | cut -c1-16)"
  else echo "$p absent"; fi
done
echo "hostname $(hostname)"
echo "eth1 $(ip -o link show dev eth1 | grep -o '<[^>]*>') $(ip -4 -o addr show dev eth1 | awk '{print $4}' | tr '\\n' ' ')"
echo "chronyd $(cat /run/chrony/chronyd.pid 2>/dev/null || echo none)"
`;

describe('e2e: removing the ready-node roles restores the lab nodes', function () {
  this.timeout(600_000);
  let t: ReadyLab;
  const initial = new Map<string, string>();

  const snapshot = (ip: string) => t.sh(ip, SNAPSHOT);

  before(async function () {
    requireReadyLab(this, ['chronyd', 'chronyc', 'dnsmasq', 'tinyproxy', 'ip', 'hostname']);
    t = await readyLab({
      prefix: 'rm',
      nodes: 2,
      attribs: { 'ntp/set-clock': false, 'ntp/allow': ['10.231.0.0/24'], 'dns/domain': 'lab' },
      bind: ['ssh-access', 'ssh-known-hosts', 'ntp-client', 'dns-client', 'proxy-client', 'network-config'],
    });
    const ipam = t.anneal.services.networks;
    await ipam.createNetwork(
      { name: 'admin', deployment: DEPLOYMENT, cidr: '10.231.0.0/24', category: 'admin', interface: 'eth0' },
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
    // An address eth1 had before anneal: network-config removes it, its remove puts it back.
    for (const n of t.lab.nodes) t.sh(n.ip, 'ip addr add 192.168.77.1/24 dev eth1');
    for (const n of t.lab.nodes) initial.set(n.ip, snapshot(n.ip));
  });

  after(async () => {
    await t?.close();
  });

  it('applies every role: the files change, chronyd runs, eth1 has its allocation', async () => {
    await t.converge();
    for (const n of t.lab.nodes) {
      const now = snapshot(n.ip);
      expect(now).to.not.equal(initial.get(n.ip));
      expect(now).to.match(/^chronyd \d+$/m);
      expect(now).to.match(/^eth1 <[^>]*UP[^>]*> 192\.168\.50\.\d+\/24 $/m);
      expect(now).to.match(/^\/var\/lib\/anneal dir 755 root:root$/m);
      expect(t.sh(n.ip, 'cat /etc/resolv.conf')).to.include('nameserver 10.231.0.1');
    }
  });

  it('remove on every node, children first, leaves each node as it was before the first apply', async () => {
    const chronyd = new Map<string, string>();
    for (const n of t.lab.nodes) chronyd.set(n.ip, /^chronyd (\d+)$/m.exec(snapshot(n.ip))![1]!);
    for (const role of REMOVE_ORDER) {
      for (const n of t.lab.nodes) {
        const out = await t.removeOn(role, n.name);
        expect(out, `${role} on ${n.name}`).to.not.match(/nothing to undo/);
      }
    }
    for (const n of t.lab.nodes) {
      expect(snapshot(n.ip)).to.equal(initial.get(n.ip));
      // The nodes share the host's pid namespace: the chronyd ntp-client started is gone.
      expect(existsSync(`/proc/${chronyd.get(n.ip)}`), `chronyd ${chronyd.get(n.ip)}`).to.equal(false);
    }
  });

  it('a second remove changes nothing and says there is nothing to undo', async () => {
    for (const role of REMOVE_ORDER) {
      for (const n of t.lab.nodes) {
        expect(await t.removeOn(role, n.name)).to.match(/^nothing to undo: no record of /);
      }
    }
    for (const n of t.lab.nodes) expect(snapshot(n.ip)).to.equal(initial.get(n.ip));
  });

  it('the services remove stops each daemon, waits for it and deletes its files; twice is harmless', async () => {
    for (const [role, daemon] of [
      ['ntp-service', 'chrony'],
      ['dns-service', 'dnsmasq'],
      ['proxy-service', 'tinyproxy'],
    ] as const) {
      const dir = realpathSync(path.join(t.serviceDir, daemon));
      expect(processesUsing([dir]), `${daemon} runs`).to.have.length.greaterThan(0);
      expect(await t.remove(role)).to.match(new RegExp(`^stopped \\S+ \\d+.*\\nremoved: ${dir}\\n$`));
      expect(processesUsing([dir])).to.deep.equal([]);
      expect(existsSync(dir)).to.equal(false);
      expect(await t.remove(role)).to.match(/^not running: /);
    }
  });
});
