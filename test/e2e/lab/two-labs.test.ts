/**
 * Two sites on one host: `anneal lab up` (the CLI) brings up lab sitea on 10.233.0.0/24 and lab siteb on
 * 10.234.0.0/24 at the same time, in one state directory, with the default port scheme (each takes its own
 * free port block). Every node answers ssh on its own subnet's address with its own hostname, every BMC
 * answers IPMI and Redfish, the labs share no name, MAC or port and cannot reach each other's nodes, a fault
 * in one leaves the other alone, a third lab that would clash (subnet, name) is refused with nothing left
 * behind, and `lab down` of both leaves no namespace, link, rule, process or file.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { tcpReachable } from '../../../core/exec/probe';
import { labDown, labNodeCredentials, type LabNodeStatus, type LabStatus } from '../../../core/lab';
import { exec, requireLab, sshArgs } from '../../helpers/lab-e2e';

const repoRoot = path.resolve(__dirname, '../../..');

const SITES = [
  { name: 'sitea', subnet: '10.233.0.0/24', prefix: '10.233.0' },
  { name: 'siteb', subnet: '10.234.0.0/24', prefix: '10.234.0' },
] as const;

describe('e2e: two labs side by side on one host (sitea 10.233.0.0/24, siteb 10.234.0.0/24)', function () {
  this.timeout(180_000);
  let stateDir = '';
  const labs = new Map<string, LabStatus>();

  /** The CLI, on the test's state directory unless `args` names another. */
  const anneal = (...args: string[]) =>
    exec(path.join(repoRoot, 'bin/anneal'), args.includes('--state-dir') ? args : [...args, '--state-dir', stateDir]);
  const lab = (name: string) => labs.get(name)!;
  const allNodes = () => [...labs.values()].flatMap((l) => l.nodes.map((n) => ({ lab: l, node: n })));
  const ssh = (l: LabStatus, ip: string, command: string) =>
    exec('ssh', sshArgs(path.join(l.labDir, 'ssh', 'id_ed25519'), ip, command));
  const ipmi = async (l: LabStatus, n: LabNodeStatus, args: string[]) => {
    const c = await labNodeCredentials({ name: l.name, stateDir, node: n.index });
    const argv = ['-I', 'lanplus', '-C', '3', '-H', c.bmc.host, '-p', String(c.bmc.port), '-U', c.bmc.username];
    return exec('ipmitool', [...argv, '-E', ...args], { IPMI_PASSWORD: c.bmc.password });
  };
  /** Everything on the host that names lab `name` or lives under the state directory. */
  const leftovers = async (name: string) => ({
    namespaces: (await exec('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(`anl-${name}-`)),
    links: readdirSync('/sys/class/net').filter((l) => l === `anlbr-${name}` || l.startsWith(`anl${name}-`)),
    rules: (await exec('ip', ['rule', 'show'])).stdout.split('\n').filter((l) => l.includes(`anlbr-${name}`)),
    processes: (await exec('ps', ['-eo', 'pid=,args='])).stdout
      .split('\n')
      .filter((l) => l.includes(path.join(stateDir, name)) || l.includes(`anl-${name}-`) || l.includes(`.${name}.lab`)),
    mounts: readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .filter((l) => l.includes(path.join(stateDir, name))),
    files: [path.join(stateDir, name), path.join(stateDir, `.${name}.lock`), `/run/anneal-lab/labs/${name}`].filter(
      (f) => existsSync(f),
    ),
  });
  const nothing = { namespaces: [], links: [], rules: [], processes: [], mounts: [], files: [] };

  before(function () {
    requireLab(this, ['ssh']);
    stateDir = mkdtempSync('/tmp/anneal-lab-test-');
  });

  after(async () => {
    if (!stateDir) return;
    for (const s of [...SITES, { name: 'sitec' }]) await labDown({ name: s.name, stateDir }).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('brings both labs up at the same time, each on its own subnet and its own port block', async () => {
    for (const s of SITES) expect(await leftovers(s.name), `${s.name} before the test`).to.deep.equal(nothing);
    const ups = await Promise.all(
      SITES.map((s) => anneal('lab', 'up', '--name', s.name, '--nodes', '2', '--subnet', s.subnet, '--json')),
    );
    for (const [i, s] of SITES.entries()) {
      expect(ups[i]!.code, `${s.name}: ${ups[i]!.stderr}`).to.equal(0);
      const status = JSON.parse(ups[i]!.stdout) as LabStatus;
      labs.set(s.name, status);
      expect(status).to.include({ name: s.name, subnet: s.subnet, hostIp: `${s.prefix}.1`, bridge: `anlbr-${s.name}` });
      expect(status.nodes.map((n) => [n.name, n.ip, n.healthy, n.power])).to.deep.equal([
        [`n1.${s.name}.lab`, `${s.prefix}.11`, true, 'on'],
        [`n2.${s.name}.lab`, `${s.prefix}.12`, true, 'on'],
      ]);
      // The default port scheme: block k is BMC 9000+200k, Redfish 8000+200k.
      expect((status.bmcBasePort - 9000) % 200, 'BMC block').to.equal(0);
      expect(status.redfishBasePort - 8000).to.equal(status.bmcBasePort - 9000);
      for (const n of status.nodes) {
        expect(n.bmc).to.include({ host: '127.0.0.1', port: status.bmcBasePort + n.index, running: true });
        expect(n.redfish).to.include({ host: '127.0.0.1', port: status.redfishBasePort + n.index, running: true });
      }
    }
    for (const s of SITES) {
      const addr = await exec('ip', ['-4', '-o', 'addr', 'show', 'dev', `anlbr-${s.name}`]);
      expect(addr.stdout.match(/inet (\S+)/g)).to.deep.equal([`inet ${s.prefix}.1/24`]);
    }
  });

  it('each node answers ssh on its own subnet address with its own hostname and route', async () => {
    for (const { lab: l, node: n } of allNodes()) {
      const r = await ssh(l, n.ip, 'hostname; ip -4 -o addr show dev eth0; ip route show default');
      expect(r.code, `${n.name}: ${r.stderr}`).to.equal(0);
      const [hostname, addr, route] = r.stdout.trim().split('\n');
      expect(hostname).to.equal(n.name);
      expect(addr).to.include(`inet ${n.ip}/24`);
      expect(route).to.include(`default via ${l.hostIp} dev eth0`);
      // The same, straight inside the node's network namespace (no ssh).
      const inside = await exec('ip', ['-n', n.netns, '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
      expect(inside.stdout).to.include(`inet ${n.ip}/24`);
    }
  });

  it("keeps the labs apart: no node reaches the other lab's nodes", async () => {
    const a1 = lab('sitea').nodes[0]!;
    const b1 = lab('siteb').nodes[0]!;
    const probe = (ip: string) => `timeout 1 bash -c '</dev/tcp/${ip}/22' && echo open || echo closed`;
    expect((await ssh(lab('sitea'), a1.ip, probe(lab('sitea').nodes[1]!.ip))).stdout.trim()).to.equal('open');
    expect((await ssh(lab('sitea'), a1.ip, probe(b1.ip))).stdout.trim()).to.equal('closed');
    expect((await ssh(lab('siteb'), b1.ip, probe(a1.ip))).stdout.trim()).to.equal('closed');
  });

  it('every BMC answers IPMI and Redfish, each for its own node', async () => {
    for (const { lab: l, node: n } of allNodes()) {
      const r = await ipmi(l, n, ['chassis', 'power', 'status']);
      expect(r.code, `${n.name}: ${r.stderr}`).to.equal(0);
      expect(r.stdout).to.match(/Chassis Power is on/);
      const c = await labNodeCredentials({ name: l.name, stateDir, node: n.index });
      const auth = Buffer.from(`${c.redfish.username}:${c.redfish.password}`).toString('base64');
      const res = await fetch(`http://${c.redfish.host}:${c.redfish.port}/redfish/v1/Systems/1`, {
        headers: { authorization: `Basic ${auth}` },
      });
      expect(res.status).to.equal(200);
      expect(((await res.json()) as { Name: string; PowerState: string }).Name).to.equal(n.name);
    }
  });

  it('gives the two labs different node names, MACs, namespaces, links and BMC ports', () => {
    const of = (name: string) => {
      const l = lab(name);
      return [
        l.bridge,
        ...l.nodes.flatMap((n) => [n.name, n.netns, n.hostVeth, n.ip, ...n.macs]),
        ...l.nodes.flatMap((n) => [`udp:${n.bmc.port}`, `tcp:${n.redfish!.port}`]),
      ];
    };
    const a = of('sitea');
    const b = of('siteb');
    expect(new Set([...a, ...b]).size, 'every name, MAC and port is unique').to.equal(a.length + b.length);
    expect(lab('sitea').bmcBasePort).to.not.equal(lab('siteb').bmcBasePort);
  });

  it('lab status --json of each lab shows its subnet, host IP and each node’s BMC address', async () => {
    for (const s of SITES) {
      const r = await anneal('lab', 'status', '--name', s.name, '--json');
      expect(r.code, r.stderr).to.equal(0);
      const status = JSON.parse(r.stdout) as LabStatus;
      expect(status).to.include({ subnet: s.subnet, hostIp: `${s.prefix}.1`, bmcBasePort: lab(s.name).bmcBasePort });
      expect(status.nodes.map((n) => [n.ip, n.bmc.host, n.bmc.port])).to.deep.equal(
        lab(s.name).nodes.map((n) => [n.ip, '127.0.0.1', n.bmc.port]),
      );
      const text = await anneal('lab', 'status', '--name', s.name);
      expect(text.stdout).to.include(`lab ${s.name}: subnet ${s.subnet}, bridge anlbr-${s.name} ${s.prefix}.1`);
    }
  });

  it('a fault in one lab leaves the other alone', async () => {
    const a1 = lab('sitea').nodes[0]!;
    const b1 = lab('siteb').nodes[0]!;
    expect((await anneal('lab', 'fault', 'n1', 'link-down', '--name', 'siteb')).code).to.equal(0);
    expect(await tcpReachable(b1.ip, 22, 1000)).to.equal(false);
    expect(await tcpReachable(a1.ip, 22, 1000)).to.equal(true);
    expect((await anneal('lab', 'heal', '--name', 'siteb')).code).to.equal(0);
    expect(await tcpReachable(b1.ip, 22, 2000)).to.equal(true);
  });

  it('refuses a third lab that would clash, in one line, leaving nothing behind', async () => {
    const elsewhere = `${stateDir}-elsewhere`;
    const cases = [
      {
        args: ['--name', 'sitec', '--subnet', '10.233.0.0/16'],
        error: `anneal: subnet 10.233.0.0/16 overlaps 10.233.0.0/24 of lab sitea (${lab('sitea').labDir}); choose another --subnet, or remove that lab (anneal lab down --name sitea)\n`,
      },
      {
        args: ['--name', 'sitec', '--subnet', '10.234.0.0/24'],
        error: `anneal: subnet 10.234.0.0/24 overlaps 10.234.0.0/24 of lab siteb (${lab('siteb').labDir}); choose another --subnet, or remove that lab (anneal lab down --name siteb)\n`,
      },
      {
        args: ['--name', 'sitea', '--subnet', '10.235.0.0/24'],
        error:
          'anneal: lab sitea exists with subnet 10.233.0.0/24; it cannot change (remove the lab first: anneal lab down --name sitea)\n',
      },
      {
        args: ['--name', 'siteb', '--subnet', '10.235.0.0/24', '--state-dir', elsewhere],
        error: `anneal: lab name siteb is taken by the lab in ${lab('siteb').labDir}; choose another --name (or pass --state-dir ${stateDir} to work on that lab)\n`,
      },
      {
        args: ['--name', 'sitec', '--subnet', '10.235.0.0/24', '--bmc-base-port', String(lab('sitea').bmcBasePort)],
        error: new RegExp(
          `^anneal: BMC ports ${lab('sitea').bmcBasePort + 1}–${lab('sitea').bmcBasePort + 1} overlap lab sitea's .*; choose another --bmc-base-port, or leave it out to get a free block\\n$`,
        ),
      },
      {
        args: ['--name', 'sitec', '--subnet', '10.235.0.5/24'],
        error:
          'anneal: --subnet: "10.235.0.5/24" has host bits set; write its network address: 10.235.0.0/24 [ERR_INPUT_INVALID]\n',
      },
    ];
    for (const c of cases) {
      const r = await anneal('lab', 'up', '--nodes', '1', ...c.args);
      expect(r.code, c.args.join(' ')).to.equal(1);
      if (typeof c.error === 'string') expect(r.stderr).to.equal(c.error);
      else expect(r.stderr).to.match(c.error);
      expect(r.stdout).to.equal('');
    }
    expect(await leftovers('sitec')).to.deep.equal(nothing);
    expect(existsSync(elsewhere), 'the other state directory').to.equal(false);
    expect(readdirSync(stateDir).sort()).to.deep.equal(['sitea', 'siteb']);
    // The refused attempts changed nothing of the two labs.
    for (const s of SITES) {
      const status = JSON.parse((await anneal('lab', 'status', '--name', s.name, '--json')).stdout) as LabStatus;
      expect(status.subnet).to.equal(s.subnet);
      expect(status.nodes.every((n) => n.healthy && n.power === 'on')).to.equal(true);
    }
  });

  it('lab down removes both labs and leaves nothing on the host', async () => {
    for (const s of SITES) {
      const r = await anneal('lab', 'down', '--name', s.name);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(new RegExp(`^lab ${s.name} removed: 2 namespaces, \\d+ links, \\d+ processes`));
    }
    for (const s of SITES) expect(await leftovers(s.name), s.name).to.deep.equal(nothing);
    expect(existsSync(stateDir), 'the state directory, empty').to.equal(false);
    const addrs = (await exec('ip', ['-4', '-o', 'addr', 'show'])).stdout;
    const routes = (await exec('ip', ['-4', 'route', 'show'])).stdout;
    for (const s of SITES) expect(addrs + routes).to.not.include(`${s.prefix}.`);
  });
});
