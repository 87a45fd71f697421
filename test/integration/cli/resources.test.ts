/**
 * The read and change commands against a real server (SQLite, the `test` fixture): nodes, deployments,
 * roles, node-roles and attribs. `--json` prints exactly what the API answers (lists: every item as
 * `{items}`); text output is checked in full for the small fixture; errors are one line with exit 1.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isoSeconds } from '../../../core/cli/output';
import { asJson, cli, cliServer, type CliResult, type CliServer } from './cli-harness';

type Row = Record<string, unknown>;

describe('cli: nodes, deployments, roles, node-roles, attribs (real server, SQLite)', function () {
  this.timeout(120_000);
  let s: CliServer;
  let dir: string;
  /** Runs the CLI and expects exit 0 and nothing on stderr; returns stdout. */
  const ok = async (...args: string[]): Promise<string> => {
    const r = await cli(args, s.env);
    expect({ code: r.code, stderr: r.stderr }, args.join(' ')).to.deep.equal({ code: 0, stderr: '' });
    return r.stdout;
  };
  const fails = (...args: string[]): Promise<CliResult> => cli(args, s.env);
  const get = async (p: string): Promise<Row> => (await s.api('GET', p)).body as Row;
  const items = async (p: string): Promise<Row[]> => (await get(p)).items as Row[];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'anneal-cli-res-'));
    writeFileSync(path.join(dir, 'not-a-dir'), '');
    s = await cliServer('cli-resources', { ANNEAL_TEST_OUT: path.join(dir, 'not-a-dir', 'out') });
    await s.api('POST', '/deployments', { name: 'd1', description: 'CLI fixture' });
    await s.api('POST', '/nodes', { name: 'n1.lab', alive: true, deployment: 'd1', address: '10.9.0.11' });
    await s.api('POST', '/deployments/d1/bind', { role: 'test-ready', node: 'n1.lab' });
    expect((await cli(['converge', 'd1', '--quiet'], s.env)).code).to.equal(0);
  });

  after(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('roles', () => {
    it('show: --json is the API answer; text lists each field', async () => {
      const role = {
        name: 'test-ready',
        plugin: 'test',
        description: 'Ready-state layer; wants the marker so changing it re-runs this layer and above',
        flags: ['implicit'],
        requires: ['test-os', 'test-service'],
        precedes: [],
        wants: ['test/delay-ms', 'test/marker'],
        jig: 'noop',
        cohort: 3,
      };
      expect(await ok('roles', 'show', 'test-ready', '--json')).to.equal(asJson(role));
      expect(await ok('roles', 'show', 'test-ready')).to.equal(
        [
          'name         test-ready',
          'plugin       test',
          'description  Ready-state layer; wants the marker so changing it re-runs this layer and above',
          'jig          noop',
          'cohort       3',
          'flags        implicit',
          'requires     test-os,test-service',
          'precedes     -',
          'wants        test/delay-ms,test/marker',
          '',
        ].join('\n'),
      );
    });

    it('list: every role in dependency order; --json gives all of them', async () => {
      const all = await items('/roles?limit=1000');
      expect(await ok('roles', 'list', '--json')).to.equal(asJson({ items: all }));
      const text = (await ok('roles', 'list')).split('\n');
      expect(text[0]).to.match(/^NAME +PLUGIN +JIG +COHORT +FLAGS +REQUIRES$/);
      expect(text.length).to.equal(all.length + 2);
      expect(text.find((l) => l.startsWith('test-ready '))).to.match(
        /^test-ready +test +noop +3 +implicit +test-os,test-service$/,
      );
    });

    it('names an unknown role in one line', async () => {
      const r = await fails('roles', 'show', 'nope');
      expect(r).to.deep.equal({ code: 1, stdout: '', stderr: 'anneal: role "nope" not found [ERR_ROLE_NOT_FOUND]\n' });
    });
  });

  describe('nodes and deployments', () => {
    it('nodes list and show: --json is the API answer, text in full', async () => {
      expect(await ok('nodes', 'list', '--json')).to.equal(asJson({ items: await items('/nodes') }));
      expect(await ok('nodes', 'list')).to.equal(
        [
          'ID  NAME                            STATE      ALIVE  AVAILABLE  POWERSTATE  ADDRESS    BMCADDRESS  TAGS',
          '1   system.service.anneal.internal  committed  true   true       unknown     -          -           -',
          '2   d1.service.anneal.internal      committed  true   true       unknown     -          -           -',
          '3   n1.lab                          committed  true   true       unknown     10.9.0.11  -           -',
          '',
        ].join('\n'),
      );
      const n = await get('/nodes/n1.lab');
      expect(await ok('nodes', 'show', 'n1.lab', '--json')).to.equal(asJson(n));
      expect(await ok('nodes', 'show', '3')).to.equal(
        [
          'id              3',
          'name            n1.lab',
          'description     -',
          'deploymentId    2',
          'state           committed',
          'alive           true',
          'available       true',
          'address         10.9.0.11',
          'macs            -',
          'bmcAddress      -',
          'bmcUsername     -',
          'bmcDriver       ipmi',
          'powerState      unknown',
          'powerCheckedAt  -',
          'bootDevice      unknown',
          'tags            -',
          `createdAt       ${isoSeconds(n.createdAt as number)}`,
          `updatedAt       ${isoSeconds(n.updatedAt as number)}`,
          '',
        ].join('\n'),
      );
    });

    it('deployments list, show, status and waiting', async () => {
      expect(await ok('deployments', 'list', '--json')).to.equal(asJson({ items: await items('/deployments') }));
      expect(await ok('deployments', 'list')).to.equal(
        [
          'ID  NAME    STATE      PARENTID  DESCRIPTION',
          '1   system  committed  -         The root deployment; new nodes start here.',
          '2   d1      committed  1         CLI fixture',
          '',
        ].join('\n'),
      );
      expect(await ok('deployments', 'show', 'd1', '--json')).to.equal(asJson(await get('/deployments/d1')));
      expect(await ok('deployments', 'show', 'd1')).to.equal(
        [
          'id           2',
          'name         d1',
          'description  CLI fixture',
          'state        committed',
          'parentId     1',
          'system       false',
          'roles        test-discover,test-hardware,test-os,test-ready,test-service',
          'nodeRoles    5 active',
          '',
        ].join('\n'),
      );
      expect(await ok('deployments', 'status', 'd1', '--json')).to.equal(asJson(await get('/deployments/d1/status')));
      expect(await ok('deployments', 'status', 'd1')).to.equal(
        [
          'd1 (committed): 5/5 node-roles active, converged',
          '  test-discover  1/1 active',
          '  test-os        2/2 active',
          '  services       1/1 active',
          '  other          1/1 active',
          '',
        ].join('\n'),
      );
      expect(await ok('deployments', 'waiting', 'd1', '--json')).to.equal(asJson({ items: [] }));
      expect(await ok('deployments', 'waiting', 'd1')).to.equal('d1: nothing waits\n');
    });

    it('propose and commit a node and a deployment', async () => {
      expect(await ok('nodes', 'propose', 'n1.lab')).to.equal('n1.lab: proposed\n');
      expect(await ok('nodes', 'commit', 'n1.lab')).to.equal('n1.lab: committed\n');
      expect(await ok('deployments', 'propose', 'd1')).to.equal('d1: proposed\n');
      const json = JSON.parse(await ok('deployments', 'commit', 'd1', '--json')) as Row;
      expect(json).to.deep.include({ name: 'd1', state: 'committed' });
    });

    it('names an unknown node or deployment in one line', async () => {
      expect(await fails('nodes', 'show', 'nope.lab')).to.deep.equal({
        code: 1,
        stdout: '',
        stderr: 'anneal: node "nope.lab" not found [ERR_NODE_NOT_FOUND]\n',
      });
      expect(await fails('deployments', 'status', 'nope')).to.deep.equal({
        code: 1,
        stdout: '',
        stderr: 'anneal: deployment "nope" not found [ERR_DEPLOYMENT_NOT_FOUND]\n',
      });
    });
  });

  describe('node-roles', () => {
    it('list with each filter; --json is every matching node-role', async () => {
      const all = await items('/node-roles?deployment=d1');
      expect(await ok('node-roles', 'list', '--deployment', 'd1', '--json')).to.equal(asJson({ items: all }));
      const ready = all.filter((nr) => nr.role === 'test-ready');
      expect(await ok('node-roles', 'list', '--role', 'test-ready', '--node', 'n1.lab', '--json')).to.equal(
        asJson({ items: ready }),
      );
      expect(await ok('node-roles', 'list', '--deployment', 'd1', '--state', 'error', '--json')).to.equal(
        asJson({ items: [] }),
      );
      const text = (await ok('node-roles', 'list', '--deployment', 'd1')).split('\n');
      expect(text[0]).to.match(/^ID +DEPLOYMENT +NODE +ROLE +STATE +ATTEMPTS +RUNCOUNT +UPDATEDAT$/);
      expect(text.slice(1, -1).map((l) => l.split(/ +/).slice(1, 5))).to.deep.equal(
        all.map((nr) => ['d1', nr.node, nr.role, 'active']),
      );
    });

    it('show, runs and runs --last of one node-role', async () => {
      const [nr] = await items('/node-roles?role=test-ready');
      const id = nr!.id as number;
      expect(await ok('node-roles', 'show', String(id), '--json')).to.equal(asJson(await get(`/node-roles/${id}`)));
      const fields = (await ok('node-roles', 'show', String(id))).split('\n');
      expect(fields.slice(0, 5)).to.deep.equal([
        `id                  ${id}`,
        'deployment          d1',
        'node                n1.lab',
        'role                test-ready',
        'state               active',
      ]);
      expect(fields.at(-2)).to.equal('lastError           -');
      const runs = await items(`/node-roles/${id}/runs`);
      expect(await ok('node-roles', 'runs', String(id), '--json')).to.equal(asJson({ items: runs }));
      expect(await ok('node-roles', 'runs', String(id), '--last', '--json')).to.equal(asJson(runs.at(-1)));
      const table = (await ok('node-roles', 'runs', String(id))).split('\n');
      expect(table[0]).to.match(/^ID +ATTEMPT +STATUS +STARTEDAT +DURATION +EXITCODE +ERROR$/);
      expect(table[1]).to.match(new RegExp(`^${String(runs[0]!.id)} +1 +succeeded +\\S+Z +\\d+\\.\\ds +- +-$`));
    });

    it('rerun runs it again with what depends on it; retry of an active one is refused in one line', async () => {
      const [nr] = await items('/node-roles?role=test-os');
      const id = nr!.id as number;
      const below = (await items('/node-roles?role=test-ready'))[0]!.id as number;
      expect(await ok('node-roles', 'rerun', String(id))).to.equal(
        `node-role ${id} runs again, with what depends on it: node-roles ${id}, ${below}\n`,
      );
      expect((await cli(['converge', 'd1', '--quiet'], s.env)).code).to.equal(0);
      const r = await fails('node-roles', 'retry', String(id));
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.match(
        /^anneal: node-role \d+ \(test-os on n1\.lab\) is active, not error( or remove-error)?: .* \[ERR_STATE_INVALID\]\n$/,
      );
    });

    it('retry takes a failed node-role back to todo', async () => {
      await s.api('POST', '/deployments/d1/bind', { role: 'test-script', node: 'n1.lab' });
      expect((await cli(['converge', 'd1', '--quiet'], s.env)).code).to.equal(1);
      const [failed] = await items('/node-roles?role=test-script&state=error');
      const id = failed!.id as number;
      expect(await ok('node-roles', 'retry', String(id))).to.equal(`node-role ${id} (test-script on n1.lab): todo\n`);
      expect((await cli(['converge', 'd1', '--quiet'], s.env)).code).to.equal(1);
      const last = (await ok('node-roles', 'runs', String(id), '--last')).split('\n');
      expect(last.slice(1, 3)).to.deep.equal(['attempt    2', 'status     failed']);
      expect(last).to.include('error      test-script.sh.hbs exited 1 on n1.lab');
      expect(last).to.include('stderrTail:');
      expect(last.find((l) => l.startsWith('  mkdir: '))).to.include('Not a directory');
    });

    it('names an unknown node-role in one line', async () => {
      expect(await fails('node-roles', 'show', '9999')).to.deep.equal({
        code: 1,
        stdout: '',
        stderr: 'anneal: node-role 9999 not found [ERR_NODE_ROLE_NOT_FOUND]\n',
      });
    });
  });

  describe('attribs', () => {
    it('set parses JSON (else a string), says how to apply it; get shows proposed until commit', async () => {
      const set = await cli(['attribs', 'set', 'deployment', 'd1', 'test/delay-ms', '5'], s.env);
      expect(set).to.deep.equal({
        code: 0,
        stdout: 'deployment d1: test/delay-ms = 5 (proposed)\n',
        stderr: 'proposed: run `anneal deployments commit d1` to apply\n',
      });
      const plain = await cli(['attribs', 'set', 'node', 'n1.lab', 'test/marker', 'hello world'], s.env);
      expect(plain).to.deep.equal({
        code: 0,
        stdout: 'node n1.lab: test/marker = "hello world" (proposed)\n',
        stderr:
          'proposed: run `anneal nodes commit n1.lab` to apply (or `anneal deployments commit` for its deployment)\n',
      });
      expect(await ok('attribs', 'get', 'deployment', 'd1', 'test/delay-ms', '--json')).to.equal(
        asJson({
          attrib: 'test/delay-ms',
          scope: 'deployment',
          targetId: 2,
          proposed: 5,
          committed: null,
          hasProposed: true,
          hasCommitted: false,
        }),
      );
      expect(await ok('attribs', 'get', 'node', 'n1.lab', 'test/marker')).to.equal(
        [
          'attrib     test/marker',
          'scope      node',
          'targetId   3',
          'committed  -',
          'proposed   "hello world"',
          '',
        ].join('\n'),
      );
      await ok('nodes', 'commit', 'n1.lab');
      expect(await ok('attribs', 'get', 'node', 'n1.lab')).to.equal(
        ['ATTRIB       COMMITTED      PROPOSED', 'test/marker  "hello world"  -', ''].join('\n'),
      );
      expect(await ok('attribs', 'get', 'node', 'n1.lab', '--json')).to.equal(
        asJson({ items: await items('/nodes/n1.lab/attribs') }),
      );
    });

    it('reads a secret value from stdin with -, never shows it back', async () => {
      const r = await cli(['attribs', 'set', 'deployment', 'd1', 'test/secret', '-'], s.env, 'not-in-argv-S3cret\n');
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.equal('deployment d1: test/secret = "[redacted]" (proposed)\n');
      const out = await ok('attribs', 'get', 'deployment', 'd1', '--json');
      expect(out).to.not.include('S3cret');
      expect(JSON.parse(out)).to.deep.include({
        items: [
          {
            attrib: 'test/delay-ms',
            scope: 'deployment',
            targetId: 2,
            proposed: 5,
            committed: null,
            hasProposed: true,
            hasCommitted: false,
          },
          {
            attrib: 'test/secret',
            scope: 'deployment',
            targetId: 2,
            proposed: '[redacted]',
            committed: null,
            hasProposed: true,
            hasCommitted: false,
          },
        ],
      });
    });

    it('refuses an invalid value or unknown attrib in one line', async () => {
      const bad = await fails('attribs', 'set', 'deployment', 'd1', 'test/delay-ms', 'soon');
      expect(bad.code).to.equal(1);
      expect(bad.stdout).to.equal('');
      expect(bad.stderr).to.match(/^anneal: test\/delay-ms: .* \[ERR_ATTRIB_INVALID\]\n$/);
      expect(await fails('attribs', 'get', 'node', 'n1.lab', 'nope/x')).to.deep.equal({
        code: 1,
        stdout: '',
        stderr: 'anneal: attrib "nope/x" not found [ERR_ATTRIB_NOT_FOUND]\n',
      });
    });
  });
});
