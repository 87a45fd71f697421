/**
 * Attrib values on a node or a deployment, mounted under `/nodes/:ref/attribs` and
 * `/deployments/:ref/attribs`. Attrib names contain a slash (`ntp/servers`), so the name is a
 * wildcard: `/attribs/ntp/servers` and `/attribs/ntp%2Fservers` address the same attrib.
 *
 *   GET  …/attribs          → list of {attrib, scope, targetId, proposed, committed, hasProposed, hasCommitted}
 *   GET  …/attribs/<name>   → one such value (empty when never set); ERR_ATTRIB_NOT_FOUND for an unknown attrib
 *   PUT  …/attribs/<name>   {value} → records a proposed value (applies on commit); ERR_ATTRIB_INVALID names the field
 *
 * Values of secret attribs (and of attribs no loaded plugin declares) are shown as `[redacted]`.
 */
import type { Request } from 'express';
import { z } from 'zod';
import type { Anneal } from '../../boot';
import type { AttribValueRecord } from '../../domain/records';
import { inputError } from '../../errors';
import { actorOf } from '../actor';
import { pageOf } from '../list';
import { MAX_NAME, pageFrom, pageQuery, parseRef } from '../parse';
import { ApiRoutes } from '../route';

const putBody = z.strictObject({ value: z.unknown().optional() }).refine((b) => b.value !== undefined, {
  message: 'expected a value (any JSON the attrib accepts)',
  path: ['value'],
  when: (payload) => payload.issues.length === 0,
});

function attribName(req: Request): string {
  const raw = (req.params as Record<string, string | string[]>).attrib;
  const name = Array.isArray(raw) ? raw.join('/') : (raw ?? '');
  // eslint-disable-next-line no-control-regex
  if (name === '' || name.length > MAX_NAME || /[\u0000-\u001f\u007f-\u009f]/.test(name)) {
    throw inputError([
      { field: 'attrib', message: `expected an attrib name like ntp/servers, at most ${MAX_NAME} characters` },
    ]);
  }
  return name;
}

/**
 * Routes for one scope, mounted at `prefix` (`/nodes/:ref/attribs`); `scope` decides whether `:ref`
 * names a node or a deployment.
 */
export function attribRoutes(anneal: Anneal, scope: 'node' | 'deployment', prefix: string): ApiRoutes {
  const { store, registry, services } = anneal;
  const routes = new ApiRoutes(anneal, prefix);

  async function targetId(req: Request): Promise<number> {
    const ref = parseRef((req.params as Record<string, string>).ref);
    return (scope === 'node' ? await store.nodes.get(ref) : await store.deployments.get(ref)).id;
  }

  function view(v: AttribValueRecord): AttribValueRecord {
    if (registry.attribs.get(v.attrib)?.secret === false) return v;
    const hide = (has: boolean, value: unknown) => (has ? '[redacted]' : value);
    return { ...v, proposed: hide(v.hasProposed, v.proposed), committed: hide(v.hasCommitted, v.committed) };
  }

  async function one(id: number, name: string): Promise<AttribValueRecord> {
    const found = (await store.attribs.list(scope, id)).find((v) => v.attrib === name);
    const empty = {
      attrib: name,
      scope,
      targetId: id,
      proposed: null,
      committed: null,
      hasProposed: false,
      hasCommitted: false,
    };
    return view(found ?? empty);
  }

  routes.add(
    { method: 'get', path: '/', summary: 'Every attrib value of the target (secret ones redacted)', query: pageQuery },
    async (req, res, { query }) => {
      const page = pageFrom(query);
      const values = await store.attribs.list(scope, await targetId(req));
      res.json(pageOf(values.map(view), page));
    },
  );

  routes.add(
    { method: 'get', path: '/*attrib', summary: 'One attrib value (secret ones redacted)' },
    async (req, res) => {
      const name = attribName(req);
      const id = await targetId(req);
      registry.attrib(name);
      res.json(await one(id, name));
    },
  );

  routes.add(
    { method: 'put', path: '/*attrib', summary: 'Propose an attrib value (applies on commit)', body: putBody },
    async (req, res, { body }) => {
      const { value } = body;
      const name = attribName(req);
      const id = await targetId(req);
      await services.changes.setAttrib(scope, id, name, value, actorOf(req));
      res.json(await one(id, name));
    },
  );

  return routes;
}
