/**
 * Roles, as the validated plugin registry declares them (read-only).
 *
 *   GET /roles         every role in dependency order (paged): each after everything it requires
 *   GET /roles/:name   one role; ERR_ROLE_NOT_FOUND
 */
import type { Anneal } from '../../boot';
import type { LoadedRole } from '../../plugins/registry';
import { pageOf } from '../list';
import { pageQuery, parsePage, parseRef } from '../parse';
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

export function roleRoutes(anneal: Anneal): ApiRoutes {
  const { registry } = anneal;
  const routes = new ApiRoutes(anneal);

  routes.add(
    { method: 'get', path: '/roles', summary: 'Every role in dependency order (paged)', query: pageQuery },
    (req, res) => {
      res.json(pageOf(registry.rolesInOrder.map(roleView), parsePage(req.query)));
    },
  );

  routes.add({ method: 'get', path: '/roles/:name', summary: 'One role' }, (req, res) => {
    res.json(roleView(registry.role(String(parseRef(req.params.name, 'name')))));
  });

  return routes;
}
