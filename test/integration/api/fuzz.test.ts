/**
 * Bad input (operator-interfaces issue, item 6): hundreds of malformed requests — bad JSON, wrong types,
 * unknown ids, oversized bodies, unknown roles, invalid attrib values, path traversal and control
 * characters in names — against every writing route. Every answer must be a 4xx with the error shape
 * `{error: {code, message}}` and a registered code, none a 5xx, and the database must be byte-for-byte
 * the same afterwards (a dump before and after).
 */
import { expect } from 'chai';
import { apiRoutes } from '../../../core/api/app';
import { errorCodes } from '../../../core/errors/codes';
import { startTestApi, type TestApi } from '../../helpers/api';
import { dumpDatabase, engines, requireEngine } from '../../helpers/engines';

interface Case {
  method: string;
  path: string;
  /** A string is sent as is (malformed JSON); anything else as JSON. */
  body?: unknown;
}

const BAD_NAMES = [
  '../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e',
  'a%00b',
  'a%0Ab',
  'a%0Db',
  'a%09b',
  'UPPER.lab',
  '-leading.lab',
  'x'.repeat(300),
  '%E2%80%AE',
  '12345678901234',
  '0',
  '-1',
];

/** Valid in form, but no site has 99 nodes tagged `nowhere`: plan and apply refuse it and write nothing. */
const UNSATISFIABLE_BLUEPRINT = {
  apiVersion: 'anneal/v1',
  kind: 'Blueprint',
  metadata: { name: 'fuzz' },
  spec: {
    deployment: { name: 'fuzz' },
    groups: [{ name: 'g', count: 99, select: { tags: ['nowhere'] }, roles: ['test-os'] }],
  },
};

const WRONG_VALUES: unknown[] = [null, 1, -1, 1.5, true, 'Not Valid!', '', [], {}, ['a'], { a: 1 }, 'x'.repeat(5000)];

const MALFORMED_JSON = ['{', '{"name":', '[1,2', 'nul', '{"a":1,}', "{'a':1}", '\u0000', '{"a":"\\x"}'];

/** Every field of every writing body, each with every wrong value: wrong types and shapes. */
function wrongTypes(): Case[] {
  const bodies: [string, string, Record<string, unknown>][] = [
    ['POST', '/nodes', { name: 'new.lab' }],
    ['PATCH', '/nodes/n1.lab', { description: 'x' }],
    ['PUT', '/nodes/n1.lab/bmc', { username: 'admin' }],
    ['POST', '/nodes/n1.lab/power', { action: 'on' }],
    ['POST', '/nodes/n1.lab/boot', { device: 'pxe' }],
    ['POST', '/nodes/n1.lab/install', { os: 'debian-12' }],
    ['POST', '/deployments', { name: 'new' }],
    ['POST', '/deployments/d1/bind', { role: 'test-os', node: 'n1.lab' }],
    ['POST', '/networks', { name: 'net', cidr: '10.9.0.0/24' }],
    ['POST', '/networks/nope/ranges', { name: 'r1', first: '10.9.0.10', last: '10.9.0.20' }],
    ['POST', '/networks/nope/allocations', { node: 'n1.lab' }],
    ['POST', '/tokens', { name: 'new-token', role: 'operator' }],
    ['POST', '/deployments/d1/unbind', { role: 'test-os', node: 'n1.lab', force: false }],
    ['POST', '/nodes/n1.lab/move', { deployment: 'system', force: false }],
    ['POST', '/node-roles/1/rerun', { force: false }],
    ['PUT', '/nodes/n1.lab/tags', { tags: [] }],
    ['POST', '/blueprints/validate', { blueprint: UNSATISFIABLE_BLUEPRINT }],
    ['POST', '/blueprints/plan', { blueprint: UNSATISFIABLE_BLUEPRINT }],
    ['POST', '/blueprints/apply', { blueprint: UNSATISFIABLE_BLUEPRINT }],
    ['PUT', '/secrets/s1', { value: 'x' }],
  ];
  const fields: Record<string, string[]> = {
    '/nodes': ['name', 'macs', 'bmcAddress', 'bmcPassword', 'address', 'alive', 'deployment'],
    '/nodes/n1.lab': ['description', 'alive', 'available', 'address'],
    '/nodes/n1.lab/bmc': ['address', 'username', 'password', 'driver'],
    '/nodes/n1.lab/power': ['action'],
    '/nodes/n1.lab/boot': ['device'],
    '/nodes/n1.lab/install': ['os'],
    '/deployments': ['name', 'description', 'parent'],
    '/deployments/d1/bind': ['role', 'node'],
    '/networks': ['name', 'cidr', 'gateway', 'vlan'],
    '/networks/nope/ranges': ['name', 'first', 'last'],
    '/networks/nope/allocations': ['node', 'range', 'address'],
    '/tokens': ['name', 'role'],
    '/deployments/d1/unbind': ['role', 'node', 'force'],
    '/nodes/n1.lab/move': ['deployment', 'force'],
    '/node-roles/1/rerun': ['force'],
    '/nodes/n1.lab/tags': ['tags'],
    '/blueprints/validate': ['blueprint', 'overlay'],
    '/blueprints/plan': ['blueprint', 'overlay'],
    '/blueprints/apply': ['blueprint', 'overlay', 'fingerprint'],
    '/secrets/s1': ['value'],
  };
  const cases: Case[] = [];
  for (const [method, path, valid] of bodies) {
    for (const field of fields[path]!) {
      for (const v of WRONG_VALUES) {
        // Values some fields legitimately accept are not malformed for them.
        if (v === 'Not Valid!' && ['description', 'password', 'bmcPassword'].includes(field)) continue;
        if (
          v === null &&
          ['bmcAddress', 'address', 'username', 'password', 'gateway', 'vlan'].includes(field) &&
          !path.includes('/allocations')
        )
          continue;
        if (Array.isArray(v) && v.length === 0 && field === 'macs') continue;
        if (typeof v === 'boolean' && ['alive', 'available', 'force'].includes(field)) continue;
        if (v === 'x'.repeat(5000) && ['password', 'bmcPassword'].includes(field)) continue;
        if (v === '' && field === 'description') continue;
        // A valid tag list or secret value would be a change, not malformed input.
        if (field === 'tags' && Array.isArray(v) && v.every((t) => t === 'a')) continue;
        if (field === 'value' && typeof v === 'string' && v !== '') continue;
        // The blueprint checks pass for a blueprint that validates, but plan and apply refuse it (placement).
        if (
          path === '/blueprints/validate' &&
          field === 'overlay' &&
          typeof v === 'object' &&
          v &&
          !Array.isArray(v) &&
          !Object.keys(v).length
        )
          continue;
        if (typeof v === 'number' && ['parent', 'node', 'deployment', 'vlan'].includes(field) && v === 1) continue;
        cases.push({ method, path, body: { ...valid, [field]: v } });
      }
    }
    cases.push({ method, path, body: { ...valid, unknownField: 1 } });
    for (const raw of MALFORMED_JSON) cases.push({ method, path, body: raw });
  }
  return cases;
}

function unknownRefsAndNames(): Case[] {
  const cases: Case[] = [];
  for (const ref of ['nope.lab', '999999', ...BAD_NAMES]) {
    const malformedName = ref !== 'nope.lab' && ref !== '999999';
    cases.push({ method: 'GET', path: `/nodes/${ref}` });
    cases.push({ method: 'PATCH', path: `/nodes/${ref}`, body: { description: 'x' } });
    cases.push({ method: 'POST', path: `/nodes/${ref}/commit` });
    cases.push({ method: 'POST', path: `/nodes/${ref}/redeploy` });
    cases.push({ method: 'POST', path: `/nodes/${ref}/power`, body: { action: 'on' } });
    cases.push({ method: 'PUT', path: `/nodes/${ref}/attribs/test/marker`, body: { value: 'x' } });
    cases.push({ method: 'GET', path: `/deployments/${ref}` });
    cases.push({ method: 'POST', path: `/deployments/${ref}/commit` });
    cases.push({ method: 'POST', path: `/deployments/${ref}/bind`, body: { role: 'test-os', node: 'n1.lab' } });
    cases.push({ method: 'POST', path: `/deployments/${ref}/unbind`, body: { role: 'test-os', node: 'n1.lab' } });
    cases.push({ method: 'DELETE', path: `/deployments/${ref}` });
    cases.push({ method: 'POST', path: `/nodes/${ref}/move`, body: { deployment: 'system' } });
    cases.push({ method: 'POST', path: '/nodes/n1.lab/move', body: { deployment: ref } });
    cases.push({ method: 'DELETE', path: `/nodes/${ref}` });
    if (malformedName) {
      cases.push({ method: 'POST', path: '/nodes', body: { name: decodeURIComponent(safeDecode(ref)) } });
      cases.push({ method: 'POST', path: '/deployments', body: { name: decodeURIComponent(safeDecode(ref)) } });
    }
  }
  for (const id of ['0', '-1', '999999', 'abc', '1.5', '99999999999999999999']) {
    cases.push({ method: 'GET', path: `/node-roles/${id}` });
    cases.push({ method: 'POST', path: `/node-roles/${id}/retry` });
    cases.push({ method: 'POST', path: `/node-roles/${id}/rerun` });
    cases.push({ method: 'GET', path: `/runs/${id}` });
  }
  return cases;
}

/** decodeURIComponent that keeps a string it cannot decode. */
function safeDecode(s: string): string {
  try {
    decodeURIComponent(s);
    return s;
  } catch {
    return encodeURIComponent(s);
  }
}

function withGroup(over: Record<string, unknown>) {
  const g = UNSATISFIABLE_BLUEPRINT.spec.groups[0]!;
  return { ...UNSATISFIABLE_BLUEPRINT, spec: { ...UNSATISFIABLE_BLUEPRINT.spec, groups: [{ ...g, ...over }] } };
}

function withAttribs(attribs: Record<string, unknown>) {
  return { ...UNSATISFIABLE_BLUEPRINT, spec: { ...UNSATISFIABLE_BLUEPRINT.spec, attribs } };
}

function semanticErrors(): Case[] {
  return [
    // Unknown roles and impossible bindings.
    { method: 'POST', path: '/deployments/d1/bind', body: { role: 'no-such-role', node: 'n1.lab' } },
    { method: 'POST', path: '/deployments/d1/bind', body: { role: 'test-os', node: 'd1.service.anneal.internal' } },
    { method: 'POST', path: '/deployments/d1/bind', body: { role: 'test-os', node: 'nope.lab' } },
    // Invalid attrib values and attribs that do not exist.
    { method: 'PUT', path: '/deployments/d1/attribs/test/delay-ms', body: { value: -5 } },
    { method: 'PUT', path: '/deployments/d1/attribs/test/delay-ms', body: { value: 'slow' } },
    { method: 'PUT', path: '/deployments/d1/attribs/test/fail', body: { value: { roles: 'x' } } },
    { method: 'PUT', path: '/deployments/d1/attribs/anneal/discover', body: { value: 'yes' } },
    { method: 'PUT', path: '/deployments/d1/attribs/anneal/admin-address', body: { value: '999.1.1.1' } },
    { method: 'PUT', path: '/deployments/d1/attribs/no/such', body: { value: 1 } },
    { method: 'PUT', path: '/deployments/d1/attribs/test/marker', body: {} },
    { method: 'PUT', path: '/nodes/n1.lab/attribs/provisioner/authorized-keys', body: { value: ['ssh-rsa nope'] } },
    { method: 'PUT', path: '/nodes/n1.lab/attribs/inventory/expect', body: { value: { minThreads: 0 } } },
    // Names taken, states that do not allow the action, duplicate parents (no cycles can be expressed).
    { method: 'POST', path: '/nodes', body: { name: 'n1.lab' } },
    { method: 'POST', path: '/deployments', body: { name: 'd1' } },
    { method: 'POST', path: '/deployments', body: { name: 'd2', parent: 'd2' } },
    { method: 'POST', path: '/nodes/n1.lab/redeploy' },
    { method: 'POST', path: '/nodes/n1.lab/power', body: { action: 'on' } },
    { method: 'PATCH', path: '/nodes/n1.lab', body: {} },
    // Oversized bodies.
    { method: 'POST', path: '/nodes', body: { name: 'big.lab', description: 'x'.repeat(2 * 1024 * 1024) } },
    { method: 'PUT', path: '/deployments/d1/attribs/test/marker', body: { value: 'x'.repeat(1024 * 1024 + 10) } },
    // The way out: nothing bound, protected or invalid targets, force where it means nothing.
    { method: 'POST', path: '/deployments/d1/unbind', body: { role: 'test-workload', node: 'n1.lab' } },
    { method: 'POST', path: '/deployments/system/unbind', body: { role: 'test-os', node: 'n1.lab' } },
    { method: 'POST', path: '/deployments/d1/unbind', body: { role: 'no-such-role', node: 'n1.lab' } },
    { method: 'DELETE', path: '/deployments/system' },
    { method: 'DELETE', path: '/deployments/d1?force=yes' },
    { method: 'DELETE', path: '/nodes/n1.lab?force=1' },
    { method: 'DELETE', path: '/nodes/d1.service.anneal.internal' },
    { method: 'POST', path: '/nodes/d1.service.anneal.internal/move', body: { deployment: 'system' } },
    { method: 'POST', path: '/nodes/n1.lab/move', body: { deployment: 'nope' } },
    { method: 'POST', path: '/node-roles/1/rerun', body: { force: true } },
    { method: 'POST', path: '/node-roles/1/rerun', body: { force: 'yes' } },
    // Blueprints: unknown roles, secrets as values or not set here, groups twice; secrets and tags.
    { method: 'POST', path: '/blueprints/plan', body: { blueprint: withGroup({ roles: ['no-such-role'] }) } },
    { method: 'POST', path: '/blueprints/apply', body: { blueprint: withGroup({ count: 1, name: 'a b' }) } },
    { method: 'POST', path: '/blueprints/apply', body: { blueprint: withAttribs({ 'test/secret': 'plain' }) } },
    {
      method: 'POST',
      path: '/blueprints/apply',
      body: { blueprint: withAttribs({ 'test/secret': { secretRef: 'nope' } }) },
    },
    { method: 'POST', path: '/blueprints/apply', body: { blueprint: withAttribs({ 'test/delay-ms': 'slow' }) } },
    { method: 'POST', path: '/blueprints/apply', body: { blueprint: 'apiVersion: anneal/v2' } },
    { method: 'POST', path: '/blueprints/apply', body: { blueprint: 'a: [1' } },
    { method: 'PUT', path: '/secrets/Not Valid', body: { value: 'x' } },
    { method: 'DELETE', path: '/secrets/nope' },
    { method: 'GET', path: '/deployments/system/blueprint' },
    { method: 'PUT', path: '/nodes/n1.lab/tags', body: { tags: ['UPPER'] } },
    { method: 'PUT', path: '/nodes/nope.lab/tags', body: { tags: ['a'] } },
    // Unknown routes and methods.
    { method: 'PUT', path: '/nodes/n1.lab/move' },
    { method: 'PUT', path: '/deployments' },
    { method: 'GET', path: '/no-such-route' },
    { method: 'GET', path: '/nodes?limit=0&offset=-1' },
    { method: 'GET', path: '/nodes?limit=abc' },
    { method: 'GET', path: '/node-roles?state=done' },
  ];
}

for (const engine of engines) {
  describe(`[${engine}] api/fuzz: malformed requests answer 4xx with the error shape and change nothing`, function () {
    this.timeout(120_000);
    let api: TestApi;

    before(async function () {
      await requireEngine(this, engine);
      api = await startTestApi(engine);
      await api.post('/deployments', { name: 'd1' });
      await api.post('/nodes', { name: 'n1.lab', deployment: 'd1', alive: true });
      await api.post('/deployments/d1/bind', { role: 'test-os', node: 'n1.lab' });
    });
    after(async () => {
      await api?.close();
    });

    it('answers at least 500 malformed requests with a 4xx and the error shape, and the database is unchanged', async () => {
      const before = dumpDatabase(api.anneal.db);
      const cases = [...wrongTypes(), ...unknownRefsAndNames(), ...semanticErrors()];
      expect(cases.length).to.be.at.least(500);
      const wrong: string[] = [];
      const codes = new Map<string, number>();
      for (const c of cases) {
        const label = `${c.method} ${c.path} ${typeof c.body === 'string' ? c.body : JSON.stringify(c.body ?? null).slice(0, 80)}`;
        let res;
        try {
          res = await api.call(c.method, c.path, c.body);
        } catch (err) {
          wrong.push(`${label}: no JSON answer (${(err as Error).message})`);
          continue;
        }
        const error = (res.body as { error?: { code?: string; message?: string } } | undefined)?.error;
        if (res.status < 400 || res.status > 499) wrong.push(`${label}: status ${res.status}`);
        else if (!error?.code || !error.message || !(error.code in errorCodes)) {
          wrong.push(`${label}: not the error shape: ${JSON.stringify(res.body).slice(0, 200)}`);
        } else codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
      }
      // Every route that takes a body has cases: a new writing route cannot escape the suite.
      const bodyRoutes = apiRoutes(api.anneal).docs.filter((d) => d.body);
      const uncovered = bodyRoutes.filter((d) => {
        const pattern = new RegExp(`^${d.path.replace(/:[A-Za-z_]+/g, '[^/]+').replace(/\*[A-Za-z_]+/g, '.+')}$`);
        return !cases.some((c) => c.method === d.method.toUpperCase() && pattern.test(c.path) && c.body !== undefined);
      });
      expect(uncovered.map((d) => `${d.method} ${d.path}`)).to.deep.equal([]);
      console.log(`      ${cases.length} requests: ${[...codes].map(([code, n]) => `${code} ${n}`).join(', ')}`);
      expect(wrong).to.deep.equal([]);
      expect(dumpDatabase(api.anneal.db)).to.equal(before);
    });
  });
}
