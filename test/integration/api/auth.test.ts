/**
 * Bearer tokens and roles: every documented route refuses a request without a token (health excepted),
 * read-only tokens only read, operators change everything but tokens, admins manage tokens; tokens are
 * stored hashed; discovery enlists anonymously and can do nothing else.
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { apiRoutes } from '../../../core/api/app';
import type { RouteDoc } from '../../../core/api/route';
import { describeApi, samplePath, type TestApi } from '../../helpers/api';
import { dumpDatabase } from '../../helpers/engines';

async function send(api: TestApi, doc: RouteDoc, authorization: string) {
  const abort = new AbortController();
  const res = await fetch(api.base + samplePath(doc.path), {
    method: doc.method.toUpperCase(),
    headers: { authorization, ...(doc.method === 'get' ? {} : { 'content-type': 'application/json' }) },
    ...(doc.method === 'get' ? {} : { body: '{}' }),
    signal: abort.signal,
  });
  const body = res.headers.get('content-type')?.startsWith('application/json') ? await res.json() : null;
  abort.abort();
  return { status: res.status, body: body as { error?: { code: string; message: string } } | null };
}

describeApi('api/auth (bearer tokens and roles)', (api) => {
  const docs = () => apiRoutes(api().anneal).docs;

  async function token(name: string, role: string): Promise<string> {
    const res = await api().post('/tokens', { name, role });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return (res.body as { token: string }).token;
  }

  it('refuses every documented route without a valid token (401, one answer for missing, unknown and malformed)', async () => {
    const all = docs();
    expect(all.length).to.be.greaterThan(40);
    for (const doc of all) {
      for (const authorization of [
        '',
        'Bearer anneal_not-a-real-token-000000000000000000000000',
        'Basic Zm9vOmJhcg==',
      ]) {
        const res = await send(api(), doc, authorization);
        if (doc.access === 'public') {
          expect(res.status, `${doc.method} ${doc.path}`).to.equal(200);
          continue;
        }
        expect(res.status, `${doc.method} ${doc.path} with "${authorization}"`).to.equal(401);
        expect(res.body!.error!.code).to.equal('ERR_UNAUTHENTICATED');
      }
    }
    expect(all.filter((d) => d.access === 'public').map((d) => d.path)).to.deep.equal([
      '/health',
      '/blueprints/schema.json',
      '/openapi.json',
    ]);
  });

  it('read-only tokens read everything and change nothing; operators change all but tokens', async () => {
    await api().post('/deployments', { name: 'd1' });
    await api().post('/nodes', { name: 'n1.lab', deployment: 'd1' });
    const reader = `Bearer ${await token('reader', 'read-only')}`;
    const operator = `Bearer ${await token('ops', 'operator')}`;
    // A read may write one thing: the token's lastUsedAt (at most once a minute). Use it once first.
    expect((await api().call('GET', '/whoami', undefined, { authorization: reader })).status).to.equal(200);
    const rows = () => dumpDatabase(api().anneal.db).split('\n').sort().join('\n');
    const before = rows();
    let reads = 0;
    let refused = 0;
    for (const doc of docs()) {
      if (doc.access === 'public') continue;
      const res = await send(api(), doc, reader);
      if (doc.access === 'read') {
        reads += 1;
        expect([401, 403], `${doc.method} ${doc.path}`).not.to.include(res.status);
      } else {
        refused += 1;
        expect(res.status, `${doc.method} ${doc.path}`).to.equal(403);
        expect(res.body!.error!.code).to.equal('ERR_FORBIDDEN');
        expect(res.body!.error!.message).to.match(/^token "reader" is read-only; .+ needs (operator|admin) or above/);
      }
    }
    expect(reads).to.be.greaterThan(20);
    expect(refused).to.be.greaterThan(20);
    expect(rows()).to.equal(before);

    for (const doc of docs().filter((d) => d.access === 'admin')) {
      const res = await send(api(), doc, operator);
      expect(res.status, `${doc.method} ${doc.path}`).to.equal(403);
    }
    const created = await api().call('POST', '/nodes', { name: 'n2.lab' }, { authorization: operator });
    expect(created.status).to.equal(201);
    const events = (await api().get('/events?type=node.create')).body as { items: { actor: string }[] };
    expect(events.items.map((e) => e.actor)).to.deep.equal(['api:test-admin', 'api:ops']);
  });

  it('creates a token (secret shown once, stored hashed), names its caller, and revokes it', async () => {
    const res = await api().post('/tokens', { name: 'ci-bot', role: 'operator' });
    expect(res.status).to.equal(201);
    const body = res.body as Record<string, unknown>;
    const secret = body.token as string;
    expect(secret).to.match(/^anneal_[A-Za-z0-9_-]{43}$/);
    expect(body).to.deep.equal({
      id: 2,
      name: 'ci-bot',
      role: 'operator',
      createdAt: 1_700_000_000_000,
      createdBy: 'api:test-admin',
      lastUsedAt: null,
      revokedAt: null,
      token: secret,
    });
    const dump = dumpDatabase(api().anneal.db);
    expect(dump).not.to.contain(secret);
    expect(dump).to.contain(createHash('sha256').update(secret).digest('hex'));

    const me = await api().call('GET', '/whoami', undefined, { authorization: `Bearer ${secret}` });
    expect(me.body).to.deep.equal({ name: 'ci-bot', role: 'operator' });
    const list = (await api().get('/tokens')).body as { items: Record<string, unknown>[] };
    expect(list.items.map((t) => t.name)).to.deep.equal(['test-admin', 'ci-bot']);
    expect(JSON.stringify(list)).not.to.contain(secret);
    expect(list.items.every((t) => !('token' in t) && !('hash' in t))).to.equal(true);

    const taken = await api().post('/tokens', { name: 'ci-bot', role: 'admin' });
    expect(taken.status).to.equal(409);
    expect((taken.body as { error: { code: string } }).error.code).to.equal('ERR_NAME_TAKEN');

    const revoked = await api().call('DELETE', '/tokens/ci-bot');
    expect(revoked.status).to.equal(200);
    expect(revoked.body).to.deep.include({ name: 'ci-bot', revokedAt: 1_700_000_000_000 });
    expect((await api().call('DELETE', '/tokens/2')).body).to.deep.equal(revoked.body);
    const after = await api().call('GET', '/whoami', undefined, { authorization: `Bearer ${secret}` });
    expect(after.status).to.equal(401);
    expect((await api().call('DELETE', '/tokens/nope')).status).to.equal(404);
    const events = (await api().get('/events')).body as { items: { type: string; data: unknown }[] };
    expect(events.items.filter((e) => e.type.startsWith('token.')).map((e) => [e.type, e.data])).to.deep.equal([
      ['token.create', { name: 'ci-bot', role: 'operator' }],
      ['token.revoke', { name: 'ci-bot', role: 'operator' }],
    ]);
  });

  it('rejects a bad token request naming the fields', async () => {
    const res = await api().post('/tokens', { name: 'Bad Name', role: 'root' });
    expect(res.status).to.equal(400);
    expect((res.body as { error: { details: unknown } }).error.details).to.deep.equal({
      issues: [
        {
          field: 'name',
          message:
            'expected a lowercase name of letters, digits, hyphens and dots (e.g. node-1.example.com), at most 64 characters, not only digits',
        },
        { field: 'role', message: 'expected one of: read-only, operator, admin' },
      ],
    });
  });

  it('lets a discovery image enlist a new node anonymously, and nothing more', async () => {
    const root = api().base.replace(/\/api\/v2$/, '');
    const post = (body: unknown) =>
      fetch(`${root}/provision/discover`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { error: { details: { issues: { field: string }[] } } },
      }));
    const enlisted = await post({ name: 'n9.lab', macs: ['52:54:00:00:00:09'], bmcPassword: 'pw-9' });
    expect(enlisted).to.deep.equal({ status: 201, body: { id: 2, name: 'n9.lab' } });
    expect((await post({ name: 'n9.lab' })).status).to.equal(409);
    const sneaky = await post({ name: 'n10.lab', deployment: 'system', alive: true });
    expect(sneaky.status).to.equal(400);
    expect(sneaky.body.error.details.issues.map((i: { field: string }) => i.field)).to.deep.equal([
      'deployment',
      'alive',
    ]);
    const node = (await api().get('/nodes/n9.lab')).body as Record<string, unknown>;
    expect(node).to.deep.include({ name: 'n9.lab', macs: ['52:54:00:00:00:09'] });
    expect(JSON.stringify(node)).not.to.contain('pw-9');
  });
});
