/**
 * Nodes: `/nodes[/:ref]` where `:ref` is an id or a name.
 *
 *   GET   /nodes                   list (paged)
 *   POST  /nodes                   create → 201; ERR_NAME_TAKEN when the name exists
 *   GET   /nodes/:ref              one node; ERR_NODE_NOT_FOUND
 *   PATCH /nodes/:ref              {description?, alive?, available?}
 *   POST  /nodes/:ref/commit       commits the node's proposed node-roles and attribs, wakes the annealer
 *   POST  /nodes/:ref/propose      back to proposed (nothing new runs until the next commit)
 *   POST  /nodes/:ref/redeploy     installs it again: os-install and everything above it on the node re-run (202)
 *   GET   /nodes/:ref/node-roles   the node's node-roles (paged), in cohort order
 *   GET   /nodes/:ref/checks       runs the ready checks of its active node-roles now (read-only)
 *   …     /nodes/:ref/attribs      see attribs.ts
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Anneal } from '../../boot';
import { actorOf } from '../actor';
import { listBody } from '../list';
import {
  bmcAddress,
  bmcDriver,
  bmcPassword,
  bmcUsername,
  description,
  hostAddress,
  hostName,
  macAddress,
  parseBody,
  parsePage,
  parseRef,
  refSchema,
} from '../parse';
import { attribRoutes } from './attribs';

const createBody = z.strictObject({
  name: hostName(),
  description: description.optional(),
  macs: z
    .array(macAddress, { error: 'expected a list of MAC addresses' })
    .max(64, 'expected at most 64 MAC addresses')
    .transform((macs) => [...new Set(macs)])
    .optional(),
  bmcAddress: bmcAddress.nullable().optional(),
  bmcUsername: bmcUsername.nullable().optional(),
  bmcDriver: bmcDriver.optional(),
  /** Secret: stored as the node's BMC password, never returned (discovery images report it). */
  bmcPassword: bmcPassword.optional(),
  address: hostAddress.nullable().optional(),
  alive: z.boolean().optional(),
  available: z.boolean().optional(),
  deployment: refSchema('deployment').optional(),
});

const patchBody = z
  .strictObject({
    description: description.optional(),
    alive: z.boolean().optional(),
    available: z.boolean().optional(),
    address: hostAddress.nullable().optional(),
    bmcAddress: bmcAddress.nullable().optional(),
    bmcUsername: bmcUsername.nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, {
    message: 'expected at least one of: description, alive, available, address, bmcAddress, bmcUsername',
    when: (payload) => payload.issues.length === 0,
  });

/** Routes for `/nodes`. */
export function nodeRoutes(anneal: Anneal): Router {
  const { store, services } = anneal;
  const router = Router();

  router.get('/nodes', async (req, res) => {
    const page = parsePage(req.query);
    res.json(listBody(await store.nodes.list({}, page), page));
  });

  router.post('/nodes', async (req, res) => {
    const body = parseBody(createBody, req.body);
    res.status(201).json(await services.inventory.createNode(body, actorOf(req)));
  });

  router.get('/nodes/:ref', async (req, res) => {
    res.json(await store.nodes.get(parseRef(req.params.ref)));
  });

  router.patch('/nodes/:ref', async (req, res) => {
    const ref = parseRef(req.params.ref);
    const patch = parseBody(patchBody, req.body);
    const updated = await services.inventory.updateNode(ref, patch, actorOf(req));
    res.json(updated);
  });

  router.post('/nodes/:ref/commit', async (req, res) => {
    res.json(await services.changes.commitNode(parseRef(req.params.ref), actorOf(req)));
  });

  router.post('/nodes/:ref/redeploy', async (req, res) => {
    res.status(202).json(await services.changes.redeploy(parseRef(req.params.ref), actorOf(req)));
  });

  router.post('/nodes/:ref/propose', async (req, res) => {
    res.json(await services.changes.proposeNode(parseRef(req.params.ref), actorOf(req)));
  });

  router.get('/nodes/:ref/node-roles', async (req, res) => {
    const ref = parseRef(req.params.ref);
    const page = parsePage(req.query);
    const node = await store.nodes.get(ref);
    res.json(listBody(await store.nodeRoles.list({ nodeId: node.id }, page), page));
  });

  router.get('/nodes/:ref/checks', async (req, res) => {
    res.json(await services.checks.forNode(parseRef(req.params.ref)));
  });

  router.use('/nodes/:ref/attribs', attribRoutes(anneal, 'node'));

  return router;
}
