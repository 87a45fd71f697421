/**
 * `anneal demo --exit-when-ready`, as CI runs it (no terminal, stdin closed): it prints the UI address
 * with a token, the server answers there while the demo runs (the UI page, health, the API with that
 * token and not without one, and the server's log does not hold the token), 3 lab nodes reach
 * ready-node, it exits 0 within 180 s, and afterwards nothing of it is left on the host: no lab
 * namespaces, no lab or service processes, nothing listening on its port, no data directory.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { labDown } from '../../../core/lab';
import { exec, requireLab } from '../../helpers/lab-e2e';
import { freePort } from '../../helpers/server';

const repoRoot = path.resolve(__dirname, '../../..');
const LIMIT_MS = 180_000;

interface DuringRun {
  ui: number;
  health: { status: number; body: { status?: string } };
  nodes: number;
  anonymous: number;
  logHasToken: boolean;
}

describe('e2e: anneal demo brings up a server and 3 lab nodes at ready-node, then removes everything', function () {
  this.timeout(LIMIT_MS + 60_000);
  let child: ReturnType<typeof spawn> | undefined;

  before(function () {
    requireLab(this, ['chronyd', 'chronyc', 'dnsmasq', 'tinyproxy']);
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    await labDown({ name: 'demo' }).catch(() => undefined); // only if the demo itself could not
  });

  it('exits 0 within 180 s with 3/3 nodes at ready-node, its UI address answering while it ran', async () => {
    const port = await freePort();
    const t0 = Date.now();
    child = spawn(path.join(repoRoot, 'bin/anneal'), ['demo', '--exit-when-ready', '--port', String(port)], {
      cwd: repoRoot,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let during: Promise<DuringRun> | undefined;
    let dataDir = '';
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      dataDir ||= /data in (\/\S+)$/m.exec(stdout)?.[1] ?? '';
      const ui = /^anneal demo: UI (http:\/\/127\.0\.0\.1:(\d+))\/ui\/ {2}token (\S+)$/m.exec(stdout);
      if (ui && !during) {
        const [, origin, , token] = ui;
        during = (async () => {
          const page = await fetch(`${origin}/ui/`);
          const res = await fetch(`${origin}/api/v2/health`);
          const health = { status: res.status, body: (await res.json()) as { status?: string } };
          const nodes = await fetch(`${origin}/api/v2/nodes`, { headers: { authorization: `Bearer ${token}` } });
          const anonymous = await fetch(`${origin}/api/v2/nodes`);
          const logFile = path.join(dataDir, 'server.log');
          const logHasToken = existsSync(logFile) && readFileSync(logFile, 'utf8').includes(token!);
          return { ui: page.status, health, nodes: nodes.status, anonymous: anonymous.status, logHasToken };
        })();
      }
    });
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exit = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), LIMIT_MS);
      child!.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(code ?? String(signal));
      });
    });
    const ms = Date.now() - t0;
    console.log(`    anneal demo: exit ${exit} after ${(ms / 1000).toFixed(1)} s`);
    expect(exit, `${stdout}\n${stderr}`).to.equal(0);
    expect(ms).to.be.below(LIMIT_MS);

    expect(stdout).to.not.include('is taken');
    const ready = /^ready: 3\/3 nodes at ready-node in (\d+(?:\.\d)?) s — open (\S+)$/m.exec(stdout);
    expect(ready, stdout).to.not.equal(null);
    expect(ready![2]).to.equal(`http://127.0.0.1:${port}/ui/`);
    console.log(`    ready-node after ${ready![1]} s`);
    expect(during, 'the UI line was printed').to.not.equal(undefined);
    const seen = await during!;
    expect(seen.ui, 'GET /ui/').to.equal(200);
    expect(seen.health).to.deep.include({ status: 200 });
    expect(seen.health.body.status).to.equal('ok');
    expect(seen.nodes, 'GET /api/v2/nodes with the printed token').to.equal(200);
    expect(seen.anonymous, 'GET /api/v2/nodes without a token').to.equal(401);
    expect(seen.logHasToken, 'the server log holds the admin token').to.equal(false);

    expect((await exec('ip', ['netns', 'list'])).stdout).to.not.include('anl-demo-');
    const ps = (await exec('ps', ['-eo', 'pid=,args='])).stdout
      .split('\n')
      .filter((l) => /anneal-lab\/demo|anl-demo-|\.demo\.lab|anneal-demo-/.test(l));
    expect(ps).to.deep.equal([]);
    expect(existsSync('/var/lib/anneal-lab/demo')).to.equal(false);
    expect(dataDir).to.match(/^\/var\/tmp\/anneal-demo-/);
    expect(existsSync(dataDir), `${dataDir} removed`).to.equal(false);
    const after = await fetch(`http://127.0.0.1:${port}/api/v2/health`).catch(() => null);
    expect(after, 'nothing answers on the port').to.equal(null);
  });
});
