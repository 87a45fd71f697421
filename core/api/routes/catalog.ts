/**
 * What the loaded plugins declare (read-only): barclamps and workloads, and attrib definitions.
 *
 *   GET /barclamps              every plugin (paged): {name, kind, version, description, roles, attribs}
 *   GET /barclamps/:name        one; ERR_BARCLAMP_NOT_FOUND
 *   GET /attribs?plugin=        every attrib definition (paged): {name, plugin, description, schema, default, secret}
 *   GET /attribs/*name          one; ERR_ATTRIB_NOT_FOUND (a secret attrib's default is `[redacted]`)
 */
import type { Request } from 'express';
import { z } from 'zod';
import type { Anneal } from '../../boot';
import { AppError } from '../../errors';
import type { PluginManifest } from '../../plugins/manifest';
import type { LoadedAttrib } from '../../plugins/registry';
import { pageOf } from '../list';
import { pageFrom, pageQuery, parseRef } from '../parse';
import { ApiRoutes } from '../route';

const pluginFilter = pageQuery.extend({
  kind: z.enum(['barclamp', 'workload'], { error: 'expected barclamp or workload' }).optional(),
});
const attribFilter = pageQuery.extend({
  plugin: z.string({ error: 'expected one plugin name' }).max(253, 'expected a plugin name').optional(),
});

function pluginView(p: PluginManifest) {
  return {
    name: p.name,
    kind: p.kind,
    version: p.version,
    description: p.description,
    roles: Object.keys(p.roles).sort(),
    attribs: Object.keys(p.attribs ?? {}).sort(),
  };
}

function attribView(a: LoadedAttrib) {
  return {
    name: a.name,
    plugin: a.plugin,
    description: a.description,
    schema: a.jsonSchema,
    hasDefault: a.hasDefault,
    default: a.hasDefault ? (a.secret ? '[redacted]' : a.default) : null,
    secret: a.secret,
  };
}

function restName(req: Request): string {
  const raw = (req.params as Record<string, string | string[]>).name;
  return String(parseRef(Array.isArray(raw) ? raw.join('/') : raw, 'name'));
}

export function catalogRoutes(anneal: Anneal): ApiRoutes {
  const { registry } = anneal;
  return new ApiRoutes(anneal)
    .add(
      { method: 'get', path: '/barclamps', summary: 'Loaded barclamps and workloads (paged)', query: pluginFilter },
      (req, res, { query }) => {
        const all = registry.plugins.filter((p) => !query.kind || p.kind === query.kind).map(pluginView);
        res.json(pageOf(all, pageFrom(query)));
      },
    )
    .add({ method: 'get', path: '/barclamps/:name', summary: 'One barclamp or workload' }, (req, res) => {
      const name = String(parseRef(req.params.name, 'name'));
      const found = registry.plugins.find((p) => p.name === name);
      if (!found)
        throw new AppError('ERR_BARCLAMP_NOT_FOUND', `barclamp "${name}" is not loaded`, { details: { ref: name } });
      res.json(pluginView(found));
    })
    .add(
      { method: 'get', path: '/attribs', summary: 'Attrib definitions (paged; filter by plugin)', query: attribFilter },
      (req, res, { query }) => {
        const all = [...registry.attribs.values()]
          .filter((a) => !query.plugin || a.plugin === query.plugin)
          .sort((a, b) => (a.name < b.name ? -1 : 1))
          .map(attribView);
        res.json(pageOf(all, pageFrom(query)));
      },
    )
    .add({ method: 'get', path: '/attribs/*name', summary: 'One attrib definition' }, (req, res) => {
      res.json(attribView(registry.attrib(restName(req))));
    });
}
