import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freshDatabase, type TestDatabase } from '../../helpers/engines';
import { freePort, spawnServer, type ServerChild } from '../../helpers/server';

const bin = path.resolve(__dirname, '../../../bin/anneal');

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { env: { ...process.env, ...env }, timeout: 90_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('cli: anneal converge (real server, SQLite)', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let server: ServerChild;
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    db = await freshDatabase('sqlite');
    dir = mkdtempSync(path.join(tmpdir(), 'anneal-cli-'));
    // A regular file where the script expects a directory: test-script fails on every node.
    writeFileSync(path.join(dir, 'not-a-dir'), '');
    server = await spawnServer('cli', db.target, { ANNEAL_TEST_OUT: path.join(dir, 'not-a-dir', 'out') });
    await server.ready();
    env = { ANNEAL_URL: `http://127.0.0.1:${server.port}` };
    const post = (p: string, body: unknown) =>
      fetch(`${env.ANNEAL_URL}/api/v2${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    for (const d of ['good', 'bad']) {
      await post('/deployments', { name: d });
      await post('/nodes', { name: `${d}1.lab`, alive: true, deployment: d });
    }
    await post('/deployments/good/bind', { role: 'test-os', node: 'good1.lab' });
    await post('/deployments/bad/bind', { role: 'test-script', node: 'bad1.lab' });
  });

  after(async () => {
    await server?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits, waits, and exits 0 when every node-role is active', async () => {
    const res = await cli(['converge', 'good', '--json'], env);
    expect(res.code, res.stderr).to.equal(0);
    expect(JSON.parse(res.stdout)).to.deep.equal({
      deployment: 'good',
      counts: { proposed: 0, blocked: 0, todo: 0, transition: 0, active: 3, error: 0 },
    });
  });

  it('exits 1 and names the failed node-role, its exit code and its output', async () => {
    const res = await cli(['converge', 'bad'], env);
    expect(res.code).to.equal(1);
    expect(res.stderr).to.include('bad: 1 node-role(s) failed');
    expect(res.stderr).to.match(/✗ test-script on bad1\.lab \(node-role \d+, attempt 1\)/);
    expect(res.stderr).to.include('error: test-script.sh.hbs exited 1 on bad1.lab');
    expect(res.stderr).to.include('exit code: 1');
    expect(res.stderr).to.include('Not a directory');
    expect(res.stderr).to.match(/next: fix the cause, then .*\/node-roles\/\d+\/retry/);
  });

  it('prints one line with the fix when the server is unreachable', async () => {
    const closed = await freePort();
    const res = await cli(['nodes', 'list'], { ANNEAL_URL: `http://127.0.0.1:${closed}` });
    expect(res.code).to.equal(1);
    expect(res.stderr).to.equal(
      `anneal: cannot reach anneal at http://127.0.0.1:${closed} (ECONNREFUSED): start it with \`anneal server\` or set ANNEAL_URL [ERR_CLI_UNREACHABLE]\n`,
    );
  });
});
