/** `anneal nodes checks NODE` against a real server: one line per check, the fix under a failed one, exit 1. */
import { expect } from 'chai';
import { cli, cliServer, type CliServer } from './cli-harness';

describe('cli: anneal nodes checks (real server, SQLite)', function () {
  this.timeout(120_000);
  let s: CliServer;
  let env: Record<string, string>;
  const call = (method: string, p: string, body?: unknown) => s.api(method, p, body);

  before(async () => {
    s = await cliServer('cli-checks');
    env = s.env;
    await call('POST', '/deployments', { name: 'd1' });
    await call('POST', '/nodes', { name: 'n1.lab', alive: true, deployment: 'd1' });
    await call('POST', '/deployments/d1/bind', { role: 'test-ready', node: 'n1.lab' });
    expect((await cli(['converge', 'd1', '--json'], env)).code).to.equal(0);
  });

  after(async () => {
    await s?.close();
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
