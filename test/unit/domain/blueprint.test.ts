/**
 * The pure half of blueprints: the format (YAML limits, schema, overlay), planning (placement by count and
 * selector, preferring nodes already placed, leaves, drift, unsatisfiable placement in words, the impacted
 * set) and export (named roles keep cluster roles, tags shared by a group, no node names).
 */
import { expect } from 'chai';
import { stringify } from 'yaml';
import {
  applyOverlay,
  blueprintJsonSchema,
  checkBlueprint,
  MAX_BLUEPRINT_BYTES,
  parseBlueprint,
  type Blueprint,
} from '../../../core/domain/blueprint';
import { exportBlueprint, namedRoles } from '../../../core/domain/blueprint-export';
import { planBlueprint, type PlanRole, type Site, type SiteNode } from '../../../core/domain/blueprint-plan';
import { planLines } from '../../../core/domain/blueprint-plan-text';
import type { RoleFlag } from '../../../core/domain/vocabulary';

function role(name: string, requires: string[] = [], flags: RoleFlag[] = [], wants: string[] = []): PlanRole {
  return { name, requires, precedes: [], flags: new Set(flags), wants, rerunOnNewChild: false };
}

/** base (implicit, on the node) ← member (cluster) ← client; svc is a service role client also needs. */
const ROLES = new Map(
  [
    role('base', [], ['implicit', 'destructive']),
    role('svc', [], ['service']),
    role('member', ['base'], ['cluster']),
    role('client', ['member', 'svc'], [], ['x/value']),
  ].map((r) => [r.name, r]),
);

function node(id: number, name: string, tags: string[], deploymentId = 1, disks = 2): SiteNode {
  return { id, name, tags, deploymentId, disks, memoryMiB: 4096, cpus: 4 };
}

function site(over: Partial<Site> = {}): Site {
  return {
    deployment: null,
    parent: { id: 1, name: 'system' },
    ancestorIds: [],
    nodes: [
      node(1, 'a.lab', ['etcd']),
      node(2, 'b.lab', ['etcd']),
      node(3, 'c.lab', ['etcd'], 1, 1),
      node(4, 'd.lab', []),
    ],
    nodeRoles: [],
    rolesInAncestors: new Map(),
    edges: [],
    deploymentAttribs: {},
    nodeAttribs: new Map(),
    roles: ROLES,
    ...over,
  };
}

function bp(groups: unknown[], attribs: Record<string, unknown> = {}): Blueprint {
  const r = checkBlueprint({
    apiVersion: 'anneal/v1',
    kind: 'Blueprint',
    metadata: { name: 'etcd-3' },
    spec: { deployment: { name: 'etcd' }, attribs, groups },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

const members = (count: number, select: Record<string, unknown> = { tags: ['etcd'] }) => ({
  name: 'members',
  count,
  select,
  roles: ['member', 'client'],
});

describe('domain/blueprint: the format', () => {
  it('parses YAML into the schema with defaults (parent system, empty attribs)', () => {
    const r = parseBlueprint(
      stringify({
        apiVersion: 'anneal/v1',
        kind: 'Blueprint',
        metadata: { name: 'x' },
        spec: { deployment: { name: 'x' }, groups: [members(1)] },
      }),
    );
    expect(r.ok && r.value.spec.deployment.parent).to.equal('system');
    expect(r.ok && r.value.spec.groups[0]!.attribs).to.deep.equal({});
  });

  it('refuses oversized documents, alias bombs and several documents, naming why', () => {
    const big = parseBlueprint(`# ${'x'.repeat(MAX_BLUEPRINT_BYTES)}`);
    expect(!big.ok && big.issues[0]!.message).to.match(/over the 1048576-byte limit/);
    const lol = ['a: &a [x,x,x,x,x,x,x,x,x]'];
    for (let i = 1; i < 8; i++)
      lol.push(
        `${'abcdefgh'[i]}: &${'abcdefgh'[i]} [${Array(9)
          .fill(`*${'abcdefgh'[i - 1]}`)
          .join(',')}]`,
      );
    const bomb = parseBlueprint(lol.join('\n'));
    expect(!bomb.ok && bomb.issues[0]!.message).to.match(/aliases/);
    const two = parseBlueprint('a: 1\n---\nb: 2\n');
    expect(two.ok).to.equal(false);
  });

  it('names the field of every problem: count and all, duplicate groups, unknown keys, apiVersion', () => {
    const r = checkBlueprint({
      apiVersion: 'anneal/v2',
      kind: 'Blueprint',
      metadata: { name: 'x' },
      spec: {
        deployment: { name: 'x' },
        groups: [{ ...members(1), all: true }, members(2), { ...members(1), nope: 1 }],
      },
    });
    expect(r.ok).to.equal(false);
    const fields = !r.ok ? r.issues.map((i) => i.field) : [];
    expect(fields).to.include.members(['apiVersion', 'spec.groups[0].count', 'spec.groups[1].name', 'spec.groups[2]']);
  });

  it('publishes JSON Schema with the required top-level keys', () => {
    const s = blueprintJsonSchema() as { required: string[] };
    expect(s.required).to.deep.equal(['apiVersion', 'kind', 'metadata', 'spec']);
  });

  it('merges a site overlay over counts and attribs, and refuses an unknown group', () => {
    const merged = applyOverlay(bp([members(3)], { 'x/value': 1 }), {
      spec: { attribs: { 'x/value': 2 }, groups: [{ name: 'members', count: 2, attribs: {} }] },
    });
    expect(merged.ok && merged.value.spec.groups[0]!.count).to.equal(2);
    expect(merged.ok && merged.value.spec.attribs).to.deep.equal({ 'x/value': 2 });
    const unknown = applyOverlay(bp([members(3)]), { spec: { attribs: {}, groups: [{ name: 'x', attribs: {} }] } });
    expect(!unknown.ok && unknown.issues[0]!.message).to.equal('the blueprint has no group "x" (it has: members)');
  });
});

describe('domain/blueprint-plan', () => {
  it('places by selector and count, binds what they require (implicit on the node, a service once), and counts every change', () => {
    const r = planBlueprint(bp([members(2, { tags: ['etcd'], minDisks: 2 })]), site());
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.plan.placements.map((p) => p.node)).to.deep.equal(['a.lab', 'b.lab']);
    expect(r.plan.bind.map((b) => `${b.role}@${b.node}`)).to.deep.equal([
      'base@a.lab',
      'member@a.lab',
      'svc@etcd.service.anneal.internal',
      'client@a.lab',
      'base@b.lab',
      'member@b.lab',
      'client@b.lab',
    ]);
    expect(r.plan.changes).to.equal(1 + 2 + r.plan.bind.length);
    expect(r.plan.runs.filter((x) => x.destructive).map((x) => x.node)).to.deep.equal(['a.lab', 'b.lab']);
    expect(planLines(r.plan)).to.include('+ bind client on b.lab');
  });

  it('says what is missing when too few nodes match', () => {
    const r = planBlueprint(bp([members(3, { tags: ['etcd'], minDisks: 2 })]), site());
    expect(!r.ok && r.issues).to.deep.equal([
      {
        field: 'spec.groups[0].count',
        message:
          'group members needs 3 nodes with tag etcd and ≥ 2 disks; 2 match: a.lab, b.lab — tag more nodes (anneal nodes tag NODE TAG…) or lower the count',
      },
    ]);
  });

  it('prefers nodes already in the deployment, sends the rest back, and shows drift as its fix', () => {
    const d = { id: 2, name: 'etcd', state: 'committed', parent: 'system', serviceNodeId: 9 };
    const nodes = [node(1, 'a.lab', ['etcd'], 1), node(2, 'b.lab', ['etcd'], 2), node(3, 'c.lab', ['etcd'], 2)];
    const nr = (id: number, r: string, nodeId: number) => ({
      id,
      role: r,
      nodeId,
      deploymentId: 2,
      state: 'active',
      cohort: 0,
    });
    const nodeRoles = [
      nr(10, 'member', 2),
      nr(11, 'client', 2),
      nr(12, 'member', 3),
      nr(13, 'client', 3),
      nr(14, 'extra', 3),
    ];
    const roles = new Map([...ROLES, ['extra', role('extra')]]);
    const r = planBlueprint(
      bp([members(1)], { 'x/value': 5 }),
      site({
        deployment: d,
        nodes,
        nodeRoles,
        roles,
        deploymentAttribs: { 'x/value': 4 },
      }),
    );
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.plan.placements.map((p) => p.node)).to.deep.equal(['b.lab']);
    expect(r.plan.leaves).to.deep.equal(['c.lab']);
    expect(r.plan.joins).to.deep.equal([]);
    expect(r.plan.unbind.map((u) => `${u.role}@${u.node}:${u.reason}`).sort()).to.deep.equal([
      'client@c.lab:leaves',
      'extra@c.lab:leaves',
      'member@c.lab:leaves',
    ]);
    expect(r.plan.attribs).to.deep.equal([{ scope: 'deployment', target: 'etcd', attrib: 'x/value', from: 4, to: 5 }]);
    // The attrib change re-runs the client that wants it (b's; c's goes).
    expect(r.plan.runs.map((x) => `${x.role}@${x.node}:${x.why}`)).to.deep.equal(['client@b.lab:rerun']);
  });

  it('plans nothing when the site matches', () => {
    const d = { id: 2, name: 'etcd', state: 'committed', parent: 'system', serviceNodeId: 9 };
    const nr = (id: number, r: string, nodeId: number) => ({
      id,
      role: r,
      nodeId,
      deploymentId: 2,
      state: 'active',
      cohort: 0,
    });
    const r = planBlueprint(
      bp([members(1)]),
      site({
        deployment: d,
        nodes: [node(2, 'b.lab', ['etcd'], 2)],
        nodeRoles: [nr(10, 'base', 2), nr(11, 'member', 2), nr(12, 'client', 2), nr(13, 'svc', 9)],
      }),
    );
    expect(r.ok && r.plan.changes).to.equal(0);
    expect(r.ok && planLines(r.plan)).to.deep.equal(['No changes. Deployment etcd matches blueprint etcd-3.']);
  });
});

describe('domain/blueprint-export', () => {
  it('keeps cluster roles named, leaves implicit ones out, groups by roles with shared tags', () => {
    expect(namedRoles(new Set(['base', 'member', 'client']), ROLES)).to.deep.equal(['client', 'member']);
    const exported = exportBlueprint({
      deployment: { name: 'etcd', parent: 'system', description: '' },
      nodes: [
        { id: 1, name: 'a.lab', tags: ['etcd', 'rack1'] },
        { id: 2, name: 'b.lab', tags: ['etcd', 'rack2'] },
      ],
      nodeRoles: [
        { role: 'base', nodeId: 1 },
        { role: 'member', nodeId: 1 },
        { role: 'client', nodeId: 1 },
        { role: 'member', nodeId: 2 },
        { role: 'client', nodeId: 2 },
      ],
      deploymentAttribs: { 'x/value': 1 },
      nodeAttribs: new Map([
        [1, { 'x/value': 2, 'inventory/cpu': 'same' }],
        [2, { 'x/value': 2, 'inventory/cpu': 'same' }],
      ]),
      roles: ROLES,
    });
    expect(exported.spec.groups).to.deep.equal([
      { name: 'client', count: 2, select: { tags: ['etcd'] }, roles: ['client', 'member'], attribs: { 'x/value': 2 } },
    ]);
    expect(JSON.stringify(exported)).not.to.match(/a\.lab|b\.lab/);
  });
});
