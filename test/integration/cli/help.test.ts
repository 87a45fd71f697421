/**
 * The CLI's usage contract, on the real bin/anneal (no server needed): `--help` works on every command
 * of the program's tree (exit 0, a Usage line naming the command), every read command takes `--json`,
 * usage errors are one line on stderr with a pointer to --help and exit 1, and a destructive change
 * without a terminal and without --yes is refused in one line with exit 2 before anything is sent.
 */
import { expect } from 'chai';
import type { Command } from 'commander';
import { buildProgram } from '../../../core/cli/main';
import { cli, type CliResult } from './cli-harness';

/** Every command below the program, as its path of names. */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

function leaf(path: string[]): Command {
  let cmd = buildProgram();
  for (const name of path) cmd = cmd.commands.find((c) => c.name() === name)!;
  return cmd;
}

/** Runs `jobs` with at most `n` at once, results in order. */
async function pool<T>(jobs: (() => Promise<T>)[], n: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    }),
  );
  return out;
}

const READ_VERBS = new Set(['list', 'show', 'status', 'get', 'checks', 'runs', 'waiting', 'whoami']);
const unreachable = { ANNEAL_URL: 'http://127.0.0.1:9', ANNEAL_TOKEN: '' };

describe('cli: usage (--help everywhere, --json on reads, one-line usage errors)', function () {
  this.timeout(120_000);
  const paths = commandPaths(buildProgram());

  it('knows every command group the issue lists', () => {
    const top = new Set(paths.filter((p) => p.length === 1).map((p) => p[0]));
    for (const group of [
      'server',
      'lab',
      'nodes',
      'deployments',
      'roles',
      'node-roles',
      'attribs',
      'power',
      'tokens',
      'blueprints',
      'secrets',
    ])
      expect(top, group).to.include(group);
    expect(top).to.include('converge');
    expect(top).to.include('whoami');
    expect(top).to.include('unbind');
    expect(paths.map((p) => p.join(' '))).to.include.members(['deployments delete', 'nodes move', 'nodes delete']);
    expect(paths.length).to.be.greaterThan(40);
  });

  it('answers --help on every command and sub-command with exit 0 and its Usage line', async () => {
    const all = [[], ...paths];
    const t0 = Date.now();
    const results = await pool(
      all.map((p) => () => cli([...p, '--help'], unreachable)),
      8,
    );
    const bad = results
      .map((r: CliResult, i) => ({ path: all[i]!.join(' '), r }))
      .filter(({ path, r }) => r.code !== 0 || !r.stdout.startsWith(`Usage: ${['anneal', path].join(' ').trim()} `))
      .map(({ path, r }) => `${path}: exit ${r.code}, ${JSON.stringify((r.stdout || r.stderr).slice(0, 120))}`);
    expect(bad).to.deep.equal([]);
    console.log(`      ${all.length} commands, --help each in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  it('offers --json on every read command', () => {
    const reads = paths.filter((p) => READ_VERBS.has(p.at(-1)!) && p[0] !== 'lab');
    expect(reads.length).to.be.greaterThan(12);
    const missing = reads.filter((p) => !leaf(p).options.some((o) => o.long === '--json')).map((p) => p.join(' '));
    expect(missing).to.deep.equal([]);
  });

  it('takes the BMC password from stdin only, never from an argv flag', () => {
    const longs = leaf(['power', 'bmc']).options.map((o) => o.long);
    expect(longs).to.include('--password-stdin');
    expect(longs).to.not.include('--password');
  });

  it('prints usage errors in one line pointing to --help, exit 1', async () => {
    const cases: [string[], string][] = [
      [['frob'], "unknown command 'frob'"],
      [['nods'], "unknown command 'nods' (Did you mean nodes?)"],
      [['nodes', 'show'], "missing required argument 'node'"],
      [['nodes', 'list', '--jsn'], "unknown option '--jsn' (Did you mean --json?)"],
      [['tokens', 'create', 'ci'], "required option '--role <role>' not specified"],
      [['attribs', 'set', 'node', 'n1'], "missing required argument 'attrib'"],
      [['power', 'boot', 'n1'], "missing required argument 'device'"],
      [['unbind', 'd1', 'test-os'], "missing required argument 'node'"],
      [['nodes', 'move', 'n1'], "missing required argument 'deployment'"],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args, unreachable);
      expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).to.deep.equal({
        args,
        code: 1,
        stdout: '',
        stderr: `anneal: ${message} (run with --help for usage)\n`,
      });
    }
  });

  it('refuses bad arguments before calling the server, in one line with the fix', async () => {
    const cases: [string[], string][] = [
      [['attribs', 'get', 'nod', 'n1'], 'the first argument is node or deployment, not "nod" [ERR_INPUT_INVALID]'],
      [['power', 'boot', 'n1', 'cdrom'], 'the boot device is pxe or disk, not "cdrom" [ERR_INPUT_INVALID]'],
      [
        ['node-roles', 'show', 'x1'],
        'node-role ids are whole numbers above 0, not "x1": find them with `anneal node-roles list` [ERR_INPUT_INVALID]',
      ],
      [
        ['tokens', 'create', 'ci', '--role', 'root'],
        '--role is one of admin, operator, read-only, not "root" [ERR_INPUT_INVALID]',
      ],
      [
        ['converge', 'd1', '--timeout', 'soon'],
        '--timeout takes a number of seconds above 0, not "soon" [ERR_INPUT_INVALID]',
      ],
      [
        ['power', 'bmc', 'n1'],
        'nothing to set: give --address, --username, --driver and/or --password-stdin [ERR_INPUT_INVALID]',
      ],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args, unreachable);
      expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).to.deep.equal({
        args,
        code: 1,
        stdout: '',
        stderr: `anneal: ${message}\n`,
      });
    }
  });

  it('refuses a destructive change without a terminal or --yes before calling the server, exit 2', async () => {
    const cases: [string[], string][] = [
      [
        ['deployments', 'delete', 'lab'],
        'deleting deployment lab removes its node-roles from its nodes (their remove actions run), then the deployment, and cannot be undone',
      ],
      [
        ['deployments', 'delete', 'lab', '--force'],
        'deleting deployment lab with --force deletes its node-roles without running their remove actions (nothing is cleaned up on its nodes) and cannot be undone',
      ],
      [
        ['nodes', 'delete', 'n1'],
        'retiring node n1 removes its node-roles (their remove actions run), then the node and its records, and cannot be undone',
      ],
      [
        ['nodes', 'move', 'n1', 'lab', '--force'],
        'moving n1 with --force deletes its node-roles in its deployment without running their remove actions (nothing is cleaned up on the node)',
      ],
      [
        ['unbind', 'lab', 'ntp-client', 'n1', '--force'],
        'unbinding ntp-client from n1 in lab with --force deletes its node-roles without running their remove actions (nothing is cleaned up on the node)',
      ],
      [
        ['node-roles', 'rerun', '7', '--force'],
        're-running node-role 7 with --force runs its destructive role again (settings it made are made anew; data it wiped, such as disks under RAID, is lost again)',
      ],
    ];
    for (const [args, consequence] of cases) {
      const r = await cli(args, unreachable);
      expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).to.deep.equal({
        args,
        code: 2,
        stdout: '',
        stderr:
          `anneal: ${consequence}, and stdin is not a terminal to confirm it on: nothing was sent ` +
          '[ERR_CLI_NOT_CONFIRMED] — add --yes to confirm\n',
      });
    }
  });
});
