/**
 * Acceptance (ready-state issue, proxy): proxy-client bound on 2 lab nodes brings proxy-service up on the
 * admin host (anneal's own tinyproxy on 10.231.0.1:3128 only) and writes each node's proxy environment
 * and apt proxy. An HTTP fetch from a node of anneal's own /api/v2/health (served on 10.231.0.1) goes
 * through the proxy (its Via header and log say so). A second converge changes nothing. Checks pass, and
 * fail with the remediation once a node's proxy environment is gone. `remove` stops the service.
 * No traffic leaves 10.231.0.0/24.
 */
import { expect } from 'chai';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createApp } from '../../../core/api/app';
import { DEPLOYMENT, listeningOn, livePid, readyLab, requireReadyLab, type ReadyLab } from '../../helpers/ready-lab';

describe('e2e: proxy barclamp on lab nodes', function () {
  this.timeout(400_000);
  let t: ReadyLab;
  let server: Server | undefined;
  let healthUrl: string;
  const pidFile = () => path.join(t.serviceDir, 'tinyproxy/tinyproxy.pid');

  before(async function () {
    requireReadyLab(this, ['tinyproxy', 'curl']);
    t = await readyLab({
      prefix: 'prx',
      nodes: 2,
      attribs: { 'proxy/allow': ['10.231.0.0/24'] },
      bind: ['proxy-client'],
    });
    // anneal's own API on the lab's host address: the URL the check fetches through the proxy.
    const app = createApp(t.anneal);
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(0, t.lab.hostIp, () => resolve(s));
      s.once('error', reject);
    });
    healthUrl = `http://${t.lab.hostIp}:${(server.address() as AddressInfo).port}/api/v2/health`;
    const { services } = t.anneal;
    await services.changes.setAttrib('deployment', t.deploymentId, 'proxy/check-url', healthUrl, 'test');
    await services.changes.commitDeployment(DEPLOYMENT, 'test');
  });

  after(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    if (!t) return;
    await t.remove('proxy-service').catch(() => undefined);
    await t.close();
  });

  function nodeState(ip: string): string {
    return t.sh(
      ip,
      'for f in /etc/profile.d/anneal-proxy.sh /etc/apt/apt.conf.d/80anneal-proxy; do stat -c "%n %Y %s" $f; done',
    );
  }

  it('converges: tinyproxy on 10.231.0.1:3128 only; nodes fetch through it; a second run changes nothing', async () => {
    const ms = await t.converge();
    console.log(`    first converge: ${ms} ms`);
    const nrs = await t.nodeRoles();
    expect(nrs.filter((n) => n.role === 'proxy-client')).to.have.length(2);

    const pid = livePid(pidFile());
    expect(pid, 'proxy-service tinyproxy runs').to.be.a('number');
    expect(listeningOn(pid!)).to.deep.equal(['10.231.0.1:3128']);

    const before: Record<string, string> = {};
    for (const n of t.lab.nodes) {
      before[n.ip] = nodeState(n.ip);
      expect(t.sh(n.ip, 'cat /etc/profile.d/anneal-proxy.sh')).to.include(
        "export http_proxy='http://10.231.0.1:3128/'\nexport https_proxy='http://10.231.0.1:3128/'\n",
      );
      // apt itself reads the configuration.
      expect(t.sh(n.ip, 'apt-config dump Acquire::http::Proxy')).to.equal(
        'Acquire::http::Proxy "http://10.231.0.1:3128/";\n',
      );
      // The probe (async: anneal's API answers from this process): a login shell's environment sends curl through the proxy (tinyproxy's Via header).
      const got = await t.shAsync(n.ip, `bash -lc 'curl -sS -m 10 -D - ${healthUrl}' | tr -d '\\r'`);
      expect(got).to.match(/^HTTP\/1\.[01] 200 /);
      expect(got).to.match(/^via: 1\.1 anneal \(tinyproxy\/[\d.]+\)$/im);
      expect(got).to.include('"status":"ok"');
      // Without that environment (a plain ssh command), curl goes direct: no Via header.
      expect(await t.shAsync(n.ip, `curl -sS -m 10 -D - -o /dev/null ${healthUrl} | tr -d '\\r'`)).to.not.match(
        /^via:/im,
      );
    }
    const log = readFileSync(path.join(t.serviceDir, 'tinyproxy/tinyproxy.log'), 'utf8');
    for (const n of t.lab.nodes) expect(log).to.match(new RegExp(`Connect \\(file descriptor \\d+\\): ${n.ip}\\b`));
    expect(log).to.include(`GET ${healthUrl} HTTP/1.1`);

    const ms2 = await t.rerun(nrs.map((n) => n.id));
    console.log(`    second converge (bumped ${nrs.length} node-roles): ${ms2} ms`);
    for (const nr of nrs) {
      const ok = (await t.runs(nr.id)).filter((r) => r.status === 'succeeded');
      expect(ok.length, `${nr.role} on ${nr.node} ran twice`).to.equal(2);
      if (nr.role === 'proxy-service')
        expect(ok[1]!.stdoutTail).to.equal(`unchanged: tinyproxy ${pid} on 10.231.0.1:3128\n`);
      else
        expect(ok[1]!.stdoutTail).to.equal(
          'unchanged: /etc/profile.d/anneal-proxy.sh\nunchanged: /etc/apt/apt.conf.d/80anneal-proxy\n',
        );
    }
    expect(livePid(pidFile())).to.equal(pid);
    for (const n of t.lab.nodes) expect(nodeState(n.ip)).to.equal(before[n.ip]);
  });

  it('checks pass, and fail with the remediation once the proxy environment is gone', async () => {
    const { services } = t.anneal;
    const n2 = t.lab.nodes[1]!;
    const ok = await services.checks.forNode(n2.name);
    expect(ok, JSON.stringify(ok.checks)).to.deep.include({ ok: true, passed: 3, failed: 0 });

    t.sh(n2.ip, 'rm /etc/profile.d/anneal-proxy.sh');
    const bad = await services.checks.forNode(n2.name);
    expect(bad).to.deep.include({ ok: false, passed: 1, failed: 2 });
    expect(bad.checks[0]).to.deep.include({
      ok: false,
      detail: '/etc/profile.d/anneal-proxy.sh: http_proxy=none',
      remediation: `re-run the proxy-client node-role of ${n2.name} (it writes /etc/profile.d/anneal-proxy.sh)`,
    });
    // Fetched directly, the URL still answers 200, but not through the proxy: the check says so.
    expect(bad.checks[2]!.detail).to.match(/: 200 \(via-anneal/);
    expect(bad.checks[2]!.ok).to.equal(false);
    expect(bad.checks[1]!.ok).to.equal(true); // the proxy itself still answers
  });

  it('remove stops the service: nothing is left listening on the admin host', async () => {
    const pid = livePid(pidFile());
    expect(pid).to.be.a('number');
    // Its files live in /run/anneal/<id>/tinyproxy, linked from the service dir: both go once it stopped.
    const dir = realpathSync(path.join(t.serviceDir, 'tinyproxy'));
    expect(dir).to.match(/^\/run\/anneal\/[0-9a-f]{16}\/tinyproxy$/);
    expect(await t.remove('proxy-service')).to.equal(`stopped tinyproxy ${pid}\nremoved: ${dir}\n`);
    expect(existsSync(dir), dir).to.equal(false);
    expect(existsSync(path.join(t.serviceDir, 'tinyproxy'))).to.equal(false);
    expect(await t.remove('proxy-service')).to.match(/^not running: tinyproxy of /);
    expect(livePid(pidFile())).to.equal(null);
    expect(listeningOn(pid!)).to.deep.equal([]);
    const n1 = t.lab.nodes[0]!;
    const down = await t.anneal.services.checks.forNode(n1.name);
    expect(down.checks[1]).to.deep.include({ ok: false });
    expect(down.checks[1]!.remediation).to.match(/^check that proxy-service runs on the admin host/);
  });
});
