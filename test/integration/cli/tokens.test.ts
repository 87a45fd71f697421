/**
 * `anneal tokens …` and `anneal whoami` against a real server (started with the test admin token): a
 * created token's secret alone on stdout, the note on stderr, and the token works; a revoked one gets
 * the 401 line; a read-only or operator token gets the 403 line naming its role; no token at all says
 * ANNEAL_TOKEN is not set.
 */
import { expect } from 'chai';
import { cli, cliServer, asJson, type CliServer } from './cli-harness';

type Row = Record<string, unknown>;

const withoutLastUse = ({ lastUsedAt: _, ...rest }: Row): Row => rest;

const UNAUTHENTICATED_FIX =
  'set ANNEAL_TOKEN to a valid token (`anneal tokens create NAME --role operator` by an admin; ' +
  'the first admin token is printed when the server first starts)';

describe('cli: anneal tokens and whoami (real server, SQLite)', function () {
  this.timeout(120_000);
  let s: CliServer;
  let url: string;
  const as = (token: string) => ({ ...s.env, ANNEAL_TOKEN: token });
  const secrets: Record<string, string> = {};

  before(async () => {
    s = await cliServer('cli-tokens');
    url = s.env.ANNEAL_URL!;
    await s.api('POST', '/deployments', { name: 'd1' });
  });

  after(async () => {
    await s?.close();
  });

  it('whoami names the calling token: text and --json', async () => {
    const me = (await s.api('GET', '/whoami')).body as { name: string; role: string };
    expect(me.role).to.equal('admin');
    expect(await cli(['whoami', '--json'], s.env)).to.deep.equal({ code: 0, stdout: asJson(me), stderr: '' });
    expect(await cli(['whoami'], s.env)).to.deep.equal({
      code: 0,
      stdout: `name  ${me.name}\nrole  admin\n`,
      stderr: '',
    });
  });

  it('create prints the secret alone on stdout, once, with a note on stderr; the token works', async () => {
    const r = await cli(['tokens', 'create', 'ci-op', '--role', 'operator'], s.env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^\S{20,}\n$/);
    secrets.op = r.stdout.trim();
    const [rec] = ((await s.api('GET', '/tokens')).body as { items: Row[] }).items.filter((t) => t.name === 'ci-op');
    expect(r.stderr).to.equal(
      `token ci-op (operator, id ${String(rec!.id)}) created: keep it now, it will not be shown again (use it as ANNEAL_TOKEN)\n`,
    );
    expect(await cli(['whoami'], as(secrets.op))).to.deep.equal({
      code: 0,
      stdout: 'name  ci-op\nrole  operator\n',
      stderr: '',
    });
    expect(JSON.stringify((await s.api('GET', '/tokens')).body)).to.not.include(secrets.op);
  });

  it('create --json prints the record with its token', async () => {
    const r = await cli(['tokens', 'create', 'ci-ro', '--role', 'read-only', '--json'], s.env);
    expect(r.code, r.stderr).to.equal(0);
    const created = JSON.parse(r.stdout) as Row;
    secrets.ro = created.token as string;
    const [rec] = ((await s.api('GET', '/tokens')).body as { items: Row[] }).items.filter((t) => t.name === 'ci-ro');
    expect(r.stdout).to.equal(asJson({ ...rec, lastUsedAt: created.lastUsedAt, token: secrets.ro }));
    expect(created).to.deep.include({ name: 'ci-ro', role: 'read-only', revokedAt: null });
    expect(r.stderr).to.match(/^token ci-ro \(read-only, id \d+\) created: keep it now, it will not be shown again/);
  });

  it('list: --json is every token without secrets; text in columns', async () => {
    const items = ((await s.api('GET', '/tokens?limit=1000')).body as { items: Row[] }).items;
    const json = await cli(['tokens', 'list', '--json'], s.env);
    expect(json.code).to.equal(0);
    // lastUsedAt moves with every request of the admin token, so it is left out of the comparison.
    const printed = (JSON.parse(json.stdout) as { items: Row[] }).items;
    expect(printed.map(withoutLastUse)).to.deep.equal(items.map(withoutLastUse));
    expect(json.stdout).to.not.include(secrets.op);
    expect(json.stdout).to.not.include(secrets.ro);
    const text = (await cli(['tokens', 'list'], s.env)).stdout.split('\n');
    expect(text[0]).to.match(/^ID +NAME +ROLE +CREATEDBY +CREATEDAT +LASTUSEDAT +REVOKEDAT$/);
    expect(text.find((l) => / ci-op /.test(l))).to.match(/^\d+ +ci-op +operator +\S+ +\S+Z +\S+ +-$/);
    expect(text.length).to.equal(items.length + 2);
  });

  it("refuses what the token's role cannot do in one line naming the role and whom to ask", async () => {
    expect(await cli(['deployments', 'commit', 'd1'], as(secrets.ro!))).to.deep.equal({
      code: 1,
      stdout: '',
      stderr:
        "anneal: your token's role (read-only) cannot POST /deployments/d1/commit [ERR_FORBIDDEN] — ask an admin for an operator token\n",
    });
    expect(await cli(['tokens', 'list'], as(secrets.op!))).to.deep.equal({
      code: 1,
      stdout: '',
      stderr:
        "anneal: your token's role (operator) cannot manage tokens [ERR_FORBIDDEN] — ask an admin to do it, or for an admin token\n",
    });
    expect((await cli(['deployments', 'show', 'd1'], as(secrets.ro!))).code).to.equal(0);
    expect((await cli(['deployments', 'commit', 'd1'], as(secrets.op!))).code).to.equal(0);
  });

  it('revoke (by name or id) stops the token at once: the 401 line says which token to set', async () => {
    expect((await cli(['whoami'], as(secrets.op!))).code).to.equal(0);
    const r = await cli(['tokens', 'revoke', 'ci-op'], s.env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^token ci-op \(operator, id \d+\) revoked\n$/);
    expect(await cli(['whoami'], as(secrets.op!))).to.deep.equal({
      code: 1,
      stdout: '',
      stderr: `anneal: ANNEAL_TOKEN is not a valid token at ${url} (unknown or revoked) [ERR_UNAUTHENTICATED] — ${UNAUTHENTICATED_FIX}\n`,
    });
    const ro = ((await s.api('GET', '/tokens')).body as { items: Row[] }).items.find((t) => t.name === 'ci-ro')!;
    const byId = JSON.parse((await cli(['tokens', 'revoke', String(ro.id), '--json'], s.env)).stdout) as Row;
    expect(byId).to.deep.include({ id: ro.id, name: 'ci-ro', role: 'read-only' });
    expect(byId.revokedAt).to.not.equal(null);
    expect((await cli(['nodes', 'list'], as(secrets.ro!))).code).to.equal(1);
  });

  it('says ANNEAL_TOKEN is not set when there is none', async () => {
    expect(await cli(['nodes', 'list'], as(''))).to.deep.equal({
      code: 1,
      stdout: '',
      stderr: `anneal: ANNEAL_TOKEN is not set and ${url} needs a token [ERR_UNAUTHENTICATED] — ${UNAUTHENTICATED_FIX}\n`,
    });
  });
});
