/**
 * Acceptance (ready-state issue, ntp): ntp-client bound on 3 lab nodes brings ntp-service up on the admin
 * host (anneal's own chronyd on 10.231.0.1:123 only, never adjusting the host clock) and chronyd on every
 * node with the service as its selected source. A second converge changes nothing (config mtimes,
 * daemon pids). Changing ntp/servers re-runs exactly the ntp-client node-roles (not the service, not a
 * bystander role). The
 * ready check passes, and fails with its remediation once a node's chronyd is killed. `remove` stops the
 * service.
 */
import { expect } from 'chai';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { listeningOn, livePid, readyLab, requireReadyLab, type ReadyLab } from '../../helpers/ready-lab';

describe('e2e: ntp barclamp on lab nodes', function () {
  this.timeout(400_000);
  let t: ReadyLab;
  const pidFile = () => path.join(t.serviceDir, 'chrony/run/chronyd.pid');

  before(async function () {
    requireReadyLab(this, ['chronyd', 'chronyc']);
    t = await readyLab({
      prefix: 'ntp',
      nodes: 3,
      attribs: { 'ntp/set-clock': false, 'ntp/allow': ['10.231.0.0/24'] },
      bind: ['ntp-client'],
      bindFirst: ['test-remote'],
      fixtures: ['test'],
    });
  });

  after(async () => {
    if (!t) return;
    await t.remove('ntp-service').catch(() => undefined);
    await t.close();
  });

  /** What the second run must leave alone on each node: the config's mtime and chronyd's pid. */
  function nodeState(ip: string): { conf: string; mtime: string; pid: string; args: string } {
    const out = t.sh(
      ip,
      'cat /etc/chrony/chrony.conf; echo ---; stat -c %Y /etc/chrony/chrony.conf; p=$(cat /run/chrony/chronyd.pid); echo "$p"; tr "\\0" " " </proc/$p/cmdline; echo; cat /proc/$p/comm',
    );
    const [conf = '', rest = ''] = out.split('---\n');
    const [mtime = '', pid = '', args = '', comm = ''] = rest.trim().split('\n');
    expect(comm, `chronyd runs on ${ip}`).to.equal('chronyd');
    return { conf, mtime, pid, args };
  }

  it('converges: the service on 10.231.0.1:123 only, chronyd on every node with the service selected; a second run changes nothing', async () => {
    const ms = await t.converge();
    console.log(`    first converge: ${ms} ms`);
    const nrs = await t.nodeRoles();
    const clients = nrs.filter((n) => n.role === 'ntp-client');
    const service = nrs.filter((n) => n.role === 'ntp-service');
    expect(clients).to.have.length(3);
    expect(service).to.have.length(1);

    // Admin host: anneal's own chronyd, -x, listening on the admin address only.
    const svcPid = livePid(pidFile());
    expect(svcPid, 'ntp-service chronyd runs').to.be.a('number');
    expect(listeningOn(svcPid!)).to.deep.equal(['10.231.0.1:123']);
    const svcArgs = readFileSync(`/proc/${svcPid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    expect(svcArgs).to.match(/^chronyd -x /);
    expect(svcArgs).to.include(path.join(realpathSync(path.join(t.serviceDir, 'chrony')), 'chrony.conf'));

    const before: Record<string, ReturnType<typeof nodeState>> = {};
    for (const n of t.lab.nodes) {
      const s = nodeState(n.ip);
      before[n.ip] = s;
      expect(s.conf).to.include('server 10.231.0.1 iburst prefer minpoll -4 maxpoll 6\n');
      expect(s.conf).to.include('# chronyd options: -x\n');
      expect(s.args).to.match(/^chronyd -x -u _chrony -f \/etc\/chrony\/chrony.conf /);
      // The probe the check uses: the service is the selected source.
      expect(t.sh(n.ip, 'chronyc -n sources')).to.match(/^\^\* 10\.231\.0\.1 /m);
    }

    // Second run: every ntp node-role runs again and changes nothing.
    const ids = [...clients, ...service].map((n) => n.id);
    const ms2 = await t.rerun(ids);
    console.log(`    second converge (bumped ${ids.length} node-roles): ${ms2} ms`);
    for (const nr of [...clients, ...service]) {
      const ok = (await t.runs(nr.id)).filter((r) => r.status === 'succeeded');
      expect(ok.length, `${nr.role} on ${nr.node} ran twice`).to.equal(2);
      expect(ok[1]!.stdoutTail).to.match(/^unchanged: chronyd \d+/m);
      expect(ok[1]!.stdoutTail).to.not.match(/^(changed|started|stopped)/m);
    }
    expect(livePid(pidFile())).to.equal(svcPid);
    for (const n of t.lab.nodes) expect(nodeState(n.ip)).to.deep.equal(before[n.ip]);
  });

  it('changing ntp/servers re-runs exactly the ntp-client node-roles (and their descendants), not a bystander', async () => {
    const { services, store } = t.anneal;
    const nrs = await t.nodeRoles();
    const runsBefore = new Map<number, number>();
    for (const nr of nrs) runsBefore.set(nr.id, (await t.runs(nr.id)).length);
    const pidsBefore = t.lab.nodes.map((n) => t.sh(n.ip, 'cat /run/chrony/chronyd.pid').trim());
    const svcPidBefore = livePid(pidFile());

    // A lab address where nothing serves NTP: no traffic leaves 10.231.0.0/24.
    await services.changes.setAttrib('deployment', t.deploymentId, 'ntp/servers', ['10.231.0.12'], 'test');
    await services.changes.commitDeployment('lab', 'test');
    const ms = await t.converge();
    console.log(`    converge after ntp/servers changed: ${ms} ms`);

    const rerun: number[] = [];
    for (const nr of await t.nodeRoles()) {
      if ((await t.runs(nr.id)).length > runsBefore.get(nr.id)!) rerun.push(nr.id);
    }
    const expected = nrs.filter((n) => n.role === 'ntp-client').map((n) => n.id);
    expect(rerun.sort()).to.deep.equal(expected.sort());
    expect(nrs.filter((n) => n.role.startsWith('test-'))).to.have.length(2); // the bystanders exist, did not run
    const events = await store.events.list({ type: 'node-roles.rerun' });
    expect(events.at(-1)?.data).to.deep.include({ attribs: ['ntp/servers'] });

    // The clients restarted with the new configuration, the service did not; it is still the selected source.
    expect(livePid(pidFile())).to.equal(svcPidBefore);
    for (const [i, n] of t.lab.nodes.entries()) {
      const s = nodeState(n.ip);
      expect(s.conf).to.include('server 10.231.0.1 iburst prefer minpoll -4 maxpoll 6\nserver 10.231.0.12 iburst\n');
      expect(s.pid).to.not.equal(pidsBefore[i]);
      expect(t.sh(n.ip, 'chronyc -n sources')).to.match(/^\^\* 10\.231\.0\.1 /m);
    }
  });

  it('checks pass, and fail with the remediation once chronyd on a node is killed', async () => {
    const { services } = t.anneal;
    const n2 = t.lab.nodes[1]!;
    const ok = await services.checks.forNode(n2.name);
    expect(ok, JSON.stringify(ok.checks)).to.deep.include({ ok: true, failed: 0 });
    expect(ok.checks.map((c) => c.name)).to.deep.equal([
      'chronyd answers chronyc',
      'the ntp service 10.231.0.1 is the selected source',
    ]);

    t.sh(n2.ip, 'kill $(cat /run/chrony/chronyd.pid); sleep 0.5');
    const bad = await services.checks.forNode(n2.name);
    expect(bad).to.deep.include({ ok: false, passed: 0, failed: 2 });
    expect(bad.checks[0]!.remediation).to.equal(
      `chronyd is not running on ${n2.name}: re-run its ntp-client node-role (it starts chronyd), or install the Debian package chrony`,
    );
    expect(bad.checks[1]!.remediation).to.match(/^check that ntp-service runs on the admin host and that /);
  });

  it('remove stops the service: nothing is left listening on the admin host', async () => {
    const pid = livePid(pidFile());
    expect(pid).to.be.a('number');
    // Its files live in /run/anneal/<id>/chrony, linked from the service dir: both go once it stopped.
    const dir = realpathSync(path.join(t.serviceDir, 'chrony'));
    expect(dir).to.match(/^\/run\/anneal\/[0-9a-f]{16}\/chrony$/);
    expect(await t.remove('ntp-service')).to.equal(`stopped chronyd ${pid}\nremoved: ${dir}\n`);
    expect(existsSync(dir), dir).to.equal(false);
    expect(existsSync(path.join(t.serviceDir, 'chrony'))).to.equal(false);
    expect(livePid(pidFile())).to.equal(null);
    expect(listeningOn(pid!)).to.deep.equal([]);
    expect(await t.remove('ntp-service')).to.match(/^not running: chronyd of /);
  });
});
