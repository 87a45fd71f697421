import { expect } from 'chai';
import { version } from '../../../package.json';
import { describeApi } from '../../helpers/api';

describeApi('api/app', (api, engine) => {
  it('reports health with engine, version and annealer stats', async () => {
    const res = await api().get('/health');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({
      status: 'ok',
      engine,
      version,
      annealer: { workerId: api().anneal.annealer.workerId, claimed: 0, completed: 0, inFlight: 0 },
    });
  });

  it('answers 404 ERR_NOT_FOUND for an unknown route', async () => {
    const res = await api().get('/no-such-thing');
    expect(res.status).to.equal(404);
    expect(res.body).to.deep.equal({
      error: {
        code: 'ERR_NOT_FOUND',
        message: 'no route for GET /api/v2/no-such-thing',
        details: { method: 'GET', path: '/api/v2/no-such-thing' },
      },
    });
  });

  it('answers 404 ERR_NOT_FOUND for a known path with an unsupported method', async () => {
    const res = await api().call('DELETE', '/nodes');
    expect(res.status).to.equal(404);
    expect(res.body).to.deep.equal({
      error: {
        code: 'ERR_NOT_FOUND',
        message: 'no route for DELETE /api/v2/nodes',
        details: { method: 'DELETE', path: '/api/v2/nodes' },
      },
    });
  });

  it('answers 400 ERR_JSON_MALFORMED for a body that is not JSON', async () => {
    const text = '{"name": "n1.lab",}';
    let reason = '';
    try {
      JSON.parse(text);
    } catch (err) {
      reason = (err as Error).message;
    }
    const res = await api().post('/nodes', text);
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: { code: 'ERR_JSON_MALFORMED', message: 'request body is not valid JSON', details: { reason } },
    });
  });

  it('answers 413 ERR_BODY_TOO_LARGE for a body over 1 MB', async () => {
    const res = await api().post('/nodes', { name: 'n1.lab', description: 'x'.repeat(1024 * 1024) });
    expect(res.status).to.equal(413);
    expect(res.body).to.deep.equal({
      error: {
        code: 'ERR_BODY_TOO_LARGE',
        message: 'request body is larger than the 1048576 byte limit',
        details: { limit: 1048576 },
      },
    });
  });

  it('answers 400 ERR_INPUT_INVALID naming the body when it is not sent as JSON', async () => {
    const res = await api().call('POST', '/nodes', 'name=n1.lab', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: {
        code: 'ERR_INPUT_INVALID',
        message: 'body: expected a JSON object (send Content-Type: application/json)',
        details: {
          issues: [{ field: 'body', message: 'expected a JSON object (send Content-Type: application/json)' }],
        },
      },
    });
  });

  it('answers 400 ERR_INPUT_INVALID for a path that is not valid percent-encoding', async () => {
    const res = await api().get('/nodes/%ff');
    expect(res.status).to.equal(400);
    expect(res.body).to.deep.equal({
      error: {
        code: 'ERR_INPUT_INVALID',
        message: 'request path is not valid percent-encoding',
        details: { issues: [{ field: 'path', message: 'expected valid percent-encoded UTF-8' }] },
      },
    });
  });
});
