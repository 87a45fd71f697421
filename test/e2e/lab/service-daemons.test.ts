/**
 * The service daemons and where their files live (docs/barclamps.md "Service daemons"):
 *
 * - with ANNEAL_DATA_DIR inside a fresh 0700 directory (as a clone under /root), which the daemons' users
 *   cannot traverse, dns-service and proxy-service still start and answer a lab node: their files live in
 *   /run/anneal/<id>/<daemon> (root-owned, 0755 down to there), linked from the service dir;
 * - stopServiceDaemons (what anneal's shutdown and a lab teardown call) stops the real dnsmasq, chronyd and tinyproxy the
 *   roles started, waits until they are gone, and then their directories can be removed at once;
 * - a process that ignores SIGTERM is killed after the timeout.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../../core/log';
import { processesUsing, serviceDaemonDirs, stopServiceDaemons } from '../../../core/services/service-daemons';
import { readyLab, requireReadyLab, type ReadyLab } from '../../helpers/ready-lab';

const DAEMONS = ['chrony', 'dnsmasq', 'tinyproxy'];

describe('e2e: service daemons with a private data dir, stopped at shutdown', function () {
  this.timeout(400_000);
  let t: ReadyLab;

  before(async function () {
    requireReadyLab(this, ['chronyd', 'chronyc', 'dnsmasq', 'tinyproxy', 'dig', 'curl', 'setpriv']);
    t = await readyLab({
      prefix: 'svc',
      nodes: 1,
      attribs: {
        'ntp/set-clock': false,
        'ntp/allow': ['10.231.0.0/24'],
        'dns/domain': 'lab',
        'proxy/allow': ['10.231.0.0/24'],
      },
      bind: ['ntp-client', 'dns-client', 'proxy-client'],
    });
  });

  after(async () => {
    await t?.close();
  });

  it('the data dir is out of reach of the daemon users', () => {
    const parent = path.dirname(t.dataDir);
    expect(statSync(parent).mode & 0o777).to.equal(0o700);
    const probe = spawnSync('setpriv', [
      '--reuid=dnsmasq',
      '--regid=nogroup',
      '--clear-groups',
      'test',
      '-x',
      t.dataDir,
    ]);
    expect(probe.status, 'dnsmasq can traverse the data dir').to.not.equal(0);
  });

  it('dns-service and proxy-service start and answer; their files live under /run/anneal', async () => {
    await t.converge();
    const n1 = t.lab.nodes[0]!;
    expect(t.sh(n1.ip, `dig +short +time=2 +tries=1 ${n1.name}`).trim()).to.equal(n1.ip);
    const code = t.sh(
      n1.ip,
      'curl -s -o /dev/null -w "%{http_code}" -x http://10.231.0.1:3128 http://tinyproxy.stats/',
    );
    expect(code).to.equal('200');
    const ids = new Set<string>();
    for (const d of DAEMONS) {
      const link = path.join(t.serviceDir, d);
      expect(lstatSync(link).isSymbolicLink(), link).to.equal(true);
      const target = readlinkSync(link);
      expect(target).to.match(new RegExp(`^/run/anneal/[0-9a-f]{16}/${d}$`));
      ids.add(path.dirname(target));
    }
    expect(ids.size, 'one directory per anneal instance').to.equal(1);
    const base = [...ids][0]!;
    for (const dir of ['/run/anneal', base]) {
      const st = statSync(dir);
      expect([st.mode & 0o777, st.uid], dir).to.deep.equal([0o755, 0]);
    }
  });

  it('stopServiceDaemons stops the real daemons, waits for them, and their files can go at once', async () => {
    const dirs = serviceDaemonDirs(t.serviceDir).map((d) => d.dir);
    expect(dirs).to.have.length(3);
    const pids = processesUsing(dirs);
    expect(pids.length, 'dnsmasq, chronyd and tinyproxy run').to.be.at.least(3);
    const t0 = Date.now();
    await stopServiceDaemons(t.serviceDir, silentLogger);
    console.log(`    stopped ${pids.length} daemons in ${Date.now() - t0} ms`);
    expect(processesUsing(dirs)).to.deep.equal([]);
    for (const pid of pids) expect(existsSync(`/proc/${pid}/cmdline`) && isLive(pid), `pid ${pid}`).to.equal(false);
    // Nothing writes there any more: removing them cannot race a daemon (ENOTEMPTY).
    for (const d of dirs) rmSync(d, { recursive: true });
    await stopServiceDaemons(t.serviceDir, silentLogger, { purge: true });
    for (const d of DAEMONS) expect(existsSync(path.join(t.serviceDir, d))).to.equal(false);
  });

  it('kills a process that ignores SIGTERM after the timeout', async () => {
    const serviceDir = mkdtempSync(path.join(tmpdir(), 'anneal-svc-'));
    const dir = path.join(serviceDir, 'stubborn');
    mkdirSync(dir);
    const child = spawn('bash', ['-c', 'trap "" TERM; while sleep 0.1; do :; done', path.join(dir, 'x.conf')], {
      detached: true,
      stdio: 'ignore',
    });
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(processesUsing([dir])).to.deep.equal([child.pid]);
      const t0 = Date.now();
      await stopServiceDaemons(serviceDir, silentLogger, { timeoutMs: 500, purge: true });
      expect(Date.now() - t0).to.be.within(450, 3000);
      expect(processesUsing([dir])).to.deep.equal([]);
      expect(existsSync(dir)).to.equal(false);
    } finally {
      child.kill('SIGKILL');
      rmSync(serviceDir, { recursive: true, force: true });
    }
  });
});

/** True while the process exists and is not a zombie. */
function isLive(pid: number): boolean {
  const r = spawnSync('sh', ['-c', `sed -E 's/^.*\\) //' /proc/${pid}/stat | cut -d' ' -f1`], { encoding: 'utf8' });
  return r.stdout.trim() !== '' && r.stdout.trim() !== 'Z';
}
