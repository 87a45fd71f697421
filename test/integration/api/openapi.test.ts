/**
 * The OpenAPI document matches the routes both ways: every route express would dispatch under /api/v2
 * (found by walking the app's router stacks, not from the route specs) is in the document, and every
 * documented operation exists (a request to it is never the unknown-route 404).
 */
import { expect } from 'chai';
import { createApp } from '../../../core/api/app';
import { describeApi, samplePath, TEST_API_TOKEN } from '../../helpers/api';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
  rawPath?: string;
}

/** `METHOD /path` for every route in an express 5 router tree (express paths: `:ref`, `*attrib`). */
function expressRoutes(stack: Layer[], prefix = ''): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      return Object.keys(layer.route.methods)
        .filter((m) => m !== '_all')
        .map((m) => `${m.toUpperCase()} ${(prefix + layer.route!.path).replace(/\/$/, '')}`);
    }
    if (layer.handle.stack) {
      const mount = layer.rawPath && layer.rawPath !== '/' ? layer.rawPath : '';
      return expressRoutes(layer.handle.stack, prefix + mount);
    }
    return [];
  });
}

type Operation = {
  summary: string;
  parameters: { name: string; in: string; required: boolean; schema: unknown }[];
  requestBody?: { content: { 'application/json': { schema: Record<string, unknown> } } };
  responses: Record<string, unknown>;
  security?: unknown[];
};

describeApi('api/openapi.json', (api) => {
  async function document() {
    const res = await api().call('GET', '/openapi.json', undefined, { authorization: '' });
    expect(res.status).to.equal(200);
    return res.body as { openapi: string; paths: Record<string, Record<string, Operation>> };
  }

  it('documents every route the app dispatches, and every documented route exists', async () => {
    const doc = await document();
    expect(doc.openapi).to.equal('3.1.0');
    const documented = Object.entries(doc.paths)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    const app = createApp(api().anneal) as unknown as { router: { stack: Layer[] } };
    const apiLayer = app.router.stack.find((l) => l.rawPath === '/api/v2')!;
    const dispatched = expressRoutes(apiLayer.handle.stack!)
      .map((r) => r.replace(/([:*])([A-Za-z_]+)/g, '{$2}'))
      .sort();
    expect(dispatched.length).to.be.greaterThan(45);
    expect(documented).to.deep.equal(dispatched);

    for (const route of documented) {
      const [method, path] = route.split(' ') as [string, string];
      const abort = new AbortController();
      const res = await fetch(api().base + samplePath(path), {
        method,
        headers: { authorization: `Bearer ${TEST_API_TOKEN}`, 'content-type': 'application/json' },
        ...(method === 'GET' ? {} : { body: '{}' }),
        signal: abort.signal,
      });
      const body = (res.headers.get('content-type')?.startsWith('application/json') ? await res.json() : null) as {
        error?: { code: string };
      } | null;
      abort.abort();
      expect(body?.error?.code, `${route} answered ${res.status}`).not.to.equal('ERR_NOT_FOUND');
    }
  });

  it('describes requests with the schemas that validate them', async () => {
    const doc = await document();
    const createNode = doc.paths['/nodes']!.post!;
    const schema = createNode.requestBody!.content['application/json'].schema as {
      properties: Record<string, Record<string, unknown>>;
      required: string[];
      additionalProperties: boolean;
    };
    expect(schema.required).to.deep.equal(['name']);
    expect(schema.additionalProperties).to.equal(false);
    expect(Object.keys(schema.properties)).to.include.members([
      'name',
      'macs',
      'bmcAddress',
      'bmcPassword',
      'deployment',
    ]);
    expect(schema.properties.bmcDriver).to.deep.include({ enum: ['ipmi', 'redfish', 'ssh'] });
    expect(doc.paths['/node-roles']!.get!.parameters.map((p) => [p.name, p.in, p.required])).to.deep.equal([
      ['offset', 'query', false],
      ['limit', 'query', false],
      ['deployment', 'query', false],
      ['node', 'query', false],
      ['role', 'query', false],
      ['state', 'query', false],
    ]);
    expect(doc.paths['/nodes/{ref}/attribs/{attrib}']!.put!.parameters.map((p) => p.name)).to.deep.equal([
      'ref',
      'attrib',
    ]);
    expect(doc.paths['/health']!.get!.security).to.deep.equal([]);
    expect(doc.paths['/tokens']!.post!).to.deep.include({ 'x-anneal-access': 'admin' });
    expect(doc.paths['/events/stream']!.get!.responses['200']).to.deep.equal({
      description: 'Success; the body is described in docs/api.md.',
      content: { 'text/event-stream': { schema: { type: 'string' } } },
    });
  });
});
