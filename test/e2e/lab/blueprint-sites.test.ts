/**
 * The same install replayed site to site (DESIGN §7b; the acceptance test of blueprints; the in-process
 * version is test/integration/api/blueprints.test.ts). Two sites on one host: lab `sitea` on
 * 10.233.0.0/24 with anneal on SQLite and lab `siteb` on 10.234.0.0/24 with anneal on PostgreSQL, each
 * anneal in-process and listening on loopback and on its lab's host address. Their 5 nodes discover
 * themselves into `system` and reach ready-node. The operator's steps go through the CLI (bin/anneal as a
 * child process, ANNEAL_URL and ANNEAL_TOKEN): `nodes tag`, `secrets set` (stdin), `blueprints
 * apply|plan|export`; hand changes (an attrib, an unbind, a delete) go through the API.
 *
 * 1. Both sites reach ready-node; their nodes are tagged alike (3 `cluster`, 1 `worker`, 1 untagged), and
 *    each site gets its own value of the secret `tenant-secret`.
 * 2. sitea: `apply BLUEPRINT --wait` converges the tenant (a 3-node cluster with clients that write on the
 *    nodes and on the admin host, one worker); `plan` shows no changes; `export` holds no node name, MAC,
 *    address or secret value, and plans without changes on sitea too.
 * 3. siteb: `plan EXPORT --out PLAN` lists each siteb node → roles (exit 2); `apply PLAN --wait` converges;
 *    `plan EXPORT` shows no changes; the node-roles, check results, files on the nodes and on the admin host
 *    and the marker processes are sitea's with sitea's names and addresses replaced by siteb's.
 * 4. A saved plan whose site changed by hand since (a node tagged) is refused with ERR_PLAN_STALE, and
 *    writes nothing: node-roles, the deployment, its attribs and audit events, the nodes are unchanged.
 * 5. The nth time: three times `DELETE /deployments/tenant`, then `apply EXPORT --wait`: each time exactly
 *    the state of step 3, every check passing, and `plan` without changes.
 * 6. Drift: a role unbound by hand is planned back (`+ bind ROLE on NODE`, exit 2) and applied back.
 *
 * Cluster member lists follow node ids (core/store/node-roles.ts `members`), that is discovery order,
 * which differs from site to site: they are compared as sets (the lines of each file sorted).
 *
 * NOTE: siteb's nodes join one by one (`discovery: 'one-by-one'`; sitea's, on SQLite, all at once). On
 * PostgreSQL, discoveries at the same time are a binding bug outside blueprints: the first ones conflict
 * (409 ERR_CONFLICT on DeploymentRole, which a lab node takes for "registered already" and stops
 * announcing), later ones lose cluster edges (an ssh-known-hosts node-role without the ssh-access members
 * bound alongside it: that node's /etc/ssh/ssh_known_hosts lacks them and its ready check fails), and a
 * discovery beside the annealer's heartbeat can deadlock, which stops the annealer's loop for good (the
 * helper starts the annealer once every node is registered).
 *
 * The test owns the lab names sitea and siteb in the default state directory (lab tests never run at the
 * same time): a lab of either name left there by a killed run is taken down first.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import type { NodeRecord, NodeRoleRecord } from '../../../core/domain/records';
import { labDown } from '../../../core/lab';
import type { Engine } from '../../../core/store/engine';
import { cli, type CliResult } from '../../integration/cli/cli-harness';
import {
  discoveredLab,
  FIXTURE_NODE_FILES,
  fixtureMarkerProcesses,
  type DiscoveredLab,
  type ListBody,
} from '../../helpers/discovered-lab';
import { requireEngine } from '../../helpers/engines';
import { requireReadyLab } from '../../helpers/ready-lab';
import { waitFor } from '../../helpers/server';

const NODES = 5;
const TENANT = 'tenant';
const MARKER = 'tenant-v1';
const SITES: {
  name: string;
  subnet: string;
  engine: Engine;
  prefix: string;
  discovery: 'together' | 'one-by-one';
}[] = [
  { name: 'sitea', subnet: '10.233.0.0/24', engine: 'sqlite', prefix: '10.233.', discovery: 'together' },
  { name: 'siteb', subnet: '10.234.0.0/24', engine: 'postgresql', prefix: '10.234.', discovery: 'one-by-one' },
];
/** Tags by node index, the same on both sites: three cluster members, one worker, one node untagged. */
const TAGS: Record<number, string[]> = { 1: ['cluster'], 2: ['cluster'], 3: ['worker'], 4: ['cluster'], 5: [] };
const MEMBER_ROLES = ['test-cluster', 'test-node-file', 'test-remote', 'test-members'];
const WORKER_ROLES = ['test-member', 'test-remote'];

const BLUEPRINT = `apiVersion: anneal/v1
kind: Blueprint
metadata:
  name: tenant-blueprint
  description: A tenant - a 3-node cluster with its clients, and one worker
spec:
  deployment:
    name: ${TENANT}
    parent: system
  attribs:
    test/marker: ${MARKER}
    test/secret:
      secretRef: tenant-secret
  groups:
    - name: members
      count: 3
      select:
        tags: [cluster]
      roles: [${MEMBER_ROLES.join(', ')}]
    - name: workers
      count: 1
      select:
        tags: [worker]
      roles: [${WORKER_ROLES.join(', ')}]
`;

/** What a site is judged on: the same on both sites (names aside) and after every apply of the blueprint. */
interface SiteState {
  /** Every node-role of the site: role@node:state. */
  nodeRoles: string[];
  /** Each node's check results (role/check: ok|FAILED). */
  checks: Record<string, string[]>;
  /** What the fixture's ssh roles left on each node (member lists sorted). */
  nodeFiles: Record<string, string>;
  processes: string[];
  /** What the fixture's local roles wrote on the admin host (member lists sorted). */
  adminFiles: Record<string, string>;
}

/** Sorts each run of indented lines (a member list in FIXTURE_NODE_FILES' output). */
const sortIndented = (text: string) =>
  text.replace(/(?:^ {2}.*\n)+/gm, (block) => block.split('\n').filter(Boolean).sort().join('\n') + '\n');
const sortLines = (text: string) => text.split('\n').filter(Boolean).sort().join('\n');

describe('e2e: one blueprint, two sites — applied on sitea (SQLite), exported, replayed on siteb (PostgreSQL)', function () {
  this.timeout(240_000);
  const sites: DiscoveredLab[] = [];
  const a = () => sites[0]!;
  const b = () => sites[1]!;
  const secrets = SITES.map((s) => `${s.name}-only-${randomBytes(6).toString('hex')}`);
  const timings: [string, number][] = [];
  let dir = '';
  let blueprintFile = '';
  let exportFile = '';
  /** siteb's state once the export was applied there (step 3): what every later apply must give again. */
  let installedB: SiteState;

  const phase = (label: string, t0: number) => {
    const ms = Date.now() - t0;
    timings.push([label, ms]);
    console.log(`      ⏱ ${label}: ${(ms / 1000).toFixed(1)} s`);
  };
  const nodeName = (site: DiscoveredLab, index: number) => site.lab.nodes[index - 1]!.name;

  /** `anneal ...args` against a site, which must exit with `code`. */
  async function anneal(site: DiscoveredLab, args: string[], code: number, input?: string): Promise<CliResult> {
    const res = await cli(args, site.cliEnv, input);
    expect(res.code, `${site.name}: anneal ${args.join(' ')}\n${res.stdout}\n${res.stderr}`).to.equal(code);
    return res;
  }

  /** The placement lines of a plan's text (`  NODE → GROUP: ROLES`). */
  const placementOf = (text: string) =>
    text
      .split('\n')
      .filter((l) => / → /.test(l))
      .map((l) => l.trim());

  async function stateOf(site: DiscoveredLab): Promise<SiteState> {
    const [checks, nodeRoles] = await Promise.all([site.checks(), site.nodeRoles()]);
    const nodeFiles: Record<string, string> = {};
    await Promise.all(
      site.lab.nodes.map(async (n) => {
        nodeFiles[n.name] = sortIndented(await site.onNode(n.ip, FIXTURE_NODE_FILES));
      }),
    );
    return {
      nodeRoles: nodeRoles.map((nr) => `${nr.role}@${nr.node}:${nr.state}`).sort(),
      checks,
      nodeFiles,
      processes: fixtureMarkerProcesses(site.name),
      adminFiles: Object.fromEntries(Object.entries(site.adminFiles()).map(([f, text]) => [f, sortLines(text)])),
    };
  }

  /** sitea's state as siteb's would be: node names and addresses replaced. */
  const asSiteb = (state: SiteState): SiteState =>
    JSON.parse(
      JSON.stringify(state)
        .replaceAll(`.${SITES[0]!.name}.lab`, `.${SITES[1]!.name}.lab`)
        .replaceAll(SITES[0]!.prefix, SITES[1]!.prefix),
    ) as SiteState;

  /** The tenant's node-roles: role@node, sorted. */
  const tenantNodeRoles = async (site: DiscoveredLab) =>
    (await site.nodeRoles(`&deployment=${TENANT}`)).map((nr) => `${nr.role}@${nr.node}`).sort();

  const expectAllChecksPass = (state: SiteState) => {
    for (const [n, checks] of Object.entries(state.checks)) {
      expect(checks.length, n).to.be.above(0);
      expect(
        checks.filter((c) => !c.endsWith(': ok')),
        n,
      ).to.deep.equal([]);
    }
  };

  before(async function () {
    this.timeout(300_000);
    requireReadyLab(this, ['chronyd', 'chronyc', 'dnsmasq', 'tinyproxy', 'setsid', 'pgrep', 'pkill', 'ssh']);
    await requireEngine(this, 'postgresql');
    dir = mkdtempSync(path.join(tmpdir(), 'anneal-blueprint-sites-'));
    blueprintFile = path.join(dir, 'tenant.yaml');
    exportFile = path.join(dir, 'X.yaml');
    writeFileSync(blueprintFile, BLUEPRINT);
    const t0 = Date.now();
    for (const s of SITES) await labDown({ name: s.name });
    // Both labs at once; a site that came up is kept (and closed in `after`) even when the other failed.
    const up = await Promise.allSettled(
      SITES.map((s) =>
        discoveredLab({ name: s.name, nodes: NODES, engine: s.engine, subnet: s.subnet, discovery: s.discovery }),
      ),
    );
    for (const r of up) if (r.status === 'fulfilled') sites.push(r.value);
    for (const r of up) if (r.status === 'rejected') throw r.reason;
    phase('labs up, both anneals listening (siteb: its nodes registered one by one)', t0);
  });

  after(async function () {
    this.timeout(120_000);
    const t0 = Date.now();
    const errors: unknown[] = [];
    for (const s of sites.splice(0)) await s.close().catch((err: unknown) => errors.push(err));
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (timings.length) {
      phase('teardown: anneal, servers, service daemons, labs, databases', t0);
      const total = timings.reduce((sum, [, ms]) => sum + ms, 0);
      console.log(`      ⏱ total ${(total / 1000).toFixed(1)} s`);
    }
    if (errors.length) throw errors[0];
  });

  it('both sites: the 5 nodes discover themselves into system and reach ready-node with every check passing', async () => {
    const t0 = Date.now();
    const ready = await Promise.all(sites.map((s) => s.reachReadyNode(150_000)));
    for (const [i, s] of sites.entries()) {
      expect(s.lab).to.include({ name: SITES[i]!.name, subnet: SITES[i]!.subnet, hostIp: `${SITES[i]!.prefix}0.1` });
      expect(s.db.target.engine).to.equal(SITES[i]!.engine);
      expect(s.lab.nodes.map((n) => n.ip)).to.deep.equal([1, 2, 3, 4, 5].map((j) => `${SITES[i]!.prefix}0.${10 + j}`));
      console.log(`      ${s.name}: at ready-node in ${ready[i]!.ms} ms (converge ${ready[i]!.convergeMs} ms)`);
    }
    phase('discovery and ready-node, both sites', t0);
  });

  it('tags the nodes alike on both sites (anneal nodes tag) and sets each site its own secret (anneal secrets set, stdin)', async () => {
    const t0 = Date.now();
    await Promise.all(
      sites.flatMap((s) =>
        Object.entries(TAGS)
          .filter(([, tags]) => tags.length)
          .map(async ([i, tags]) => {
            const node = nodeName(s, Number(i));
            const res = await anneal(s, ['nodes', 'tag', node, ...tags], 0);
            expect(res.stdout).to.equal(`${node}: tags ${tags.join(', ')}\n`);
          }),
      ),
    );
    for (const [i, s] of sites.entries()) {
      const res = await anneal(s, ['secrets', 'set', 'tenant-secret'], 0, `${secrets[i]}\n`);
      expect(res.stdout).to.equal('secret tenant-secret set\n');
      const listed = await anneal(s, ['secrets', 'list', '--json'], 0);
      expect(listed.stdout).not.to.include(secrets[i]);
      expect((JSON.parse(listed.stdout) as ListBody<{ name: string }>).items.map((x) => x.name)).to.deep.equal([
        'tenant-secret',
      ]);
      const nodes = (await s.get<ListBody<NodeRecord>>('/nodes?deployment=system&limit=1000')).items;
      const tagged = Object.fromEntries(
        nodes.filter((n) => n.name.endsWith(`.${s.name}.lab`)).map((n) => [n.name, n.tags]),
      );
      expect(tagged).to.deep.equal(Object.fromEntries(Object.entries(TAGS).map(([i, t]) => [nodeName(s, +i), t])));
    }
    phase('tags and secrets, both sites (CLI)', t0);
  });

  let installedA: SiteState;

  it('sitea: apply --wait converges the blueprint, plan shows no changes, export holds no node name, MAC, address or secret', async () => {
    const t0 = Date.now();
    const applied = await anneal(a(), ['blueprints', 'apply', blueprintFile, '--wait'], 0);
    expect(applied.stdout).to.include('Applied: ');
    expect(applied.stdout).to.match(new RegExp(`^${TENANT}: converged, \\d+ node-roles active in [\\d.]+ s$`, 'm'));
    phase('sitea: blueprints apply --wait', t0);

    let t = Date.now();
    const again = await anneal(a(), ['blueprints', 'plan', blueprintFile], 0);
    expect(again.stdout).to.equal(`No changes. Deployment ${TENANT} matches blueprint tenant-blueprint.\n`);
    await anneal(a(), ['blueprints', 'export', TENANT, '--out', exportFile], 0);
    const text = readFileSync(exportFile, 'utf8');
    const forbidden = [
      a().name,
      SITES[0]!.prefix,
      secrets[0]!,
      ...a().lab.nodes.flatMap((n) => [n.name, n.ip, ...n.macs, ...n.macs.map((m) => m.toUpperCase())]),
    ];
    for (const f of forbidden) expect(text, `the export names ${f}`).not.to.include(f);
    expect(parse(text)).to.deep.equal({
      apiVersion: 'anneal/v1',
      kind: 'Blueprint',
      metadata: { name: TENANT },
      spec: {
        deployment: { name: TENANT, parent: 'system' },
        attribs: { 'test/marker': MARKER, 'test/secret': { secretRef: 'tenant-secret' } },
        groups: [
          {
            name: 'test-cluster',
            count: 3,
            select: { tags: ['cluster'] },
            roles: [...MEMBER_ROLES].sort(),
            attribs: {},
          },
          { name: 'test-member', count: 1, select: { tags: ['worker'] }, roles: WORKER_ROLES, attribs: {} },
        ],
      },
    });
    // The export plans without changes on the site it came from.
    const replanned = await anneal(a(), ['blueprints', 'plan', exportFile], 0);
    expect(replanned.stdout).to.equal(`No changes. Deployment ${TENANT} matches blueprint ${TENANT}.\n`);
    phase('sitea: plan, export, plan the export', t);

    t = Date.now();
    installedA = await stateOf(a());
    const members = [1, 2, 4].map((i) => nodeName(a(), i));
    for (const n of members) {
      expect(installedA.nodeFiles[n], n).to.equal(
        `/var/lib/anneal-test/\n/var/lib/anneal-test/test-node-file.txt:\n${members.map((m) => `  ${m}\n`).join('')}\n` +
          `/root/anneal-test.marker:\n  ${MARKER}\n`,
      );
      expect(installedA.adminFiles[`${n}.members`], n).to.equal(members.join('\n'));
    }
    expect(installedA.nodeFiles[nodeName(a(), 3)]).to.equal(`/root/anneal-test.marker:\n  ${MARKER}\n`);
    expect(installedA.nodeFiles[nodeName(a(), 5)]).to.equal('');
    expect(Object.keys(installedA.adminFiles).sort()).to.deep.equal(members.map((m) => `${m}.members`));
    expect(installedA.processes).to.deep.equal(members.map((m) => `anneal-test-node-file@${m} infinity`));
    expectAllChecksPass(installedA);
    expect(installedA.nodeRoles.filter((nr) => !nr.endsWith(':active'))).to.deep.equal([]);
    phase('sitea: what the roles wrote, checks', t);
  });

  it("siteb: the export plans each of siteb's nodes → roles (exit 2), the saved plan applies, and the nodes hold what sitea's hold", async () => {
    let t = Date.now();
    const planFile = path.join(dir, 'plan.yaml');
    const planned = await anneal(b(), ['blueprints', 'plan', exportFile, '--out', planFile], 2);
    expect(planned.stdout).not.to.include(a().name);
    for (const secret of secrets) expect(planned.stdout).not.to.include(secret);
    expect(planned.stdout).to.include('+ set test/secret = {"secretRef":"tenant-secret"}');
    expect(planned.stdout).to.include(`+ create deployment ${TENANT} (under system)`);
    expect(placementOf(planned.stdout)).to.deep.equal([
      ...[1, 2, 4].map((i) => `${nodeName(b(), i)} → test-cluster: ${[...MEMBER_ROLES].sort().join(', ')}`),
      `${nodeName(b(), 3)} → test-member: ${WORKER_ROLES.join(', ')}`,
    ]);
    for (const i of [1, 2, 3, 4]) expect(planned.stdout).to.include(`+ move ${nodeName(b(), i)} into ${TENANT}`);
    expect(planned.stdout).not.to.include(nodeName(b(), 5));
    expect(parse(readFileSync(planFile, 'utf8'))).to.include({ apiVersion: 'anneal/v1', kind: 'BlueprintPlan' });

    const applied = await anneal(b(), ['blueprints', 'apply', planFile, '--wait'], 0);
    expect(applied.stdout).to.match(new RegExp(`^${TENANT}: converged, \\d+ node-roles active in [\\d.]+ s$`, 'm'));
    const again = await anneal(b(), ['blueprints', 'plan', exportFile], 0);
    expect(again.stdout).to.equal(`No changes. Deployment ${TENANT} matches blueprint ${TENANT}.\n`);
    phase('siteb: plan --out, apply the plan --wait, plan', t);

    t = Date.now();
    installedB = await stateOf(b());
    expectAllChecksPass(installedB);
    // The same node-roles, check results, files and processes as sitea, with siteb's names and addresses.
    expect(installedB).to.deep.equal(asSiteb(installedA));
    phase('siteb: what the roles wrote, checks, compared with sitea', t);
  });

  it('siteb: a saved plan is refused with ERR_PLAN_STALE once a node was tagged by hand, and writes nothing', async () => {
    const t = Date.now();
    const tenant = await b().get<{ id: number }>(`/deployments/${TENANT}`);
    const spare = nodeName(b(), 5);
    /** What a refused apply must leave as it was. */
    const records = async () => ({
      nodeRoles: (await b().nodeRoles()).map(
        (nr: NodeRoleRecord) => `${nr.id} ${nr.role}@${nr.node}:${nr.state} g${nr.generation}/${nr.observedGeneration}`,
      ),
      deployment: await b().get(`/deployments/${TENANT}`),
      attribs: await b().get(`/deployments/${TENANT}/attribs?limit=1000`),
      events: (await b().get<ListBody<{ id: number }>>(`/events?object=deployment:${tenant.id}&limit=1000`)).items,
      nodes: (await b().get<ListBody<NodeRecord>>('/nodes?limit=1000')).items.map(
        (n) => `${n.name} d${n.deploymentId} [${n.tags.join(',')}]`,
      ),
    });
    // A value changed by hand, so the saved plan has something to write.
    const put = await b().api('PUT', `/deployments/${TENANT}/attribs/test/marker`, { value: 'by-hand' });
    expect(put.status, put.text).to.be.oneOf([200, 201]);
    const planFile = path.join(dir, 'stale.yaml');
    const saved = await anneal(b(), ['blueprints', 'plan', exportFile, '--out', planFile], 2);
    expect(saved.stdout).to.include(`~ test/marker: "by-hand" → "${MARKER}"`);

    const tagged = await anneal(b(), ['nodes', 'tag', spare, 'cluster'], 0);
    expect(tagged.stdout).to.equal(`${spare}: tags cluster\n`);
    const before = await records();
    const refused = await anneal(b(), ['blueprints', 'apply', planFile, '--wait'], 1);
    expect(refused.stderr).to.include('ERR_PLAN_STALE');
    expect(refused.stderr).to.include('the candidate nodes');
    expect(await records()).to.deep.equal(before);
    const marker = await b().get<{ proposed: unknown }>(`/deployments/${TENANT}/attribs/test/marker`);
    expect(marker.proposed).to.equal('by-hand');

    // Back as it was: the tag off, the blueprint applied again.
    await anneal(b(), ['nodes', 'untag', spare, 'cluster'], 0);
    await anneal(b(), ['blueprints', 'apply', exportFile, '--wait'], 0);
    await anneal(b(), ['blueprints', 'plan', exportFile], 0);
    expect(await stateOf(b())).to.deep.equal(installedB);
    phase('siteb: stale plan refused, site put back', t);
  });

  it('siteb, the nth time: deleted and applied again three times — the same node-roles on the same nodes, every check passing, plan without changes', async () => {
    const first = await tenantNodeRoles(b());
    for (let round = 1; round <= 3; round++) {
      const t0 = Date.now();
      const deleted = await b().deleteDeployment(TENANT);
      const back = (await b().get<ListBody<NodeRecord>>('/nodes?deployment=system&limit=1000')).items;
      expect(back.filter((n) => !n.system && n.name.endsWith(`.${b().name}.lab`))).to.have.length(NODES);
      const t1 = Date.now();
      const applied = await anneal(b(), ['blueprints', 'apply', exportFile, '--wait'], 0);
      expect(applied.stdout).to.include(`+ create deployment ${TENANT} (under system)`);
      const applyMs = Date.now() - t1;
      await anneal(b(), ['blueprints', 'plan', exportFile], 0);
      expect(await tenantNodeRoles(b()), `round ${round}`).to.deep.equal(first);
      const state = await stateOf(b());
      expectAllChecksPass(state);
      expect(state, `round ${round}`).to.deep.equal(installedB);
      console.log(
        `      round ${round}: ${first.length} tenant node-roles; delete ${deleted.ms} ms, apply --wait ${applyMs} ms`,
      );
      phase(`siteb: round ${round} (delete, apply --wait, plan, checks)`, t0);
    }
  });

  it('siteb: a role unbound by hand is planned back (+ bind, exit 2) and applied back', async () => {
    const t = Date.now();
    const node = b().lab.nodes[0]!;
    const res = await b().api('POST', `/deployments/${TENANT}/unbind`, { role: 'test-remote', node: node.name });
    expect(res.status, res.text).to.equal(202);
    await waitFor(
      async () => ((await tenantNodeRoles(b())).includes(`test-remote@${node.name}`) ? undefined : ('gone' as const)),
      { timeoutMs: 60_000, intervalMs: 100, describe: () => b().describeNodeRoles(`&deployment=${TENANT}`) },
    );
    // Its remove ran on the node.
    expect(await b().onNode(node.ip, 'test -e /root/anneal-test.marker && echo present || echo absent')).to.equal(
      'absent\n',
    );
    const drift = await anneal(b(), ['blueprints', 'plan', exportFile], 2);
    expect(drift.stdout.split('\n').filter((l) => l.startsWith('+ ') || l.startsWith('- '))).to.deep.equal([
      `+ bind test-remote on ${node.name}`,
    ]);
    await anneal(b(), ['blueprints', 'apply', exportFile, '--wait'], 0);
    await anneal(b(), ['blueprints', 'plan', exportFile], 0);
    const state = await stateOf(b());
    expect(state).to.deep.equal(installedB);
    phase('siteb: drift planned back and applied', t);
  });
});
