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
 *   POST /deployments/:ref/bind         {role, node} → 201 {nodeRole, created} (200 when already bound)
 *   GET  /deployments/:ref/waiting      the watchdog: every todo/blocked node-role with why it waits
 *   GET  /deployments/:ref/status       converge status: the layer cake (nodes × layers), totals, failing node-roles
 *   …    /deployments/:ref/attribs      see attribs.ts
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Anneal } from '../../boot';
import { nodeRoleStates } from '../../domain/vocabulary';
import { actorOf } from '../actor';
import { listBody, pageOf } from '../list';
import { description, hostName, MAX_NAME, parseBody, parsePage, parseRef, refSchema } from '../parse';
import { attribRoutes } from './attribs';

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

export function deploymentRoutes(anneal: Anneal): Router {
  const { store, services } = anneal;
  const router = Router();

  router.get('/deployments', async (req, res) => {
    const page = parsePage(req.query);
    res.json(pageOf(await store.deployments.list(), page));
  });

  router.post('/deployments', async (req, res) => {
    const body = parseBody(createBody, req.body);
    res.status(201).json(await services.inventory.createDeployment(body, actorOf(req)));
  });

  router.get('/deployments/:ref/waiting', async (req, res) => {
    const d = await store.deployments.get(parseRef(req.params.ref));
    res.json({ items: await services.watchdog.waiting({ deploymentId: d.id }) });
  });

  router.get('/deployments/:ref/status', async (req, res) => {
    res.json(await services.status.forDeployment(parseRef(req.params.ref)));
  });

  router.get('/deployments/:ref', async (req, res) => {
    const d = await store.deployments.get(parseRef(req.params.ref));
    const counts = await store.nodeRoles.countByState({ deploymentId: d.id });
    const nodeRoles = Object.fromEntries(nodeRoleStates.map((s) => [s, counts[s] ?? 0]));
    res.json({ ...d, roles: await store.deployments.roles(d.id), nodeRoles });
  });

  router.post('/deployments/:ref/commit', async (req, res) => {
    res.json(await services.changes.commitDeployment(parseRef(req.params.ref), actorOf(req)));
  });

  router.post('/deployments/:ref/propose', async (req, res) => {
    res.json(await services.changes.proposeDeployment(parseRef(req.params.ref), actorOf(req)));
  });

  router.get('/deployments/:ref/nodes', async (req, res) => {
    const ref = parseRef(req.params.ref);
    const page = parsePage(req.query);
    const d = await store.deployments.get(ref);
    res.json(listBody(await store.nodes.list({ deploymentId: d.id }, page), page));
  });

  router.get('/deployments/:ref/node-roles', async (req, res) => {
    const ref = parseRef(req.params.ref);
    const page = parsePage(req.query);
    const d = await store.deployments.get(ref);
    res.json(listBody(await store.nodeRoles.list({ deploymentId: d.id }, page), page));
  });

  router.post('/deployments/:ref/bind', async (req, res) => {
    const ref = parseRef(req.params.ref);
    const body = parseBody(bindBody, req.body);
    const d = await store.deployments.get(ref);
    const node = await store.nodes.get(body.node);
    const bound = await services.binding.bind(d.id, body.role, node.id);
    const nodeRole = await store.nodeRoles.get(bound.nodeRoleId);
    res.status(bound.created.length ? 201 : 200).json({ nodeRole, created: bound.created });
  });

  router.use('/deployments/:ref/attribs', attribRoutes(anneal, 'deployment'));

  return router;
}
