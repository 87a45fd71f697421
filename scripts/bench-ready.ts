/**
 * `npm run bench:ready -- [--nodes 10,50] [--json]` (issue "Ready state", benchmark acceptance)
 *
 * For each N, on one lab of N nodes (one lab at a time, torn down at the end, also on error or Ctrl-C),
 * the same ready-node configuration (scripts/bench/ready-tasks.ts: the tasks whose anneal role exists
 * in barclamps/index.ts) is done three ways, each from the same node state and each timed:
 *   (a) anneal in-process: a fresh SQLite database, the lab's ssh key; the client node-roles bound on
 *       every node, then commit + converge (timed);
 *   (b) ansible-playbook (ansible-core) -f N: scripts/bench/ready-playbook.yml;
 *   (c) parallel-ssh (pssh) -p N: one parallel-ssh per task, its bash script on stdin.
 * The service daemons (chronyd, dnsmasq, tinyproxy on the lab's host address) are started once per lab
 * by anneal's own service roles before any timed region and serve all three. Before each contender the
 * nodes are reset to the state `lab up` left them in (chronyd stopped, files restored, checked); after
 * each, every node is probed and a contender that did not configure every node fails the benchmark.
 * ssh host keys are accepted before timing (temp known_hosts) for ansible and parallel-ssh; anneal's
 * own first contact (connect + trust-on-first-use record) is inside its timed region.
 *
 * Run it under the shared lab lock: `flock /tmp/anneal-lab-tests.lock npm run bench:ready -- --nodes 10`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Jigs } from '../core/annealer/jigs';
import { createMemoryHostKeyStore, createSshPool } from '../core/exec/ssh';
import { publicKeyLine } from '../core/exec/ssh-public-key';
import { labPrerequisites } from '../core/lab';
import { DEPLOYMENT, readyLab, type ReadyLab } from '../test/helpers/ready-lab';
import {
  parseProbe,
  playbookVars,
  probeScript,
  psshScripts,
  READY_TASKS,
  resetScript,
  snapshotScript,
  verifyProbe,
  type BenchValues,
  type ReadyTask,
} from './bench/ready-tasks';

const PLAYBOOK = path.join(__dirname, 'bench/ready-playbook.yml');
const TARGET_VS_PSSH = 1.5;
const TARGET_VS_ANSIBLE = 10;

interface Args {
  nodes: number[];
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { nodes: [10, 50], json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--nodes') {
      const v = argv[++i];
      if (v === undefined) throw new Error('--nodes needs a value, e.g. --nodes 10,50');
      args.nodes = v.split(',').map(Number);
    } else if (a === '--json') args.json = true;
    else throw new Error(`unknown argument ${a}; usage: --nodes N[,N] [--json]`);
  }
  if (args.nodes.some((n) => !Number.isInteger(n) || n < 1 || n > 200))
    throw new Error('--nodes takes integers from 1 to 200 (a lab has at most 200 nodes), e.g. --nodes 10,50');
  return args;
}

/** The programs the benchmark runs; missing Debian packages are named with the apt-get command. */
function checkPrerequisites(): void {
  const has = (p: string) => spawnSync('sh', ['-c', `command -v ${p}`]).status === 0;
  const packages: Record<string, string> = {
    'ansible-playbook': 'ansible-core',
    'parallel-ssh': 'pssh',
    chronyd: 'chrony',
    chronyc: 'chrony',
    dnsmasq: 'dnsmasq',
    tinyproxy: 'tinyproxy',
    dig: 'dnsutils',
    ssh: 'openssh-client',
  };
  const missing = [...new Set(Object.keys(packages).filter((p) => !has(p)))];
  const lab = labPrerequisites();
  const problems: string[] = [];
  if (missing.length) {
    const debs = [...new Set(missing.map((p) => packages[p]!))].join(' ');
    problems.push(
      `missing ${missing.join(', ')}: install them with\n  apt-get install -y --no-install-recommends ${debs}`,
    );
  }
  if (!lab.ok)
    problems.push(`the lab cannot run here (root: ${lab.root}, missing: ${lab.missing.join(', ') || 'none'})`);
  if (problems.length) {
    console.error(`bench:ready: ${problems.join('\n')}`);
    process.exit(2);
  }
}

const log = (args: Args, msg: string) => {
  if (!args.json) process.stderr.write(`${msg}\n`);
};

interface SshOut {
  ip: string;
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `script` with bash on every node over OpenSSH (outside timed regions: reset, probes). */
async function sshAll(key: string, knownHosts: string, ips: string[], script: string): Promise<SshOut[]> {
  const one = (ip: string) =>
    new Promise<SshOut>((resolve) => {
      const p = spawn('ssh', [
        ...['-i', key, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=no'],
        ...['-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10', `root@${ip}`, 'bash -s'],
      ]);
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('close', (status) => resolve({ ip, status, stdout, stderr }));
      p.stdin.end(script);
    });
  const out: SshOut[] = [];
  for (let i = 0; i < ips.length; i += 16) out.push(...(await Promise.all(ips.slice(i, i + 16).map(one))));
  return out;
}

function requireOk(what: string, outs: SshOut[]): void {
  const bad = outs.filter((o) => o.status !== 0);
  if (bad.length)
    throw new Error(`${what} failed on ${bad.map((o) => `${o.ip} (exit ${o.status}: ${o.stderr.trim()})`).join(', ')}`);
}

/** Runs a command, streaming its stdout lines with their arrival time; resolves with its exit. */
function runTimed(
  cmd: string,
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string },
): Promise<{ status: number | null; ms: number; lines: Array<{ at: number; line: string }>; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, argv, { env: opts.env ?? process.env });
    const lines: Array<{ at: number; line: string }> = [];
    let partial = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      const at = performance.now() - t0;
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      for (const line of parts) lines.push({ at, line });
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (status) => {
      const ms = performance.now() - t0;
      if (partial) lines.push({ at: ms, line: partial });
      resolve({ status, ms, lines, stderr });
    });
    p.stdin.end(opts.input ?? '');
  });
}

interface ContenderResult {
  ms: number;
  /** From the start to chronyd started on the last node (ntp runs last): everything written and started. */
  configuredMs?: number | null;
  /** anneal: when the last script other than ntp-client ended, ms after the start. */
  lastOtherScriptMs?: number;
  /** Per task (parallel-ssh, ansible) or per role (anneal): wall ms. */
  steps: Record<string, number>;
}

interface Lab {
  t: ReadyLab;
  key: string;
  knownHosts: string;
  tmp: string;
  ips: string[];
  values: BenchValues;
  tasks: ReadyTask[];
}

/**
 * Probes every node after a contender's run and fails the benchmark unless every node is configured.
 * Returns when chronyd started on the last node, in ms after `startedAt` (epoch ms), or null without ntp.
 */
async function verify(lab: Lab, who: string, startedAt: number): Promise<number | null> {
  const outs = await sshAll(lab.key, lab.knownHosts, lab.ips, probeScript(lab.values));
  const problems: string[] = [];
  const started: number[] = [];
  for (const o of outs) {
    const got = parseProbe(o.stdout);
    const bad = o.status === 0 ? verifyProbe(lab.values, lab.tasks, got) : [`probe exited ${o.status}`];
    if (bad.length) problems.push(`${o.ip}: ${bad.join('; ')}`);
    const at = Number(got.get('chronyd-started'));
    if (Number.isFinite(at) && at > 0) started.push(at);
  }
  if (problems.length)
    throw new Error(
      `${who} did not configure ${problems.length} of ${outs.length} nodes:\n  ${problems.slice(0, 10).join('\n  ')}`,
    );
  return lab.tasks.some((x) => x.tag === 'ntp') && started.length === outs.length
    ? Math.max(...started) - startedAt
    : null;
}

async function reset(lab: Lab): Promise<void> {
  requireOk('reset', await sshAll(lab.key, lab.knownHosts, lab.ips, resetScript()));
}

async function runPssh(lab: Lab): Promise<ContenderResult> {
  const n = lab.ips.length;
  const hosts = path.join(lab.tmp, 'pssh-hosts');
  writeFileSync(hosts, lab.ips.join('\n') + '\n');
  const extra = `-i ${lab.key} -o UserKnownHostsFile=${lab.knownHosts} -o StrictHostKeyChecking=no -o BatchMode=yes -o LogLevel=ERROR`;
  const steps: Record<string, number> = {};
  const scripts = psshScripts(lab.values, lab.tasks);
  const t0 = performance.now();
  for (const { tag, script } of scripts) {
    const dir = path.join(lab.tmp, 'pssh', tag);
    const r = await runTimed(
      'parallel-ssh',
      psshArgv([
        '-h',
        hosts,
        '-l',
        'root',
        '-p',
        String(n),
        '-t',
        '120',
        '-x',
        extra,
        '-o',
        `${dir}/out`,
        '-e',
        `${dir}/err`,
      ]),
      { input: script },
    );
    steps[tag] = r.ms;
    if (r.status !== 0) {
      const errs = lab.ips
        .map((ip) => {
          try {
            return `${ip}: ${readFileSync(path.join(dir, 'err', ip), 'utf8').trim()}`;
          } catch {
            return '';
          }
        })
        .filter((l) => l.length > 5);
      throw new Error(
        `parallel-ssh (${tag}) exited ${r.status}: ${r.lines.map((l) => l.line).join(' | ')} ${errs.slice(0, 5).join(' | ')}`,
      );
    }
  }
  return { ms: performance.now() - t0, steps };
}

/** parallel-ssh's argv needs the script on stdin and the remote command last. */
function psshArgv(argv: string[]): string[] {
  return [...argv, '-I', 'bash', '-s'];
}

async function runAnsible(lab: Lab): Promise<ContenderResult> {
  const n = lab.ips.length;
  const dir = path.join(lab.tmp, 'ansible');
  mkdirSync(dir, { recursive: true });
  const inventory = path.join(dir, 'inventory.ini');
  writeFileSync(
    inventory,
    [
      '[lab]',
      ...lab.t.lab.nodes.map((node) => `${node.name} ansible_host=${node.ip}`),
      '',
      '[lab:vars]',
      'ansible_user=root',
      `ansible_ssh_private_key_file=${lab.key}`,
      `ansible_ssh_common_args='-o UserKnownHostsFile=${lab.knownHosts} -o StrictHostKeyChecking=no'`,
      'ansible_python_interpreter=/usr/bin/python3',
      '',
    ].join('\n'),
  );
  const vars = path.join(dir, 'vars.json');
  writeFileSync(vars, JSON.stringify(playbookVars(lab.values)));
  writeFileSync(path.join(dir, 'ansible.cfg'), '');
  const env = {
    ...process.env,
    ANSIBLE_CONFIG: path.join(dir, 'ansible.cfg'),
    ANSIBLE_PIPELINING: 'True',
    ANSIBLE_HOST_KEY_CHECKING: 'False',
    ANSIBLE_RETRY_FILES_ENABLED: 'False',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_LOCAL_TEMP: path.join(dir, 'local-tmp'),
    ANSIBLE_SSH_CONTROL_PATH_DIR: path.join(dir, 'cp'),
    PYTHONUNBUFFERED: '1',
  };
  const tags = lab.tasks.map((t) => t.tag).join(',');
  const r = await runTimed(
    'ansible-playbook',
    ['-i', inventory, '-f', String(n), '-e', `@${vars}`, '--tags', tags, PLAYBOOK],
    { env },
  );
  if (r.status !== 0)
    throw new Error(
      `ansible-playbook exited ${r.status}:\n${r.lines
        .map((l) => l.line)
        .filter((l) => /fatal|FAILED|ERROR|unreachable/i.test(l))
        .slice(0, 10)
        .join('\n')}\n${r.stderr.slice(-2000)}`,
    );
  // Per task: from its banner to the next banner (the default callback prints a task's banner as it starts).
  const marks = r.lines.filter((l) => /^(TASK \[|PLAY RECAP)/.test(l.line));
  const steps: Record<string, number> = { startup: marks[0]?.at ?? 0 };
  for (let i = 0; i + 1 < marks.length; i++) {
    const name = /^TASK \[(.*)\]/.exec(marks[i]!.line)?.[1] ?? marks[i]!.line;
    steps[name] = marks[i + 1]!.at - marks[i]!.at;
  }
  steps['recap+exit'] = r.ms - (marks.at(-1)?.at ?? r.ms);
  return { ms: r.ms, steps };
}

interface AnnealProfile {
  /** Node-role runs of the timed region: endedAt − startedAt (claim to completion written), ms per role. */
  runMs: Record<string, { median: number; max: number }>;
  /** Scripts through the jigs (ssh: upload + run; local: service roles), ms per role; a node's first includes the connect. */
  execMs: Record<string, { median: number; max: number }>;
  /** The first script on each lab node: connect + host key record + upload + run. */
  firstExecMs: { median: number; max: number };
  /** A fresh ssh pool outside the run: connect + `true` on all nodes at once, then `true` again on the open connections. */
  connectAllMs: number;
  execAllMs: number;
  /** From commit to the first script starting on a node. */
  commitToFirstExecMs: number;
  /** Per node: its roles' exec time summed, vs the node's span (first exec start to last exec end). */
  nodeExecSumMs: { median: number; max: number };
  nodeGapMs: { median: number; max: number };
  /** From the last script ending to converge() returning (completion writes, settle). */
  lastExecToSettledMs: number;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s.length ? s[Math.floor((s.length - 1) / 2)]! : 0, max: s.at(-1) ?? 0 };
};

async function runAnneal(lab: Lab): Promise<ContenderResult & { profile: AnnealProfile }> {
  const { t } = lab;
  const { services, store, annealer } = t.anneal;
  // Instrumentation only: every script the ssh jig runs is timed (node, role from the script's header).
  const execs: Array<{ node: string; role: string; start: number; end: number }> = [];
  const holder = annealer as unknown as { jigs: Jigs };
  const jigs = holder.jigs;
  holder.jigs = (jig, node) => {
    const ex = jigs(jig, node);
    return {
      run: async (script, eo) => {
        const start = performance.now();
        try {
          return await ex.run(script, eo);
        } finally {
          const role = /^# ([a-z-]+):/m.exec(script)?.[1] ?? '?';
          execs.push({ node: node.name, role, start, end: performance.now() });
        }
      },
    };
  };
  const nodes = await store.nodes.list({ deploymentId: t.deploymentId });
  for (const node of nodes.filter((x) => !x.system))
    for (const task of lab.tasks) await services.binding.bind(t.deploymentId, task.role, node.id);
  const t0 = performance.now();
  const epoch0 = Date.now();
  await services.changes.commitDeployment(DEPLOYMENT, 'bench');
  await t.converge(600_000);
  const t1 = performance.now();
  holder.jigs = jigs;

  // Every run of the timed region (service roles that re-ran included), from the runs table.
  const runMs: AnnealProfile['runMs'] = {};
  const execMs: AnnealProfile['execMs'] = {};
  const durations = new Map<string, number[]>();
  for (const nr of await t.nodeRoles()) {
    for (const run of await t.runs(nr.id)) {
      if (run.startedAt < epoch0 || run.endedAt == null) continue;
      durations.set(nr.role, [...(durations.get(nr.role) ?? []), run.endedAt - run.startedAt]);
    }
  }
  for (const [role, ds] of durations) runMs[role] = stats(ds);
  for (const role of new Set(execs.map((e) => e.role)))
    execMs[role] = stats(execs.filter((e) => e.role === role).map((e) => e.end - e.start));
  // Per lab node: its first script (the connect, host key record and upload included), its scripts' sum.
  const labNodes = new Set(t.lab.nodes.map((x) => x.name));
  const firsts: number[] = [];
  const byNode = new Map<string, typeof execs>();
  for (const e of execs.filter((x) => labNodes.has(x.node))) byNode.set(e.node, [...(byNode.get(e.node) ?? []), e]);
  for (const es of byNode.values()) {
    const first = es.reduce((a, b) => (a.start <= b.start ? a : b));
    firsts.push(first.end - first.start);
  }
  const spans = [...byNode.values()].map((es) => ({
    sum: es.reduce((s, e) => s + e.end - e.start, 0),
    span: Math.max(...es.map((e) => e.end)) - Math.min(...es.map((e) => e.start)),
  }));

  // Connect cost on its own: a fresh pool (no connection yet), all nodes at once, then the same again.
  const pool = createSshPool({
    username: 'root',
    privateKey: readFileSync(lab.key, 'utf8'),
    hostKeys: createMemoryHostKeyStore(),
  });
  const execAll = async () => {
    const s = performance.now();
    await Promise.all(
      t.lab.nodes.map((node) =>
        pool.executor({ host: node.ip, nodeName: node.name }).run('true', { timeoutMs: 30_000 }),
      ),
    );
    return performance.now() - s;
  };
  const connectAllMs = await execAll();
  const execAllMs = await execAll();
  await pool.dispose();

  const profile: AnnealProfile = {
    runMs,
    execMs,
    firstExecMs: stats(firsts),
    connectAllMs,
    execAllMs,
    commitToFirstExecMs: Math.min(...execs.map((e) => e.start)) - t0,
    nodeExecSumMs: stats(spans.map((s) => s.sum)),
    nodeGapMs: stats(spans.map((s) => s.span - s.sum)),
    lastExecToSettledMs: t1 - Math.max(...execs.map((e) => e.end)),
  };
  const steps: Record<string, number> = {};
  for (const [role, v] of Object.entries(execMs)) steps[role] = v.max;
  const others = execs.filter((e) => e.role !== 'ntp-client').map((e) => e.end - t0);
  return { ms: t1 - t0, steps, profile, lastOtherScriptMs: others.length ? Math.max(...others) : 0 };
}

interface NResult {
  nodes: number;
  tasks: string[];
  roles: string[];
  missingRoles: string[];
  loadBefore: number[];
  loadAfter: number[];
  labUpMs: number;
  servicesMs: number;
  pssh: ContenderResult;
  ansible: ContenderResult;
  anneal: ContenderResult & { profile: AnnealProfile };
  annealOverPssh: number;
  ansibleOverAnneal: number;
  ansibleOverPssh: number;
  targets: { annealVsPssh: boolean; annealVsAnsible: boolean };
}

/** Two more keys for root's authorized_keys (ssh-access/authorized-keys), fresh per lab. */
function benchKeys(tmp: string): string[] {
  return ['operator-1', 'operator-2'].map((name) => {
    const f = path.join(tmp, name);
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `bench-${name}`, '-f', f], { stdio: 'ignore' });
    return readFileSync(`${f}.pub`, 'utf8').trim();
  });
}

let current: ReadyLab | null = null;
let currentTmp: string | null = null;

async function cleanup(): Promise<void> {
  const t = current;
  current = null;
  if (t) {
    for (const role of ['ntp-service', 'dns-service', 'proxy-service'])
      if (t.anneal.registry.roles.has(role)) await t.remove(role).catch(() => undefined);
    await t.close().catch((err: unknown) => console.error(`bench:ready: teardown: ${String(err)}`));
  }
  if (currentTmp) rmSync(currentTmp, { recursive: true, force: true });
  currentTmp = null;
}

async function runOnce(n: number, args: Args): Promise<NResult> {
  const loadBefore = loadavg().map((x) => Number(x.toFixed(2)));
  log(args, `N=${n}: lab up…`);
  const tUp = performance.now();
  const t = await readyLab({
    prefix: 'bench',
    nodes: n,
    attribs: { 'ntp/set-clock': false, 'ntp/allow': ['10.231.0.0/24'], 'proxy/allow': ['10.231.0.0/24'] },
    bind: [],
  });
  current = t;
  const labUpMs = performance.now() - tUp;
  const { registry, services, store } = t.anneal;
  const tasks = READY_TASKS.filter((x) => registry.roles.has(x.role));
  const missingRoles = READY_TASKS.filter((x) => !registry.roles.has(x.role)).map((x) => x.role);
  const tmp = mkdtempSync(path.join(tmpdir(), 'bench-ready-'));
  currentTmp = tmp;
  const attr = (name: string) => registry.attribs.get(name)?.default;
  const values: BenchValues = {
    admin: t.lab.hostIp,
    domain: String(attr('dns/domain') ?? 'anneal.internal'),
    proxyPort: Number(attr('proxy/port') ?? 3128),
    noProxy: (attr('proxy/no-proxy') as string[] | undefined) ?? ['localhost', '127.0.0.1'],
    nodes: t.lab.nodes.map((x) => ({ name: x.name, ip: x.ip })),
    authorizedKeys: [publicKeyLine(t.key), ...benchKeys(tmp)],
  };
  if (registry.attribs.has('ssh-access/authorized-keys'))
    await services.changes.setAttrib(
      'deployment',
      t.deploymentId,
      'ssh-access/authorized-keys',
      values.authorizedKeys.slice(1),
      'bench',
    );
  const lab: Lab = {
    t,
    key: t.key,
    knownHosts: path.join(tmp, 'known_hosts'),
    tmp,
    ips: t.lab.nodes.map((x) => x.ip),
    values,
    tasks,
  };

  // The service daemons, through anneal's service roles, before any timed region: they serve all three.
  const svc = await store.nodes.serviceNode(t.deploymentId);
  if (!svc) throw new Error('no service node');
  const serviceRoles = [
    ...new Set(
      tasks.flatMap((x) => registry.role(x.role).requires.filter((r) => registry.role(r).flags.has('service'))),
    ),
  ];
  for (const role of serviceRoles) await services.binding.bind(t.deploymentId, role, svc.id);
  await services.changes.commitDeployment(DEPLOYMENT, 'bench');
  const servicesMs = await t.converge(120_000);
  log(
    args,
    `N=${n}: services up (${serviceRoles.join(', ')}) in ${(servicesMs / 1000).toFixed(2)} s; tasks: ${tasks.map((x) => x.tag).join(', ')}`,
  );

  // Warm-up: host keys into the temp known_hosts, the nodes' files saved as lab up left them.
  requireOk('warm-up', await sshAll(lab.key, lab.knownHosts, lab.ips, snapshotScript()));

  const contender = async <R extends ContenderResult>(name: string, run: (lab: Lab) => Promise<R>): Promise<R> => {
    await reset(lab);
    log(args, `N=${n}: ${name}…`);
    const startedAt = Date.now();
    const r = await run(lab);
    const chronydMs = await verify(lab, name, startedAt);
    // anneal's per-node role order is its claim order, so a script may end after chronyd started.
    r.configuredMs = chronydMs === null ? null : Math.max(chronydMs, r.lastOtherScriptMs ?? 0);
    return r;
  };
  const pssh = await contender('parallel-ssh', runPssh);
  const ansible = await contender('ansible-playbook', runAnsible);
  const anneal = await contender('anneal', runAnneal);

  await cleanup();
  const annealOverPssh = anneal.ms / pssh.ms;
  const ansibleOverAnneal = ansible.ms / anneal.ms;
  return {
    nodes: n,
    tasks: tasks.map((x) => x.tag),
    roles: tasks.map((x) => x.role),
    missingRoles,
    loadBefore,
    loadAfter: loadavg().map((x) => Number(x.toFixed(2))),
    labUpMs,
    servicesMs,
    pssh,
    ansible,
    anneal,
    annealOverPssh,
    ansibleOverAnneal,
    ansibleOverPssh: ansible.ms / pssh.ms,
    targets: {
      annealVsPssh: annealOverPssh <= TARGET_VS_PSSH,
      annealVsAnsible: ansibleOverAnneal >= TARGET_VS_ANSIBLE,
    },
  };
}

const s = (ms: number) => (ms / 1000).toFixed(2);
const steps = (r: Record<string, number>) =>
  Object.entries(r)
    .map(([k, v]) => `${k} ${s(v)}`)
    .join(', ');

function print(results: NResult[]): void {
  console.log(
    'nodes  tasks                       anneal s  parallel-ssh s  ansible s  anneal÷pssh  ansible÷anneal  ansible÷pssh',
  );
  const row = (r: NResult, what: string, get: (c: ContenderResult) => number) => {
    const [a, p, x] = [get(r.anneal), get(r.pssh), get(r.ansible)];
    console.log(
      [
        String(r.nodes).padEnd(6),
        `${r.tasks.join(',')} ${what}`.padEnd(27),
        s(a).padEnd(9),
        s(p).padEnd(15),
        s(x).padEnd(10),
        (a / p).toFixed(2).padEnd(12),
        (x / a).toFixed(2).padEnd(15),
        (x / p).toFixed(2),
      ].join(' '),
    );
  };
  for (const r of results) {
    row(r, 'wall', (c) => c.ms);
    if (r.anneal.configuredMs && r.pssh.configuredMs && r.ansible.configuredMs)
      row(r, 'configured', (c) => c.configuredMs!);
  }
  console.log(
    '(wall: until every node is configured and its chronyd selected the service, as ntp-client waits for; ' +
      "configured: until chronyd started on the last node, i.e. everything written and started, before chrony's own source selection)",
  );
  for (const r of results) {
    const p = r.anneal.profile;
    console.log(
      `\nN=${r.nodes} (load ${r.loadBefore.join(' ')} → ${r.loadAfter.join(' ')}; lab up ${s(r.labUpMs)} s, service roles ${s(r.servicesMs)} s, untimed)`,
    );
    if (r.missingRoles.length) console.log(`  not run (no such role yet): ${r.missingRoles.join(', ')}`);
    console.log(
      `  targets: anneal ≤ ${TARGET_VS_PSSH}× parallel-ssh: ${r.annealOverPssh.toFixed(2)}× ${r.targets.annealVsPssh ? 'met' : 'MISSED'}; ` +
        `ansible ≥ ${TARGET_VS_ANSIBLE}× anneal: ${r.ansibleOverAnneal.toFixed(2)}× ${r.targets.annealVsAnsible ? 'met' : 'MISSED'} (on wall time)`,
    );
    const [ca, cp, cx] = [r.anneal.configuredMs, r.pssh.configuredMs, r.ansible.configuredMs];
    if (ca && cp && cx)
      console.log(
        `  on configured time: anneal÷pssh ${(ca / cp).toFixed(2)}× ${ca / cp <= TARGET_VS_PSSH ? 'met' : 'missed'}; ` +
          `ansible÷anneal ${(cx / ca).toFixed(2)}× ${cx / ca >= TARGET_VS_ANSIBLE ? 'met' : 'missed'}`,
      );
    console.log(`  parallel-ssh per task: ${steps(r.pssh.steps)}`);
    console.log(`  ansible per task: ${steps(r.ansible.steps)}`);
    const mm = (x: Record<string, { median: number; max: number }>) =>
      Object.entries(x)
        .map(([k, v]) => `${k} ${s(v.median)}/${s(v.max)}`)
        .join(', ');
    console.log(`  anneal scripts per role (median/max s): ${mm(p.execMs)}`);
    console.log(`  anneal runs table, claim → completion written (median/max s): ${mm(p.runMs)}`);
    console.log(
      `  anneal: commit → first script ${s(p.commitToFirstExecMs)} s; first script on a node (connect + host key record + run) ` +
        `${s(p.firstExecMs.median)}/${s(p.firstExecMs.max)} s; per node: scripts ${s(p.nodeExecSumMs.median)}/${s(p.nodeExecSumMs.max)} s, ` +
        `gaps between them ${s(p.nodeGapMs.median)}/${s(p.nodeGapMs.max)} s; last script → settled ${s(p.lastExecToSettledMs)} s; ` +
        `a fresh pool: connect + \`true\` on all ${r.nodes} nodes ${s(p.connectAllMs)} s, again on the open connections ${s(p.execAllMs)} s`,
    );
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  checkPrerequisites();
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      console.error(`bench:ready: ${sig}: tearing the lab down…`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  const results: NResult[] = [];
  for (const n of args.nodes) results.push(await runOnce(n, args));
  if (args.json) {
    console.log(
      JSON.stringify(
        {
          command: `npm run bench:ready -- --nodes ${args.nodes.join(',')}`,
          date: new Date().toISOString(),
          targets: { annealOverPsshAtMost: TARGET_VS_PSSH, ansibleOverAnnealAtLeast: TARGET_VS_ANSIBLE },
          results,
        },
        null,
        2,
      ),
    );
  } else print(results);
}

main().catch(async (err) => {
  console.error(`bench:ready: ${err instanceof Error ? err.message : String(err)}`);
  await cleanup();
  process.exit(1);
});
