/**
 * `anneal converge` against a real server (SQLite, the `test` fixture): per-layer progress (plain lines
 * without a terminal, cli-progress bars with one), exit 0 when converged, exit 1 with each failed
 * node-role's node, role, command, exit code, stderr tail and next step, exit 2 on timeout with the
 * watchdog's reasons; `--json` prints the final status document.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tail } from '../../../core/cli/commands/converge-failures';
import { freePort } from '../../helpers/server';
import { asJson, bin, cli, cliServer, type CliServer } from './cli-harness';

interface Status {
  failing: { nodeRoleId: number }[];
}

describe('cli: anneal converge (real server, SQLite)', function () {
  this.timeout(120_000);
  let s: CliServer;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'anneal-cli-'));
    // A regular file where the script expects a directory: test-script fails on every node.
    writeFileSync(path.join(dir, 'not-a-dir'), '');
    s = await cliServer('cli-converge', { ANNEAL_TEST_OUT: path.join(dir, 'not-a-dir', 'out') });
    for (const [d, alive] of [
      ['good', true],
      ['tty', true],
      ['bad', true],
      ['stuck', false],
    ] as const) {
      await s.api('POST', '/deployments', { name: d });
      await s.api('POST', '/nodes', { name: `${d}1.lab`, alive, deployment: d });
    }
    await s.api('POST', '/deployments/good/bind', { role: 'test-os', node: 'good1.lab' });
    await s.api('PUT', '/deployments/good/attribs/test/delay-ms', { value: 500 });
    await s.api('POST', '/deployments/tty/bind', { role: 'test-os', node: 'tty1.lab' });
    await s.api('PUT', '/deployments/tty/attribs/test/delay-ms', { value: 300 });
    await s.api('POST', '/deployments/bad/bind', { role: 'test-script', node: 'bad1.lab' });
    await s.api('POST', '/deployments/stuck/bind', { role: 'test-os', node: 'stuck1.lab' });
  });

  after(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits, prints a line per layer as counts change (no terminal), exits 0 when every node-role is active', async () => {
    const t0 = Date.now();
    const res = await cli(['converge', 'good'], s.env);
    const ms = Date.now() - t0;
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.match(/^good: converged, 3 node-roles active in \d+\.\d s\n$/);
    const lines = res.stderr.trimEnd().split('\n');
    for (const l of lines)
      expect(l).to.match(/^good: (test-discover|test-os {6}) {2}\d\/[12] active(, \d (running|todo|blocked))*$/);
    // The last line of each layer is its final state; no layer line repeats itself back to back.
    const last = (layer: string) => lines.filter((l) => l.startsWith(`good: ${layer} `)).at(-1);
    expect(last('test-discover')).to.equal('good: test-discover  1/1 active');
    expect(last('test-os')).to.equal('good: test-os        2/2 active');
    // At most one print per second: each layer has at most one line per started second, plus the last.
    for (const layer of ['test-discover', 'test-os']) {
      const mine = lines.filter((l) => l.startsWith(`good: ${layer} `));
      expect(new Set(mine).size, mine.join('\n')).to.equal(mine.length);
      expect(mine.length).to.be.at.most(Math.ceil(ms / 1000) + 1);
    }
    expect(lines.length, 'some intermediate counts are shown').to.be.greaterThan(2);
    console.log(`      converged 3 node-roles in ${ms} ms (process included), ${lines.length} progress lines`);
  });

  it('--json prints the final status document, the same the API answers', async () => {
    const res = await cli(['converge', 'good', '--json', '--quiet'], s.env);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stderr).to.equal('');
    const status = await s.api('GET', '/deployments/good/status');
    expect(res.stdout).to.equal(asJson(status.body));
    expect(JSON.parse(res.stdout)).to.deep.include({
      converged: true,
      total: 3,
      layers: ['test-discover', 'test-os'],
      failing: [],
    });
  });

  it('draws one cli-progress bar per layer when stderr is a terminal', async function () {
    if (spawnSync('sh', ['-c', 'command -v script']).status !== 0) {
      if (process.env.CI === 'true') throw new Error('script(1) (util-linux) is required in CI');
      this.skip();
    }
    const env = { ...process.env, ...s.env };
    const res = spawnSync('script', ['-qec', `${bin} converge tty`, '/dev/null'], { env, encoding: 'utf8' });
    expect(res.status, res.stdout).to.equal(0);
    // eslint-disable-next-line no-control-regex
    const text = res.stdout.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
    expect(text).to.match(/ test-discover \|█{30}\| 1\/1 active/);
    expect(text).to.match(/ test-os {7}\|█{30}\| 2\/2 active/);
    expect(text).to.match(/ test-os {7}\|░{30}\| 0\/2 active, (1 todo, )?\d blocked/);
    expect(text).to.match(/tty: converged, 3 node-roles active in \d+\.\d s/);
  });

  it('exits 1 and prints each failed node-role: node, role, command, exit code, stderr tail, error, next step', async () => {
    const res = await cli(['converge', 'bad'], s.env);
    expect(res.code).to.equal(1);
    expect(res.stdout).to.equal('');
    const status = (await s.api('GET', '/deployments/bad/status')).body as Status;
    expect(status.failing).to.have.length(1);
    const id = status.failing[0]!.nodeRoleId;
    const runs = (await s.api('GET', `/node-roles/${id}/runs`)).body as { items: { stderrTail: string }[] };
    const stderrTail = runs.items.at(-1)!.stderrTail;
    expect(stderrTail).to.include('Not a directory');
    const report = res.stderr.slice(res.stderr.indexOf('bad: 1 node-role(s) failed'));
    expect(report).to.equal(
      [
        'bad: 1 node-role(s) failed; 1/2 active',
        '',
        `✗ test-script on bad1.lab (node-role ${id}, layer other, attempt 1)`,
        '  command:   bash test-script.sh.hbs on the admin host',
        '  exit code: 1',
        '  stderr (last 20 lines):',
        ...stderrTail
          .trimEnd()
          .split('\n')
          .map((l) => `    ${l}`),
        '  error:     test-script.sh.hbs exited 1 on bad1.lab [ERR_COMMAND_FAILED]',
        `  next:      fix the cause, then \`anneal node-roles retry ${id}\``,
        '',
      ].join('\n'),
    );
    expect(res.stderr.slice(0, res.stderr.indexOf('bad: 1 node-role(s) failed'))).to.match(
      /^(bad: (test-discover|other {8}) {2}\d\/1 active(, \d (running|todo|error))*\n)+$/,
    );
  });

  it('prints the failure as the final status document with --json, still exiting 1', async () => {
    const res = await cli(['converge', 'bad', '--json', '--quiet'], s.env);
    expect(res.code).to.equal(1);
    expect(res.stdout).to.equal(asJson((await s.api('GET', '/deployments/bad/status')).body));
    expect(res.stderr).to.match(/^bad: 1 node-role\(s\) failed; 1\/2 active\n\n✗ test-script on bad1\.lab/);
  });

  it('exits 2 after --timeout with the watchdog reason of each waiting node-role', async () => {
    const res = await cli(['converge', 'stuck', '--timeout', '1', '--quiet'], s.env);
    expect(res.code).to.equal(2);
    expect(res.stdout).to.equal('');
    const waiting = (await s.api('GET', '/deployments/stuck/waiting')).body as {
      items: { node: string; role: string; reasons: string[] }[];
    };
    expect(waiting.items.map((w) => w.role)).to.deep.equal(['test-discover', 'test-hardware', 'test-os']);
    expect(res.stderr).to.equal(
      [
        'stuck: timed out after 1 s with 0/3 node-roles active',
        ...waiting.items.map((w) => `waiting: ${w.role} on ${w.node}: ${w.reasons.join('; ')}`),
        '',
      ].join('\n'),
    );
    expect(res.stderr).to.include('node stuck1.lab is not alive (powered off or unreachable)');
  });

  it('keeps the last 20 lines of a long stderr', () => {
    const text = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n') + '\n\n';
    expect(tail(text)).to.deep.equal(Array.from({ length: 20 }, (_, i) => `line ${i + 11}`));
    expect(tail('')).to.deep.equal([]);
    expect(tail('one')).to.deep.equal(['one']);
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
