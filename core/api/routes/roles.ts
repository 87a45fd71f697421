/**
 * Roles, as the validated plugin registry declares them (read-only).
 *
 *   GET /roles         every role in dependency order (paged): each after everything it requires
 *   GET /roles/:name   one role; ERR_ROLE_NOT_FOUND
 */
import { z } from 'zod';
import type { Anneal } from '../../boot';
import { roleFlags } from '../../domain/vocabulary';
import type { LoadedRole } from '../../plugins/registry';
import { pageOf } from '../list';
import { pageFrom, pageQuery, parseRef } from '../parse';
import { ApiRoutes } from '../route';

/** The public view of a role: plain arrays, no action code or template paths. */
export interface RoleView {
  name: string;
  plugin: string;
  description: string;
  flags: string[];
  requires: string[];
  precedes: string[];
  wants: string[];
  jig: string;
  cohort: number;
}

export function roleView(r: LoadedRole): RoleView {
  return {
    name: r.name,
    plugin: r.plugin,
    description: r.description,
    flags: [...r.flags].sort(),
    requires: [...r.requires],
    precedes: [...r.precedes],
    wants: [...r.wants],
    jig: r.jig,
    cohort: r.cohort,
  };
}

const roleFilter = pageQuery.extend({
  plugin: z.string({ error: 'expected one plugin name' }).max(253, 'expected a plugin name').optional(),
  flag: z.enum(roleFlags, { error: `expected one of: ${roleFlags.join(', ')}` }).optional(),
});

export function roleRoutes(anneal: Anneal): ApiRoutes {
  const { registry } = anneal;
  const routes = new ApiRoutes(anneal);

  routes.add(
    {
      method: 'get',
      path: '/roles',
      summary: 'Every role in dependency order (paged; filter by plugin and flag)',
      query: roleFilter,
    },
    (req, res, { query }) => {
      const roles = registry.rolesInOrder.filter(
        (r) => (!query.plugin || r.plugin === query.plugin) && (!query.flag || r.flags.has(query.flag)),
      );
      res.json(pageOf(roles.map(roleView), pageFrom(query)));
    },
  );

  routes.add(
    { method: 'get', path: '/roles/graph', summary: 'The role graph: roles and their requires/precedes edges' },
    (_req, res) => {
      const roles = registry.rolesInOrder;
      res.json({
        nodes: roles.map(roleView),
        edges: roles.flatMap((r) => [
          ...r.requires.map((to) => ({ from: r.name, to, kind: 'requires' })),
          ...r.precedes.map((to) => ({ from: r.name, to, kind: 'precedes' })),
        ]),
      });
    },
  );

  routes.add({ method: 'get', path: '/roles/:name', summary: 'One role' }, (req, res) => {
    res.json(roleView(registry.role(String(parseRef(req.params.name, 'name')))));
  });

  return routes;
}
