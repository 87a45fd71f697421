/**
 * Deployments: `/deployments[/:ref]` where `:ref` is an id or a name.
 *
 *   GET  /deployments                   list (paged)
 *   POST /deployments                   {name, description?, parent?} → 201; ERR_NAME_TAKEN when the name exists
 *   GET  /deployments/:ref              the deployment plus `roles` (names) and `nodeRoles` (count per state)
 *   POST /deployments/:ref/commit       commits nodes, node-roles and attribs; wakes the annealer
 *   POST /deployments/:ref/propose      back to proposed
 *   GET  /deployments/:ref/nodes        its nodes (paged)
 *   GET  /deployments/:ref/node-roles   its node-roles (paged), in cohort order
 *   DELETE /deployments/:ref            ?force= → 202: tears it down (node-roles removed, children first), then
 *                                       hands its nodes to its parent and deletes it; ERR_DEPLOYMENT_PROTECTED
 *   POST /deployments/:ref/bind         {role, node} → 201 {nodeRole, created} (200 when already bound)
 *   POST /deployments/:ref/unbind       {role, node, force?} → 202 {removing, deleted, rerun}; ERR_NOT_BOUND
 *   GET  /deployments/:ref/waiting      the watchdog: every todo/blocked node-role with why it waits
 *   GET  /deployments/:ref/status       converge status: the layer cake (nodes × layers), totals, failing node-roles
 *   …    /deployments/:ref/attribs      see attribs.ts
 */
import { z } from 'zod';
import type { Anneal } from '../../boot';
import { nodeRoleStates } from '../../domain/vocabulary';
import { actorOf } from '../actor';
import { listBody, pageOf } from '../list';
import { description, force, forceQuery, hostName, MAX_NAME, pageFrom, pageQuery, parseRef, refSchema } from '../parse';
import { ApiRoutes } from '../route';
import { attribRoutes } from './attribs';
import { roleView } from './roles';

/** Leaves room for the service node's name, `<deployment>.service.anneal.internal`. */
const MAX_DEPLOYMENT_NAME = MAX_NAME - '.service.anneal.internal'.length;

const createBody = z.strictObject({
  name: hostName(MAX_DEPLOYMENT_NAME),
  description: description.optional(),
  parent: refSchema('deployment').optional(),
});

const bindBody = z.strictObject({
  role: z
    .string({ error: 'expected a role name' })
    .min(1, 'expected a role name')
    .max(MAX_NAME, 'expected a role name'),
  node: refSchema('node'),
});

const unbindBody = bindBody.extend({ force: force.optional() });

export function deploymentRoutes(anneal: Anneal): ApiRoutes {
  const { store, services } = anneal;
  const routes = new ApiRoutes(anneal);

  routes.add(
    { method: 'get', path: '/deployments', summary: 'List deployments (paged)', query: pageQuery },
    async (req, res, { query }) => {
      const page = pageFrom(query);
      res.json(pageOf(await store.deployments.list(), page));
    },
  );

  routes.add(
    { method: 'post', path: '/deployments', summary: 'Create a deployment', body: createBody, status: 201 },
    async (req, res, { body }) => {
      res.status(201).json(await services.inventory.createDeployment(body, actorOf(req)));
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/deployments/:ref/waiting',
      summary: 'Why each todo or blocked node-role waits (the watchdog)',
    },
    async (req, res) => {
      const d = await store.deployments.get(parseRef(req.params.ref));
      res.json({ items: await services.watchdog.waiting({ deploymentId: d.id }) });
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/deployments/:ref/status',
      summary: 'Converge status: the layer cake, totals and failing node-roles',
    },
    async (req, res) => {
      res.json(await services.status.forDeployment(parseRef(req.params.ref)));
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/deployments/:ref/roles',
      summary: 'The roles bound in the deployment (paged)',
      query: pageQuery,
    },
    async (req, res, { query }) => {
      const d = await store.deployments.get(parseRef(req.params.ref));
      const bound = new Set(await store.deployments.roles(d.id));
      const roles = anneal.registry.rolesInOrder.filter((r) => bound.has(r.name)).map(roleView);
      res.json(pageOf(roles, pageFrom(query)));
    },
  );

  routes.add(
    { method: 'get', path: '/deployments/:ref', summary: 'One deployment with its roles and node-role counts' },
    async (req, res) => {
      const d = await store.deployments.get(parseRef(req.params.ref));
      const counts = await store.nodeRoles.countByState({ deploymentId: d.id });
      const nodeRoles = Object.fromEntries(nodeRoleStates.map((s) => [s, counts[s] ?? 0]));
      res.json({ ...d, roles: await store.deployments.roles(d.id), nodeRoles });
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/deployments/:ref/commit',
      summary: 'Commit the deployment (nodes, node-roles, attribs); wakes the annealer',
    },
    async (req, res) => {
      res.json(await services.changes.commitDeployment(parseRef(req.params.ref), actorOf(req)));
    },
  );

  routes.add(
    { method: 'post', path: '/deployments/:ref/propose', summary: 'Put the deployment back to proposed' },
    async (req, res) => {
      res.json(await services.changes.proposeDeployment(parseRef(req.params.ref), actorOf(req)));
    },
  );

  routes.add(
    { method: 'get', path: '/deployments/:ref/nodes', summary: "The deployment's nodes (paged)", query: pageQuery },
    async (req, res, { query }) => {
      const ref = parseRef(req.params.ref);
      const page = pageFrom(query);
      const d = await store.deployments.get(ref);
      res.json(listBody(await store.nodes.list({ deploymentId: d.id }, page), page));
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/deployments/:ref/node-roles',
      summary: "The deployment's node-roles (paged)",
      query: pageQuery,
    },
    async (req, res, { query }) => {
      const ref = parseRef(req.params.ref);
      const page = pageFrom(query);
      const d = await store.deployments.get(ref);
      res.json(listBody(await store.nodeRoles.list({ deploymentId: d.id }, page), page));
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/deployments/:ref/bind',
      summary: 'Bind a role to a node in the deployment (and its implicit parents)',
      body: bindBody,
    },
    async (req, res, { body }) => {
      const ref = parseRef(req.params.ref);
      const d = await store.deployments.get(ref);
      const node = await store.nodes.get(body.node);
      const bound = await services.binding.bind(d.id, body.role, node.id, actorOf(req));
      const nodeRole = await store.nodeRoles.get(bound.nodeRoleId);
      res.status(bound.created.length ? 201 : 200).json({ nodeRole, created: bound.created });
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/deployments/:ref/unbind',
      summary: 'Unbind a role from a node: it and what depends on it are removed, children first',
      body: unbindBody,
      status: 202,
    },
    async (req, res, { body }) => {
      const ref = parseRef(req.params.ref);
      res
        .status(202)
        .json(await services.lifecycle.unbind(ref, body.role, body.node, { force: body.force }, actorOf(req)));
    },
  );

  routes.add(
    {
      method: 'delete',
      path: '/deployments/:ref',
      summary: 'Tear the deployment down (node-roles removed, children first), hand its nodes to its parent, delete it',
      query: forceQuery,
      status: 202,
    },
    async (req, res, { query }) => {
      const ref = parseRef(req.params.ref);
      res.status(202).json(await services.lifecycle.deleteDeployment(ref, { force: query.force }, actorOf(req)));
    },
  );

  routes.mount('/deployments/:ref/attribs', attribRoutes(anneal, 'deployment', '/deployments/:ref/attribs'));

  return routes;
}
