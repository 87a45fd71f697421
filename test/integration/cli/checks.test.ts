/** `anneal nodes checks NODE` against a real server: one line per check, the fix under a failed one, exit 1. */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { freshDatabase, type TestDatabase } from '../../helpers/engines';
import { spawnServer, type ServerChild } from '../../helpers/server';

const bin = path.resolve(__dirname, '../../../bin/anneal');

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { env: { ...process.env, ...env }, timeout: 90_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('cli: anneal nodes checks (real server, SQLite)', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let server: ServerChild;
  let env: Record<string, string>;
  const call = (method: string, p: string, body?: unknown) =>
    fetch(`${env.ANNEAL_URL}/api/v2${p}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  before(async () => {
    db = await freshDatabase('sqlite');
    server = await spawnServer('cli-checks', db.target);
    await server.ready();
    env = { ANNEAL_URL: `http://127.0.0.1:${server.port}` };
    await call('POST', '/deployments', { name: 'd1' });
    await call('POST', '/nodes', { name: 'n1.lab', alive: true, deployment: 'd1' });
    await call('POST', '/deployments/d1/bind', { role: 'test-ready', node: 'n1.lab' });
    expect((await cli(['converge', 'd1', '--json'], env)).code).to.equal(0);
  });

  after(async () => {
    await server?.stop();
    await db?.drop();
  });

  it('prints each passing check and exits 0', async () => {
    const res = await cli(['nodes', 'checks', 'n1.lab'], env);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.equal(
      'pass  test-ready: marker is set\npass  test-ready: marker is not broken\nn1.lab: 2 passed, 0 failed\n',
    );
  });

  it('prints what a failed check saw and how to fix it, and exits 1; --json gives the API answer', async () => {
    await call('PUT', '/deployments/d1/attribs/test/marker', { value: 'broken' });
    expect((await cli(['converge', 'd1', '--json'], env)).code).to.equal(0);
    const res = await cli(['nodes', 'checks', 'n1.lab'], env);
    expect(res.code).to.equal(1);
    expect(res.stdout).to.equal(
      [
        'pass  test-ready: marker is set',
        'FAIL  test-ready: marker is not broken — marker "broken"',
        '      fix: set test/marker to anything but "broken" and commit',
        'n1.lab: 1 passed, 1 failed',
        '',
      ].join('\n'),
    );
    const json = await cli(['nodes', 'checks', 'n1.lab', '--json'], env);
    expect(json.code).to.equal(1);
    expect(JSON.parse(json.stdout)).to.deep.include({ node: 'n1.lab', ok: false, passed: 1, failed: 1 });
  });

  it('names an unknown node in one line', async () => {
    const res = await cli(['nodes', 'checks', 'nope.lab'], env);
    expect(res.code).to.not.equal(0);
    expect(res.stderr).to.match(/nope\.lab/);
  });
});
