/**
 * Acceptance (ready-state issue, dns): dns-client bound on 3 lab nodes brings dns-service up on the admin
 * host (anneal's own dnsmasq on 10.231.0.1:53 only) with an A and PTR record per node, extra records and
 * round-robin service names, and points every node's resolver at it; every node resolves every node's
 * FQDN, its own included. A second converge changes nothing. A node that joins later runs dns-service
 * again (rerunOnNewChild) before its own dns-client, which reloads dnsmasq (same pid). Checks fail with the remediation once
 * a node's resolver is broken. `remove` stops the service.
 */
import { expect } from 'chai';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { labUp } from '../../../core/lab';
import { silentLogger } from '../../../core/log';
import { DEPLOYMENT, listeningOn, livePid, readyLab, requireReadyLab, type ReadyLab } from '../../helpers/ready-lab';

const RESOLV =
  '# Managed by anneal (dns-client); local edits are overwritten.\nsearch lab\nnameserver 10.231.0.1\noptions timeout:2 attempts:2\n';

describe('e2e: dns barclamp on lab nodes', function () {
  this.timeout(400_000);
  let t: ReadyLab;
  const pidFile = () => path.join(t.serviceDir, 'dnsmasq/dnsmasq.pid');
  const dig = (ip: string, args: string) => t.sh(ip, `dig +short +time=2 +tries=1 ${args}`).trim().split('\n').sort();

  before(async function () {
    requireReadyLab(this, ['dnsmasq', 'dig']);
    t = await readyLab({
      prefix: 'dns',
      nodes: 3,
      attribs: {
        'dns/domain': 'lab',
        'dns/extra-records': [{ name: 'printer.lab', address: '10.231.0.99' }],
        'dns/service-names': { anneal: [], web: ['10.231.0.11', '10.231.0.12'] },
      },
      bind: ['dns-client'],
    });
  });

  after(async () => {
    if (!t) return;
    await t.remove('dns-service').catch(() => undefined);
    await t.close();
  });

  function nodeState(ip: string): { resolv: string; mtime: string } {
    const [resolv = '', mtime = ''] = t
      .sh(ip, 'cat /etc/resolv.conf; echo ---; stat -c %Y /etc/resolv.conf')
      .split('---\n');
    return { resolv, mtime: mtime.trim() };
  }

  it('converges: dnsmasq on 10.231.0.1:53 only with every record; every node resolves every node; a second run changes nothing', async () => {
    const ms = await t.converge();
    console.log(`    first converge: ${ms} ms`);
    const nrs = await t.nodeRoles();
    expect(nrs.filter((n) => n.role === 'dns-client')).to.have.length(3);

    const pid = livePid(pidFile());
    expect(pid, 'dns-service dnsmasq runs').to.be.a('number');
    expect(listeningOn(pid!)).to.deep.equal(['10.231.0.1:53']);
    const hosts = readFileSync(path.join(t.serviceDir, 'dnsmasq/hosts'), 'utf8');
    expect(hosts).to.equal(
      '# Managed by anneal (dns-service): nodes, extra records, service names.\n' +
        t.lab.nodes.map((n) => `${n.ip} ${n.name}\n`).join('') +
        '10.231.0.99 printer.lab\n10.231.0.1 anneal.lab\n10.231.0.11 web.lab\n10.231.0.12 web.lab\n',
    );

    const before: Record<string, ReturnType<typeof nodeState>> = {};
    for (const n of t.lab.nodes) {
      before[n.ip] = nodeState(n.ip);
      expect(before[n.ip]!.resolv).to.equal(RESOLV);
      // Through the node's own resolver configuration (dig reads /etc/resolv.conf).
      for (const m of t.lab.nodes) expect(dig(n.ip, m.name)).to.deep.equal([m.ip]);
      expect(dig(n.ip, `-x ${n.ip}`)).to.deep.equal([`${n.name}.`]);
      expect(t.sh(n.ip, `getent hosts ${n.name}`)).to.match(new RegExp(`^${n.ip.replaceAll('.', '\\.')}\\s+${n.name}`));
    }
    const n1 = t.lab.nodes[0]!.ip;
    expect(dig(n1, 'web.lab')).to.deep.equal(['10.231.0.11', '10.231.0.12']);
    expect(dig(n1, '+search printer')).to.deep.equal(['10.231.0.99']); // search domain
    expect(dig(n1, 'anneal.lab')).to.deep.equal(['10.231.0.1']);
    // Nothing is forwarded: no dns/forwarders, so a name outside the lab is refused, not looked up.
    expect(t.sh(n1, 'dig +time=2 +tries=1 example.org | grep -o "status: [A-Z]*"').trim()).to.equal('status: REFUSED');

    const ms2 = await t.rerun(nrs.map((n) => n.id));
    console.log(`    second converge (bumped ${nrs.length} node-roles): ${ms2} ms`);
    for (const nr of nrs) {
      const ok = (await t.runs(nr.id)).filter((r) => r.status === 'succeeded');
      expect(ok.length, `${nr.role} on ${nr.node} ran twice`).to.equal(2);
      if (nr.role === 'dns-service') expect(ok[1]!.stdoutTail).to.equal(`unchanged: dnsmasq ${pid} on 10.231.0.1:53\n`);
      else expect(ok[1]!.stdoutTail).to.equal('unchanged: /etc/resolv.conf\n');
    }
    expect(livePid(pidFile())).to.equal(pid);
    for (const n of t.lab.nodes) expect(nodeState(n.ip)).to.deep.equal(before[n.ip]);
  });

  it('checks pass on every node', async () => {
    for (const n of t.lab.nodes) {
      const r = await t.anneal.services.checks.forNode(n.name);
      expect(r, JSON.stringify(r.checks)).to.deep.include({ ok: true, failed: 0, passed: 1 + 3 + 1 });
      expect(r.checks.map((c) => c.name)).to.include(`${n.name} resolves to ${n.ip} (its own name)`);
    }
  });

  it('a node that joins runs dns-service again before its dns-client: every node resolves it; dnsmasq reloads (same pid)', async () => {
    const { services } = t.anneal;
    const pid = livePid(pidFile());
    const svc = (await t.nodeRoles()).find((n) => n.role === 'dns-service')!;
    const svcRuns = (await t.runs(svc.id)).length;
    const lab = await labUp({ name: t.name, nodes: 4, log: silentLogger });
    const n4 = lab.nodes[3]!;
    const node = await services.inventory.createNode(
      { name: n4.name, address: n4.ip, macs: n4.macs, alive: true, deployment: DEPLOYMENT },
      'test',
    );
    await services.binding.bind(t.deploymentId, 'dns-client', node.id);
    await services.changes.commitNode(node.id, 'test');
    await t.converge();

    // dns-service says rerunOnNewChild: binding the fourth dns-client ran it once more, with the new node.
    const runs = await t.runs(svc.id);
    expect(runs).to.have.length(svcRuns + 1);
    expect(runs.at(-1)!.stdoutTail).to.match(
      /^changed: .*\/hosts \(\d+ records\)\nreloaded dnsmasq \d+ on 10\.231\.0\.1:53\n$/,
    );
    expect(livePid(pidFile())).to.equal(pid);
    const n4Client = (await t.nodeRoles()).find((n) => n.role === 'dns-client' && n.node === n4.name)!;
    expect((await t.runs(n4Client.id))[0]!.startedAt, 'the new client ran after the service').to.be.at.least(
      runs.at(-1)!.endedAt!,
    );
    for (const n of [...t.lab.nodes, n4]) {
      const r = await services.checks.forNode(n.name);
      expect(r, JSON.stringify(r.checks.filter((c) => !c.ok))).to.deep.include({ ok: true, failed: 0 });
      expect(dig(n.ip, n4.name)).to.deep.equal([n4.ip]);
    }
  });

  it('checks fail with the remediation once a node resolver is broken', async () => {
    const n2 = t.lab.nodes[1]!;
    t.sh(n2.ip, 'printf "nameserver 10.231.0.99\\n" >/etc/resolv.conf');
    const bad = await t.anneal.services.checks.forNode(n2.name);
    expect(bad.ok).to.equal(false);
    expect(bad.checks[0]).to.deep.include({
      name: "the resolver's first nameserver is the dns service 10.231.0.1",
      ok: false,
      detail: '/etc/resolv.conf: first nameserver 10.231.0.99',
      remediation: `re-run the dns-client node-role of ${n2.name} (it writes /etc/resolv.conf)`,
    });
    const own = bad.checks.find((c) => c.name === `${n2.name} resolves to ${n2.ip} (its own name)`)!;
    expect(own.ok).to.equal(false);
    expect(own.remediation).to.equal(
      `point the resolver at 10.231.0.1 first: re-run the dns-client node-role of ${n2.name}`,
    );
  });

  it('remove stops the service: nothing is left listening on the admin host', async () => {
    const pid = livePid(pidFile());
    expect(pid).to.be.a('number');
    // Its files live in /run/anneal/<id>/dnsmasq, linked from the service dir: both go once it stopped.
    const dir = realpathSync(path.join(t.serviceDir, 'dnsmasq'));
    expect(dir).to.match(/^\/run\/anneal\/[0-9a-f]{16}\/dnsmasq$/);
    expect(await t.remove('dns-service')).to.equal(`stopped dnsmasq ${pid}\nremoved: ${dir}\n`);
    expect(existsSync(dir), dir).to.equal(false);
    expect(existsSync(path.join(t.serviceDir, 'dnsmasq'))).to.equal(false);
    expect(await t.remove('dns-service')).to.match(/^not running: dnsmasq of /);
    expect(livePid(pidFile())).to.equal(null);
    expect(listeningOn(pid!)).to.deep.equal([]);
  });
});
