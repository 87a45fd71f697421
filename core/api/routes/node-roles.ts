/**
 * Node-roles: one role bound to one node in a deployment, and the annealer's unit of work.
 *
 *   GET  /node-roles              list (paged) filtered by ?deployment= ?node= (id or name) ?role= ?state=
 *   GET  /node-roles/:id          one node-role; ERR_NODE_ROLE_NOT_FOUND
 *   POST /node-roles/:id/retry    error → todo (or blocked) → 202; ERR_STATE_INVALID when not in error
 *   POST /node-roles/:id/retry    also remove-error → removing (the remove runs again)
 *   POST /node-roles/:id/rerun    {force?} runs it again, then what depends on it → 202 {nodeRole, rerun: ids};
 *                                 a destructive role that ran needs force (ERR_FORCE_REQUIRED)
 *   GET  /node-roles/:id/runs     its runs, oldest first (paged)
 *   GET  /node-roles/:id/parents  the node-roles it waits for, each with `soft` (a `precedes` edge) (paged)
 */
import { z } from 'zod';
import type { Anneal } from '../../boot';
import { nodeRoleStates } from '../../domain/vocabulary';
import type { NodeRoleFilter } from '../../store/node-roles';
import { actorOf } from '../actor';
import { listBody, pageOf } from '../list';
import { force, type Page, pageFrom, pageQuery, parseId, parseRef } from '../parse';
import { ApiRoutes } from '../route';

const listQuery = pageQuery.extend({
  deployment: z.string({ error: 'expected one deployment id or name' }).optional(),
  node: z.string({ error: 'expected one node id or name' }).optional(),
  role: z.string({ error: 'expected one role name' }).optional(),
  state: z.enum(nodeRoleStates, { error: `expected one of: ${nodeRoleStates.join(', ')}` }).optional(),
});

export function nodeRoleRoutes(anneal: Anneal): ApiRoutes {
  const { store, registry, services } = anneal;
  const routes = new ApiRoutes(anneal);

  /** Parses page and filter together (one 400 lists every bad parameter), then resolves refs to ids. */
  async function listArgs(q: z.output<typeof listQuery>): Promise<{ filter: NodeRoleFilter; page: Page }> {
    const page = pageFrom(q);
    const filter: NodeRoleFilter = {};
    if (q.deployment !== undefined)
      filter.deploymentId = (await store.deployments.get(parseRef(q.deployment, 'deployment'))).id;
    if (q.node !== undefined) filter.nodeId = (await store.nodes.get(parseRef(q.node, 'node'))).id;
    if (q.role !== undefined) {
      const name = registry.role(String(parseRef(q.role, 'role'))).name;
      filter.roleId = (await store.catalog.ids()).roleIds.get(name);
    }
    if (q.state !== undefined) filter.state = q.state;
    return { filter, page };
  }

  routes.add(
    {
      method: 'get',
      path: '/node-roles',
      summary: 'List node-roles (paged; filter by deployment, node, role, state)',
      query: listQuery,
    },
    async (req, res, { query }) => {
      const { filter, page } = await listArgs(query);
      res.json(listBody(await store.nodeRoles.list(filter, page), page));
    },
  );

  routes.add({ method: 'get', path: '/node-roles/:id', summary: 'One node-role' }, async (req, res) => {
    res.json(await store.nodeRoles.get(parseId(req.params.id)));
  });

  routes.add(
    { method: 'post', path: '/node-roles/:id/retry', summary: 'Retry a node-role in error', status: 202 },
    async (req, res) => {
      res.status(202).json(await services.changes.retry(parseId(req.params.id), actorOf(req)));
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/node-roles/:id/rerun',
      summary: 'Run a node-role again, then what depends on it (force: a destructive one that ran)',
      body: z.strictObject({ force: force.optional() }),
      optionalBody: true,
      status: 202,
    },
    async (req, res, { body }) => {
      const id = parseId(req.params.id);
      res.status(202).json(await services.changes.rerunNodeRole(id, actorOf(req), { force: body.force }));
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/node-roles/:id/runs',
      summary: "The node-role's runs, oldest first (paged)",
      query: pageQuery,
    },
    async (req, res, { query }) => {
      const id = parseId(req.params.id);
      const page = pageFrom(query);
      await store.nodeRoles.get(id);
      res.json(listBody(await store.runs.list({ nodeRoleId: id }, page), page));
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/node-roles/:id/parents',
      summary: 'The node-roles it waits for (paged)',
      query: pageQuery,
    },
    async (req, res, { query }) => {
      const id = parseId(req.params.id);
      const page = pageFrom(query);
      await store.nodeRoles.get(id);
      const parents = (await store.nodeRoles.parentsOf([id])).map((e) => ({ ...e.parent, soft: e.soft }));
      res.json(
        pageOf(
          parents.sort((a, b) => a.cohort - b.cohort || a.id - b.id),
          page,
        ),
      );
    },
  );

  return routes;
}
