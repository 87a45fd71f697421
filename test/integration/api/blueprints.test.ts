/**
 * Blueprints through the API on both engines, with the `test` fixture's roles: plan (placement by count and
 * tags, the exact changes, the impacted set), apply (all or nothing, then plan shows no changes), export →
 * plan without changes, drift shown as the change that puts it back, a stale saved plan refused, site
 * secrets write-only, and bad input — each a coded error with the database dump unchanged.
 */
import { expect } from 'chai';
import { stringify } from 'yaml';
import { describeApi, startTestApi, type TestApi } from '../../helpers/api';
import { dumpDatabase } from '../../helpers/engines';

const NODES = ['n1.lab', 'n2.lab', 'n3.lab', 'n4.lab', 'n5.lab'];

interface PlanBody {
  plan: {
    changes: number;
    createDeployment: boolean;
    placements: { group: string; node: string; roles: string[]; joins: boolean }[];
    joins: string[];
    leaves: string[];
    bind: { role: string; node: string; requiredBy?: string }[];
    unbind: { role: string; node: string; reason: string }[];
    attribs: { scope: string; target: string; attrib: string; from: unknown; to: unknown }[];
    runs: { role: string; node: string; why: string; destructive: boolean }[];
    commit: boolean;
  };
  text: string[];
  fingerprint: { value: string; sections: Record<string, string> };
  blueprint: unknown;
}

function blueprint(
  over: { members?: number; attribs?: Record<string, unknown>; workerAttribs?: Record<string, unknown> } = {},
) {
  return {
    apiVersion: 'anneal/v1',
    kind: 'Blueprint',
    metadata: { name: 'tenant-3' },
    spec: {
      deployment: { name: 'tenant', parent: 'system' },
      attribs: over.attribs ?? { 'test/marker': 'site' },
      groups: [
        {
          name: 'members',
          count: over.members ?? 3,
          select: { tags: ['cluster'] },
          roles: ['test-cluster', 'test-workload'],
        },
        {
          name: 'workers',
          count: 1,
          select: { tags: ['worker'] },
          roles: ['test-member'],
          attribs: over.workerAttribs ?? {},
        },
      ],
    },
  };
}

async function setUp(api: TestApi): Promise<void> {
  for (const [i, name] of NODES.entries()) {
    expect((await api.post('/nodes', { name })).status, name).to.equal(201);
    const tags = i < 3 ? ['cluster', 'rack1'] : i === 3 ? ['worker'] : [];
    expect((await api.call('PUT', `/nodes/${name}/tags`, { tags })).status).to.equal(200);
  }
}

async function plan(api: TestApi, bp: unknown, overlay?: unknown): Promise<PlanBody> {
  const res = await api.post('/blueprints/plan', { blueprint: bp, ...(overlay ? { overlay } : {}) });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body as PlanBody;
}

async function apply(api: TestApi, body: Record<string, unknown>) {
  const res = await api.post('/blueprints/apply', body);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body as { applied: boolean; plan: PlanBody['plan'] };
}

/** The deployment's node-roles (role@node, cohort) and the edges between them, by role@node. */
async function graphOf(api: TestApi) {
  const items = (
    (await api.get('/deployments/tenant/node-roles?limit=1000')).body as {
      items: { id: number; role: string; node: string; cohort: number }[];
    }
  ).items;
  const name = new Map(items.map((nr) => [nr.id, `${nr.role}@${nr.node}`]));
  const edges: string[] = [];
  for (const nr of items) {
    const parents = (await api.get(`/node-roles/${nr.id}/parents?limit=1000`)).body as {
      items: { id: number; role: string; node: string; soft: boolean }[];
    };
    for (const p of parents.items)
      edges.push(`${name.get(p.id) ?? `${p.role}@${p.node}`} -> ${name.get(nr.id)}${p.soft ? ' (soft)' : ''}`);
  }
  return {
    nodeRoles: items.map((nr) => `${nr.role}@${nr.node}:${nr.cohort}`).sort(),
    edges: edges.sort(),
  };
}

describeApi('api/blueprints', (api, engine) => {
  it('plans the exact node → roles placement, applies it in one go, then plans no changes', async () => {
    await setUp(api());
    const first = await plan(api(), stringify(blueprint()));
    expect(first.plan.createDeployment).to.equal(true);
    expect(first.plan.placements).to.deep.equal([
      { group: 'members', node: 'n1.lab', roles: ['test-cluster', 'test-workload'], joins: true },
      { group: 'members', node: 'n2.lab', roles: ['test-cluster', 'test-workload'], joins: true },
      { group: 'members', node: 'n3.lab', roles: ['test-cluster', 'test-workload'], joins: true },
      { group: 'workers', node: 'n4.lab', roles: ['test-member'], joins: true },
    ]);
    expect(first.plan.joins).to.deep.equal(['n1.lab', 'n2.lab', 'n3.lab', 'n4.lab']);
    // test-workload requires the cluster, which requires test-ready (implicit: on each node) and so on down.
    const binds = first.plan.bind.map((b) => `${b.role}@${b.node}`);
    expect(binds).to.include.members([
      'test-workload@n1.lab',
      'test-cluster@n1.lab',
      'test-ready@n1.lab',
      'test-service@tenant.service.anneal.internal',
      'test-registry@tenant.service.anneal.internal',
      'test-member@n4.lab',
    ]);
    expect(binds.filter((b) => b.startsWith('test-cluster@'))).to.deep.equal([
      'test-cluster@n1.lab',
      'test-cluster@n2.lab',
      'test-cluster@n3.lab',
    ]);
    expect(first.plan.attribs).to.deep.equal([
      { scope: 'deployment', target: 'tenant', attrib: 'test/marker', from: null, to: 'site' },
    ]);
    expect(first.plan.runs.filter((r) => r.destructive).map((r) => `${r.role}@${r.node}`)).to.deep.equal([
      'test-hardware@n1.lab',
      'test-hardware@n2.lab',
      'test-hardware@n3.lab',
    ]);
    expect(first.plan.runs).to.have.length(first.plan.bind.length);
    expect(first.text).to.include('+ create deployment tenant (under system)');
    expect(first.text).to.include('+ bind test-workload on n2.lab');
    expect(first.text).to.include('+ set test/marker = "site"');

    const applied = await apply(api(), { blueprint: blueprint() });
    expect(applied.applied).to.equal(true);
    const nodeRoles = (await api().get('/deployments/tenant/node-roles?limit=1000')).body as {
      items: { role: string; node: string; state: string }[];
    };
    const bound = nodeRoles.items.map((nr) => `${nr.role}@${nr.node}`).sort();
    expect(bound).to.deep.equal(binds.sort());
    expect((await api().get('/deployments/tenant')).body).to.include({ state: 'committed' });

    const again = await plan(api(), blueprint());
    expect(again.plan.changes, again.text.join('\n')).to.equal(0);
    expect(again.text[0]).to.equal('No changes. Deployment tenant matches blueprint tenant-3.');
    const second = await apply(api(), { blueprint: blueprint() });
    expect(second.applied).to.equal(false);
  });

  it('exports a deployment without node names or secrets, and the export plans no changes', async () => {
    await setUp(api());
    expect((await api().call('PUT', '/secrets/tenant-secret', { value: 'correct-horse-42' })).status).to.equal(200);
    const bp = blueprint({ attribs: { 'test/marker': 'site', 'test/secret': { secretRef: 'tenant-secret' } } });
    await apply(api(), { blueprint: bp });
    const exported = await api().get('/deployments/tenant/blueprint');
    expect(exported.status).to.equal(200);
    const text = JSON.stringify(exported.body);
    for (const n of NODES) expect(text).not.to.include(n);
    expect(text).not.to.include('correct-horse-42');
    expect(exported.body).to.deep.equal({
      apiVersion: 'anneal/v1',
      kind: 'Blueprint',
      metadata: { name: 'tenant' },
      spec: {
        deployment: { name: 'tenant', parent: 'system' },
        attribs: { 'test/marker': 'site', 'test/secret': { secretRef: 'tenant-secret' } },
        groups: [
          {
            name: 'test-cluster',
            count: 3,
            select: { tags: ['cluster', 'rack1'] },
            roles: ['test-cluster', 'test-workload'],
            attribs: {},
          },
          { name: 'test-member', count: 1, select: { tags: ['worker'] }, roles: ['test-member'], attribs: {} },
        ],
      },
    });
    const yaml = await fetch(`${api().base}/deployments/tenant/blueprint?format=yaml`, {
      headers: { authorization: `Bearer ${(await import('../../helpers/api')).TEST_API_TOKEN}` },
    });
    expect(yaml.headers.get('content-type')).to.match(/yaml/);
    const replanned = await plan(api(), await yaml.text());
    expect(replanned.plan.changes, replanned.text.join('\n')).to.equal(0);
    // Secrets: names only, values never.
    const secrets = await api().get('/secrets');
    expect(JSON.stringify(secrets.body)).not.to.include('correct-horse-42');
    expect((secrets.body as { items: { name: string }[] }).items.map((s) => s.name)).to.deep.equal(['tenant-secret']);
  });

  it('shows drift as the change that puts it back: a role unbound or an attrib changed by hand', async () => {
    await setUp(api());
    await apply(api(), { blueprint: blueprint() });
    expect(
      (await api().post('/deployments/tenant/unbind', { role: 'test-member', node: 'n4.lab', force: true })).status,
    ).to.equal(202);
    expect(
      (await api().call('PUT', '/deployments/tenant/attribs/test/marker', { value: 'by-hand' })).status,
    ).to.be.oneOf([200, 201]);
    const drift = await plan(api(), blueprint());
    expect(drift.plan.bind.map((b) => `${b.role}@${b.node}`)).to.deep.equal(['test-member@n4.lab']);
    expect(drift.plan.attribs).to.deep.equal([
      { scope: 'deployment', target: 'tenant', attrib: 'test/marker', from: 'by-hand', to: 'site' },
    ]);
    expect(drift.text).to.include('~ test/marker: "by-hand" → "site"');
    await apply(api(), { blueprint: blueprint() });
    expect((await plan(api(), blueprint())).plan.changes).to.equal(0);
  });

  it('shrinks and grows a group, preferring the nodes already in the deployment', async () => {
    await setUp(api());
    await apply(api(), { blueprint: blueprint() });
    const shrink = await plan(api(), blueprint({ members: 2 }));
    expect(shrink.plan.leaves).to.deep.equal(['n3.lab']);
    expect(shrink.plan.unbind.every((u) => u.node === 'n3.lab' || u.reason === 'parent-removed')).to.equal(true);
    expect(shrink.plan.joins).to.deep.equal([]);
    expect(shrink.text).to.include('- move n3.lab back to system');
  });

  it('refuses a saved plan once the site changed, and writes nothing', async () => {
    await setUp(api());
    const saved = await plan(api(), blueprint());
    expect((await api().call('PUT', '/nodes/n5.lab/tags', { tags: ['cluster'] })).status).to.equal(200);
    const before = dumpDatabase(api().anneal.db);
    const res = await api().post('/blueprints/apply', { blueprint: saved.blueprint, fingerprint: saved.fingerprint });
    expect(res.status).to.equal(409);
    expect(res.body).to.have.nested.property('error.code', 'ERR_PLAN_STALE');
    expect((res.body as { error: { message: string } }).error.message).to.include('the candidate nodes');
    expect(dumpDatabase(api().anneal.db)).to.equal(before);
    const fresh = await plan(api(), blueprint());
    expect((await apply(api(), { blueprint: fresh.blueprint, fingerprint: fresh.fingerprint })).applied).to.equal(true);
  });

  it('names what is missing when a placement cannot be met', async () => {
    await setUp(api());
    const before = dumpDatabase(api().anneal.db);
    const res = await api().post('/blueprints/apply', { blueprint: blueprint({ members: 4 }) });
    expect(res.status).to.equal(422);
    expect(res.body).to.deep.equal({
      error: {
        code: 'ERR_PLACEMENT_UNSATISFIABLE',
        message:
          'spec.groups[0].count: group members needs 4 nodes with tag cluster; 3 match: n1.lab, n2.lab, n3.lab — tag more nodes (anneal nodes tag NODE TAG…) or lower the count',
        details: {
          issues: [
            {
              field: 'spec.groups[0].count',
              message:
                'group members needs 4 nodes with tag cluster; 3 match: n1.lab, n2.lab, n3.lab — tag more nodes (anneal nodes tag NODE TAG…) or lower the count',
            },
          ],
        },
      },
    });
    expect(dumpDatabase(api().anneal.db)).to.equal(before);
  });

  it('refuses bad blueprints with one coded error naming the field, and writes nothing', async () => {
    await setUp(api());
    const bp = blueprint();
    const group = (over: Record<string, unknown>) => ({
      ...bp,
      spec: { ...bp.spec, groups: [{ ...bp.spec.groups[0], ...over }] },
    });
    const cases: [string, unknown, string, string][] = [
      ['unknown role', group({ roles: ['no-such-role'] }), 'ERR_BLUEPRINT_INVALID', 'spec.groups[0].roles[0]: no role "no-such-role"'],
      ['unknown attrib', { ...bp, spec: { ...bp.spec, attribs: { 'no/such': 1 } } }, 'ERR_BLUEPRINT_INVALID', 'spec.attribs.no/such: no attrib'],
      ['value failing its schema', { ...bp, spec: { ...bp.spec, attribs: { 'test/delay-ms': -5 } } }, 'ERR_BLUEPRINT_INVALID', 'spec.attribs.test/delay-ms'],
      ['secret as a value', { ...bp, spec: { ...bp.spec, attribs: { 'test/secret': 'hunter3' } } }, 'ERR_BLUEPRINT_INVALID', 'is a secret: give a reference {secretRef: NAME}'],
      ['secret not set here', { ...bp, spec: { ...bp.spec, attribs: { 'test/secret': { secretRef: 'nope' } } } }, 'ERR_SECRET_NOT_FOUND', 'site secret nope is not set here'],
      ['duplicate group names', { ...bp, spec: { ...bp.spec, groups: [bp.spec.groups[0], bp.spec.groups[0]] } }, 'ERR_BLUEPRINT_INVALID', 'spec.groups[1].name: duplicate group name "members"'],
      ['unknown key', { ...bp, spec: { ...bp.spec, extra: 1 } }, 'ERR_BLUEPRINT_INVALID', 'spec: unknown key "extra"'],
      ['wrong apiVersion', { ...bp, apiVersion: 'anneal/v2' }, 'ERR_BLUEPRINT_INVALID', 'apiVersion: expected apiVersion: anneal/v1'],
      ['count and all', group({ all: true }), 'ERR_BLUEPRINT_INVALID', 'spec.groups[0].count: expected exactly one of'],
      ['YAML alias bomb', bomb(), 'ERR_BLUEPRINT_INVALID', 'aliases'],
      ['not YAML', 'a: [1, 2', 'ERR_BLUEPRINT_INVALID', 'not valid YAML'],
      ['conflicting parent', { ...bp, spec: { ...bp.spec, deployment: { name: 'tenant', parent: 'nowhere' } } }, 'ERR_BLUEPRINT_CONFLICT', 'deployment "nowhere" does not exist'],
    ]; // prettier-ignore
    const before = dumpDatabase(api().anneal.db);
    for (const [what, doc, code, message] of cases) {
      for (const route of ['/blueprints/plan', '/blueprints/apply']) {
        const res = await api().post(route, { blueprint: doc });
        expect(res.status, `${what} ${route}`).to.be.within(400, 499);
        const err = (res.body as { error: { code: string; message: string } }).error;
        expect(err.code, `${what}: ${err.message}`).to.equal(code);
        expect(err.message, what).to.include(message);
        expect(err.message.includes('\n'), what).to.equal(false);
      }
    }
    const large = await api().post('/blueprints/plan', { blueprint: `# ${'x'.repeat(10 * 1024 * 1024)}` });
    expect(large.status).to.equal(413);
    expect(large.body).to.have.nested.property('error.code', 'ERR_BODY_TOO_LARGE');
    expect(dumpDatabase(api().anneal.db)).to.equal(before);
  });

  it('writes in bulk exactly the node-roles, cohorts and edges binding them one by one writes', async () => {
    // Site 1: the blueprint, applied in bulk. Site 2: the same placement bound through the bind route.
    await setUp(api());
    const applied = await apply(api(), { blueprint: blueprint() });
    const bulk = await graphOf(api());
    const other = await startTestApi(engine);
    try {
      await setUp(other);
      expect((await other.post('/deployments', { name: 'tenant' })).status).to.equal(201);
      for (const p of applied.plan.placements)
        expect((await other.post(`/nodes/${p.node}/move`, { deployment: 'tenant' })).status).to.equal(202);
      for (const p of applied.plan.placements)
        for (const role of p.roles)
          expect((await other.post('/deployments/tenant/bind', { role, node: p.node })).status).to.be.oneOf([200, 201]);
      expect(await graphOf(other)).to.deep.equal(bulk);
    } finally {
      await other.close();
    }
  });

  it('publishes the format as JSON Schema without a token', async () => {
    const res = await api().call('GET', '/blueprints/schema.json', undefined, { authorization: '' });
    expect(res.status).to.equal(200);
    const schema = res.body as { properties: Record<string, unknown>; required: string[] };
    expect(schema.required).to.include.members(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(schema.properties).to.have.nested.property('apiVersion.const', 'anneal/v1');
  });

  it('tags nodes, filters by tag, and applies an overlay per site', async () => {
    await setUp(api());
    const tagged = await api().get('/nodes?tag=cluster');
    expect((tagged.body as { items: { name: string; tags: string[] }[] }).items.map((n) => n.name)).to.deep.equal([
      'n1.lab',
      'n2.lab',
      'n3.lab',
    ]);
    expect((await api().get('/nodes/n1.lab')).body).to.have.deep.property('tags', ['cluster', 'rack1']);
    const planned = await plan(api(), blueprint(), {
      spec: { groups: [{ name: 'members', count: 2 }], attribs: { 'test/marker': 'site-b' } },
    });
    expect(planned.plan.placements.filter((p) => p.group === 'members').map((p) => p.node)).to.deep.equal([
      'n1.lab',
      'n2.lab',
    ]);
    expect(planned.plan.attribs[0]).to.include({ attrib: 'test/marker', to: 'site-b' });
  });
});

/** A billion-laughs document: nine levels of nine aliases each. */
function bomb(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  return lines.join('\n');
}
