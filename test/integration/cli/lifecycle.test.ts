/**
 * The teardown commands against a real server (SQLite, the `test` fixture): `unbind`, `deployments
 * delete`, `nodes move`, `nodes delete` (retire), `node-roles rerun --force`, and `converge` following
 * removals (remove errors reported with their next step) and a deployment being deleted until it is gone.
 * `--json` prints the API's answer; a destructive change without a terminal and without --yes is refused
 * in one line with exit 2 and nothing sent (the audit log and the records unchanged); API errors are one
 * line with the CLI's fix.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { asJson, bin, cli, cliServer, type CliResult, type CliServer } from './cli-harness';

type Row = Record<string, unknown>;

const NOT_SENT =
  ', and stdin is not a terminal to confirm it on: nothing was sent [ERR_CLI_NOT_CONFIRMED] — add --yes to confirm\n';

describe('cli: unbind, deployments delete, nodes move and delete, rerun --force (real server, SQLite)', function () {
  this.timeout(120_000);
  let s: CliServer;
  let dir: string;
  let out: string;
  const run = (...args: string[]): Promise<CliResult> => cli(args, s.env);
  /** Runs the CLI and expects exit 0 and nothing on stderr; returns stdout. */
  const ok = async (...args: string[]): Promise<string> => {
    const r = await run(...args);
    expect({ code: r.code, stderr: r.stderr }, args.join(' ')).to.deep.equal({ code: 0, stderr: '' });
    return r.stdout;
  };
  const get = async (p: string): Promise<Row> => (await s.api('GET', p)).body as Row;
  const status = async (p: string): Promise<number> => (await s.api('GET', p)).status;
  const items = async (p: string): Promise<Row[]> => (await get(p)).items as Row[];
  const idOf = async (role: string, node: string): Promise<number> => {
    const [nr] = await items(`/node-roles?role=${role}&node=${node}`);
    expect(nr, `${role} on ${node}`).to.not.equal(undefined);
    return nr!.id as number;
  };
  /** Every audit event: unchanged means the CLI changed nothing. */
  const events = async (): Promise<Row[]> => {
    const all: Row[] = [];
    for (;;) {
      const page = await items(`/events?after=${(all.at(-1)?.id as number | undefined) ?? 0}&limit=1000`);
      all.push(...page);
      if (page.length < 1000) return all;
    }
  };
  /** What a refused change must leave as it was. */
  const snapshot = async () => ({
    events: await events(),
    nodeRoles: await items('/node-roles?limit=1000'),
    nodes: await items('/nodes?limit=1000'),
    deployments: await items('/deployments?limit=1000'),
  });
  /** Runs a refused command: exit 2, one line, nothing on stdout, the database as it was. */
  const refused = async (args: string[], consequence: string): Promise<void> => {
    const before = await snapshot();
    expect(await run(...args)).to.deep.equal({ code: 2, stdout: '', stderr: `anneal: ${consequence}${NOT_SENT}` });
    expect(await snapshot()).to.deep.equal(before);
    // Nothing sent: against no server at all it says the same (no ERR_CLI_UNREACHABLE).
    const nowhere = await cli(args, { ANNEAL_URL: 'http://127.0.0.1:9', ANNEAL_TOKEN: 'x' });
    expect(nowhere).to.deep.equal({ code: 2, stdout: '', stderr: `anneal: ${consequence}${NOT_SENT}` });
  };
  /** Runs the CLI; `seen` resolves once its stderr matches `pattern`, `done` when it exits. */
  const follow = (args: string[], pattern: RegExp) => {
    const child = spawn(bin, args, { env: { ...process.env, ...s.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let seen!: () => void;
    const seenP = new Promise<void>((resolve) => (seen = resolve));
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (pattern.test(stderr)) seen();
    });
    const done = new Promise<CliResult>((resolve) =>
      child.once('close', (code) => {
        seen();
        resolve({ code: code ?? 1, stdout, stderr });
      }),
    );
    return { seen: seenP, done };
  };
  const waitGone = async (p: string): Promise<void> => {
    const t0 = Date.now();
    while ((await status(p)) !== 404) {
      if (Date.now() - t0 > 30_000) throw new Error(`${p} still there after 30 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'anneal-cli-life-'));
    out = path.join(dir, 'out');
    // No power monitor: nothing but the CLI changes the database while a refusal is checked.
    s = await cliServer('cli-lifecycle', { ANNEAL_TEST_OUT: out, ANNEAL_POWER_POLL_MS: '0' });
    for (const d of ['d1', 'd2', 'gone1', 'gone2', 'gone3', 'p1']) await s.api('POST', '/deployments', { name: d });
    await s.api('POST', '/deployments', { name: 'c1', parent: 'p1' });
    const nodes: [string, string, string][] = [
      ['n1.lab', 'd1', 'test-os'], // rerun
      ['n2.lab', 'd1', 'test-os'], // unbind
      ['n3.lab', 'd1', 'test-script'], // a remove error
      ['n4.lab', 'd1', 'test-os'], // move
      ['n5.lab', 'd2', 'test-discover'], // d2 binds test-discover
      ['n6.lab', 'd1', 'test-os'], // retire
      ['n8.lab', 'd1', 'test-os'], // retire --force
      ['n7.lab', 'gone1', 'test-script'], // a remove error while deleting
      ['n9.lab', 'gone2', 'test-os'],
      ['n10.lab', 'gone3', 'test-os'],
    ];
    for (const [name, d, role] of nodes) {
      await s.api('POST', '/nodes', { name, alive: true, deployment: d });
      await s.api('POST', `/deployments/${d}/bind`, { role, node: name });
    }
    for (const d of ['d1', 'd2', 'gone1', 'gone2', 'gone3'])
      expect((await run('converge', d, '--quiet')).code, d).to.equal(0);
  });

  after(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('unbind', () => {
    it('removes a role from a node: its node-role goes removing, converge follows it until it is gone', async () => {
      const os = await idOf('test-os', 'n2.lab');
      const json = await ok('unbind', 'd1', 'test-os', 'n2.lab', '--json');
      const answer = JSON.parse(json) as { removing: number[]; deleted: number[]; rerun: number[] };
      expect(json).to.equal(asJson(answer));
      expect(Object.keys(answer).sort()).to.deep.equal(['deleted', 'removing', 'rerun']);
      expect([...answer.removing, ...answer.deleted]).to.include(os);
      const r = await run('converge', 'd1');
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^d1: converged, \d+ node-roles active in \d+\.\d s\n$/);
      expect(await status(`/node-roles/${os}`)).to.equal(404);
    });

    it('prints which node-roles are removed, and converge reports a remove error with its next step', async () => {
      const script = await idOf('test-script', 'n3.lab');
      // A directory where the marker file was: the remove script's `rm -f` fails.
      const marker = path.join(out, 'n3.lab.marker');
      rmSync(marker, { force: true });
      mkdirSync(marker);
      writeFileSync(path.join(marker, 'keep'), '');
      expect(await ok('unbind', 'd1', 'test-script', 'n3.lab')).to.equal(
        `d1: test-script unbound from n3.lab: removing node-role ${script}; follow it with \`anneal converge d1\`\n`,
      );
      const r = await run('converge', 'd1');
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.match(/^d1: \S+ +\d+\/\d+ active.*, 1 remove-error$/m);
      const report = r.stderr.slice(r.stderr.indexOf('d1: 1 node-role(s) failed'));
      const lines = report.split('\n');
      expect(lines[0]).to.match(/^d1: 1 node-role\(s\) failed \(1 to remove\); \d+\/\d+ active$/);
      expect(lines[2]).to.match(
        new RegExp(`^✗ remove test-script from n3\\.lab \\(node-role ${script}, layer \\S+, attempt \\d+\\)$`),
      );
      expect(lines[3]).to.equal('  command:   bash test-script-remove.sh.hbs on the admin host');
      expect(lines[4]).to.equal('  exit code: 1');
      expect(report).to.match(/ {2}stderr \(last 20 lines\):\n {4}rm: .*Is a directory/);
      expect(report).to.match(/\n {2}error: {5}.* \[ERR_COMMAND_FAILED\]\n/);
      expect(report).to.include(
        `  next:      fix the cause, then \`anneal node-roles retry ${script}\` (runs the remove action again), ` +
          'or delete it without running it: `anneal unbind d1 test-script n3.lab --force`\n',
      );
      expect(await ok('node-roles', 'list', '--deployment', 'd1', '--state', 'remove-error', '--json')).to.equal(
        asJson({ items: await items(`/node-roles?deployment=d1&state=remove-error`) }),
      );
      const cake = await ok('deployments', 'status', 'd1');
      expect(cake.split('\n')[0]).to.match(/^d1 \(committed\): \d+\/\d+ node-roles active, 1 remove-error$/);
      expect(cake).to.match(new RegExp(`\\n {2}✗ remove test-script on n3\\.lab \\(node-role ${script}\\): .+\\n`));

      rmSync(marker, { recursive: true });
      expect(await ok('node-roles', 'retry', String(script))).to.equal(
        `node-role ${script} (test-script on n3.lab): removing\n`,
      );
      expect((await run('converge', 'd1', '--quiet')).code).to.equal(0);
      expect(await status(`/node-roles/${script}`)).to.equal(404);
    });

    it('--force deletes without running remove actions, and is refused without --yes', async () => {
      const hw = await idOf('test-hardware', 'n2.lab');
      await refused(
        ['unbind', 'd1', 'test-hardware', 'n2.lab', '--force'],
        'unbinding test-hardware from n2.lab in d1 with --force deletes its node-roles without running their remove actions (nothing is cleaned up on the node)',
      );
      const json = await ok('unbind', 'd1', 'test-hardware', 'n2.lab', '--force', '--yes', '--json');
      const answer = JSON.parse(json) as { removing: number[]; deleted: number[]; rerun: number[] };
      expect(json).to.equal(asJson(answer));
      expect(answer.deleted).to.include(hw);
      expect(answer.removing).to.deep.equal([]);
      expect(await status(`/node-roles/${hw}`)).to.equal(404);
    });

    it('names a role that is not bound there in one line, with how to see what is', async () => {
      const r = await run('unbind', 'd1', 'test-ready', 'n1.lab');
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.match(
        /^anneal: .+ \[ERR_NOT_BOUND\] — see what is bound with `anneal node-roles list --deployment d1 --node n1\.lab`\n$/,
      );
    });
  });

  describe('node-roles rerun --force', () => {
    it('re-runs a destructive role only with --force, confirmed', async () => {
      const hw = await idOf('test-hardware', 'n1.lab');
      const need = await run('node-roles', 'rerun', String(hw));
      expect(need.code).to.equal(1);
      expect(need.stdout).to.equal('');
      expect(need.stderr).to.match(
        /^anneal: .*force.* \[ERR_FORCE_REQUIRED\] — with the CLI: add --force \(it asks to confirm; --yes confirms without asking\)\n$/,
      );
      await refused(
        ['node-roles', 'rerun', String(hw), '--force'],
        `re-running node-role ${hw} with --force runs its destructive role again (settings it made are made anew; data it wiped, such as disks under RAID, is lost again)`,
      );
      const json = await ok('node-roles', 'rerun', String(hw), '--force', '--yes', '--json');
      const answer = JSON.parse(json) as { nodeRole: number; rerun: number[] };
      expect(json).to.equal(asJson(answer));
      expect(answer.nodeRole).to.equal(hw);
      expect(answer.rerun).to.include.members([hw, await idOf('test-os', 'n1.lab')]);
      expect((await run('converge', 'd1', '--quiet')).code).to.equal(0);
    });

    it('refuses --force on a role that is not destructive, in one line', async () => {
      const os = await idOf('test-os', 'n1.lab');
      const r = await run('node-roles', 'rerun', String(os), '--force', '--yes');
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.match(/^anneal: .+ \[ERR_FORCE_INVALID\] — run it again without --force\n$/);
    });
  });

  describe('nodes move', () => {
    it("moves a node: its node-roles are removed and the new deployment's roles bound", async () => {
      const d2 = (await get('/deployments/d2')).id;
      const text = await ok('nodes', 'move', 'n4.lab', 'd2');
      expect(text).to.match(
        /^n4\.lab: moved from d1 to d2: removing node-roles [\d, ]+(; bound node-role \d+|; d2's roles are bound on it once those removals finish)?; follow it with `anneal converge d1`( and `anneal converge d2`)?\n$/,
      );
      expect((await get('/nodes/n4.lab')).deploymentId).to.equal(d2);
      expect((await run('converge', 'd1', '--quiet')).code).to.equal(0);
      expect((await run('converge', 'd2', '--quiet')).code).to.equal(0);
      expect((await items('/node-roles?node=n4.lab')).map((nr) => [nr.deployment, nr.role, nr.state])).to.deep.equal([
        ['d2', 'test-discover', 'active'],
      ]);
      const json = await ok('nodes', 'move', 'n4.lab', 'd1', '--json');
      const answer = JSON.parse(json) as Row;
      expect(json).to.equal(asJson(answer));
      expect(Object.keys(answer).sort()).to.deep.equal([
        'bound',
        'deleted',
        'from',
        'node',
        'removing',
        'rerun',
        'to',
        'waiting',
      ]);
    });

    it('refuses --force without --yes, and maps each error to one line', async () => {
      await refused(
        ['nodes', 'move', 'n4.lab', 'd2', '--force'],
        'moving n4.lab with --force deletes its node-roles in its deployment without running their remove actions (nothing is cleaned up on the node)',
      );
      expect(await run('nodes', 'move', 'n4.lab', 'nope')).to.deep.equal({
        code: 1,
        stdout: '',
        stderr: 'anneal: deployment "nope" not found [ERR_DEPLOYMENT_NOT_FOUND]\n',
      });
      const svc = await run('nodes', 'move', 'd1.service.anneal.internal', 'd2');
      expect(svc.code).to.equal(1);
      expect(svc.stderr).to.match(/^anneal: .+ \[ERR_MOVE_INVALID\]\n$/);
    });
  });

  describe('nodes delete', () => {
    it('refuses without --yes; with it the node retires and is gone once its node-roles are', async () => {
      await refused(
        ['nodes', 'delete', 'n6.lab'],
        'retiring node n6.lab removes its node-roles (their remove actions run), then the node and its records, and cannot be undone',
      );
      expect(await ok('nodes', 'delete', 'n6.lab', '--yes')).to.match(
        /^n6\.lab: retiring: removing node-roles [\d, ]+; it goes when none is left \(follow it with `anneal node-roles list --node n6\.lab`\)\n$/,
      );
      await waitGone('/nodes/n6.lab');
    });

    it('--force --json deletes its node-roles at once and prints the API answer', async () => {
      const ids = (await items('/node-roles?node=n8.lab')).map((nr) => nr.id);
      const json = await ok('nodes', 'delete', 'n8.lab', '--force', '--yes', '--json');
      const answer = JSON.parse(json) as { node: Row; removing: number[]; deleted: number[] };
      expect(json).to.equal(asJson(answer));
      expect(answer.node).to.deep.include({ name: 'n8.lab', state: 'retiring' });
      expect(answer.deleted.sort()).to.deep.equal(ids.sort());
      await waitGone('/nodes/n8.lab');
      expect(await run('nodes', 'delete', 'n8.lab', '--yes')).to.deep.equal({
        code: 1,
        stdout: '',
        stderr: 'anneal: node "n8.lab" not found [ERR_NODE_NOT_FOUND]\n',
      });
    });
  });

  describe('deployments delete', () => {
    it('refuses without --yes; with it converge follows the deletion, through a remove error, until it is gone', async () => {
      await refused(
        ['deployments', 'delete', 'gone1'],
        'deleting deployment gone1 removes its node-roles from its nodes (their remove actions run), then the deployment, and cannot be undone',
      );
      // A directory where test-script's marker file was: its remove fails, and test-discover waits for it.
      const marker = path.join(out, 'n7.lab.marker');
      rmSync(marker, { force: true });
      mkdirSync(marker);
      writeFileSync(path.join(marker, 'keep'), '');
      const script = await idOf('test-script', 'n7.lab');
      const json = await ok('deployments', 'delete', 'gone1', '--yes', '--json');
      const answer = JSON.parse(json) as { deployment: Row; removing: number[]; deleted: number[] };
      expect(json).to.equal(asJson(answer));
      expect(answer.deployment).to.deep.include({ name: 'gone1', state: 'deleting' });
      expect(answer.removing).to.include(script);
      // Fixed once converge has shown the remove error: it waits (test-discover still removing) until then.
      const converging = follow(['converge', 'gone1'], /1 remove-error\n/);
      await converging.seen;
      rmSync(marker, { recursive: true });
      await s.api('POST', `/node-roles/${script}/retry`);
      const r = await converging.done;
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^gone1: deleted in \d+\.\d s\n$/);
      expect(r.stderr).to.match(/^gone1: \S+ +\d+\/\d+ active, \d+ removing$/m);
      expect(r.stderr).to.match(/^gone1: \S+ +\d+\/\d+ active, 1 remove-error$/m);
      expect(await status('/deployments/gone1')).to.equal(404);
      expect((await get('/nodes/n7.lab')).deploymentId).to.equal((await get('/deployments/system')).id);
      const again = await run('converge', 'gone1');
      expect(again).to.deep.equal({
        code: 1,
        stdout: '',
        stderr:
          'anneal: deployment "gone1" not found [ERR_DEPLOYMENT_NOT_FOUND] — a deployment being deleted is gone once ' +
          'its node-roles are; `anneal deployments list` lists the others\n',
      });
    });

    it('--force deletes its node-roles at once; the text names them', async () => {
      const ids = (await items('/node-roles?deployment=gone2')).map((nr) => nr.id as number);
      const text = await ok('deployments', 'delete', 'gone2', '--force', '--yes');
      const m =
        /^gone2: deleting: deleted node-roles ([\d, ]+); it goes when none is left \(`anneal converge gone2` follows it\)\n$/.exec(
          text,
        );
      expect(m, text).to.not.equal(null);
      const sort = (xs: number[]) => [...xs].sort((a, b) => a - b);
      expect(sort(m![1]!.split(', ').map(Number))).to.deep.equal(sort(ids));
      await waitGone('/deployments/gone2');
    });

    it('maps the protected system deployment and one with children to one line each', async () => {
      const system = await run('deployments', 'delete', 'system', '--yes');
      expect(system).to.deep.include({ code: 1, stdout: '' });
      expect(system.stderr).to.match(
        /^anneal: .+ \[ERR_DEPLOYMENT_PROTECTED\] — move its nodes with `anneal nodes move NODE DEPLOYMENT` or retire them with `anneal nodes delete NODE`\n$/,
      );
      const r = await run('deployments', 'delete', 'p1', '--yes');
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/^anneal: .+ \[ERR_STATE_INVALID\]\n$/);
      expect(await status('/deployments/p1')).to.equal(200);
    });

    it('asks to type the name on a terminal', async function () {
      if (spawnSync('sh', ['-c', 'command -v script']).status !== 0) {
        if (process.env.CI === 'true') throw new Error('script(1) (util-linux) is required in CI');
        this.skip();
      }
      const env = { ...process.env, ...s.env };
      const tty = (input: string) =>
        spawnSync('script', ['-qec', `${bin} deployments delete gone3`, '/dev/null'], { env, input, encoding: 'utf8' });
      const wrong = tty('gone\n');
      expect(wrong.status).to.equal(2);
      expect(wrong.stdout).to.include("Type the deployment's name (gone3) to confirm: ");
      expect(wrong.stdout).to.include(
        'anneal: you typed "gone", not "gone3": nothing was sent [ERR_CLI_NOT_CONFIRMED]',
      );
      expect((await get('/deployments/gone3')).state).to.equal('committed');
      const right = tty('gone3\n');
      expect(right.status, right.stdout).to.equal(0);
      expect(right.stdout).to.match(/gone3: deleting: removing node-roles [\d, ]+; it goes when none is left/);
      await waitGone('/deployments/gone3');
    });
  });
});
