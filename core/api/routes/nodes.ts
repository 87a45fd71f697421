/**
 * Nodes: `/nodes[/:ref]` where `:ref` is an id or a name.
 *
 *   GET   /nodes                   list (paged)
 *   POST  /nodes                   create → 201; ERR_NAME_TAKEN when the name exists
 *   GET   /nodes/:ref              one node; ERR_NODE_NOT_FOUND
 *   PATCH /nodes/:ref              {description?, alive?, available?}
 *   PUT   /nodes/:ref/tags         {tags} → the node with its tags replaced (sorted, unique)
 *   POST  /nodes/:ref/commit       commits the node's proposed node-roles and attribs, wakes the annealer
 *   POST  /nodes/:ref/propose      back to proposed (nothing new runs until the next commit)
 *   POST  /nodes/:ref/redeploy     installs it again: os-install and everything above it on the node re-run (202)
 *   GET   /nodes/:ref/node-roles   the node's node-roles (paged), in cohort order
 *   GET   /nodes/:ref/checks       runs the ready checks of its active node-roles now (read-only)
 *   POST  /nodes/:ref/move         {deployment, force?} → 202: leaves the deployments that are not the new one's
 *                                  ancestors (their node-roles removed), gets the new one's roles; ERR_MOVE_INVALID
 *   DELETE /nodes/:ref             ?force= → 202: retires it (node-roles removed, then record, allocations, secrets)
 *   …     /nodes/:ref/attribs      see attribs.ts
 */
import { z } from 'zod';
import type { Anneal } from '../../boot';
import { tagSchema } from '../../domain/blueprint';
import { actorOf } from '../actor';
import { listBody } from '../list';
import {
  bmcAddress,
  bmcDriver,
  bmcPassword,
  bmcUsername,
  description,
  force,
  forceQuery,
  hostAddress,
  hostName,
  macAddress,
  pageFrom,
  pageQuery,
  parseRef,
  refSchema,
} from '../parse';
import { ApiRoutes } from '../route';
import { attribRoutes } from './attribs';

export const createBody = z.strictObject({
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

const moveBody = z.strictObject({ deployment: refSchema('deployment'), force: force.optional() });

/** What a discovery image may report about its machine (POST /provision/discover, no token). */
export const discoveryBody = createBody.pick({
  name: true,
  macs: true,
  bmcAddress: true,
  bmcUsername: true,
  bmcPassword: true,
  address: true,
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

const flag = z.enum(['true', 'false'], { error: 'expected true or false' });
const nodeFilter = pageQuery.extend({
  deployment: z.string({ error: 'expected one deployment id or name' }).optional(),
  alive: flag.optional(),
  available: flag.optional(),
  tag: tagSchema.optional(),
});

const tagsBody = z.strictObject({
  tags: z.array(tagSchema, { error: 'expected a list of tags' }).max(64, 'expected at most 64 tags'),
});

/** Routes for `/nodes`. */
export function nodeRoutes(anneal: Anneal): ApiRoutes {
  const { store, services } = anneal;
  const routes = new ApiRoutes(anneal);

  routes.add(
    {
      method: 'get',
      path: '/nodes',
      summary: 'List nodes (paged; filter by deployment, alive, available, tag)',
      query: nodeFilter,
    },
    async (_req, res, { query: q }) => {
      const page = pageFrom(q);
      const filter = {
        ...(q.deployment !== undefined
          ? { deploymentId: (await store.deployments.get(parseRef(q.deployment, 'deployment'))).id }
          : {}),
        ...(q.alive !== undefined ? { alive: q.alive === 'true' } : {}),
        ...(q.available !== undefined ? { available: q.available === 'true' } : {}),
        ...(q.tag !== undefined ? { tag: q.tag } : {}),
      };
      res.json(listBody(await store.nodes.list(filter, page), page));
    },
  );

  routes.add(
    { method: 'post', path: '/nodes', summary: 'Create a node', body: createBody, status: 201 },
    async (req, res, { body }) => {
      res.status(201).json(await services.inventory.createNode(body, actorOf(req)));
    },
  );

  routes.add({ method: 'get', path: '/nodes/:ref', summary: 'One node' }, async (req, res) => {
    res.json(await store.nodes.get(parseRef(req.params.ref)));
  });

  routes.add(
    {
      method: 'patch',
      path: '/nodes/:ref',
      summary: 'Change a node (description, alive, available, address, BMC address/user)',
      body: patchBody,
    },
    async (req, res, { body: patch }) => {
      const ref = parseRef(req.params.ref);
      const updated = await services.inventory.updateNode(ref, patch, actorOf(req));
      res.json(updated);
    },
  );

  routes.add(
    {
      method: 'put',
      path: '/nodes/:ref/tags',
      summary: "Replace the node's tags (blueprint selectors and the `tag` filter match them)",
      body: tagsBody,
    },
    async (req, res, { body }) => {
      res.json(await services.inventory.setTags(parseRef(req.params.ref), body.tags, actorOf(req)));
    },
  );

  routes.add(
    { method: 'post', path: '/nodes/:ref/commit', summary: "Commit the node's proposed node-roles and attribs" },
    async (req, res) => {
      res.json(await services.changes.commitNode(parseRef(req.params.ref), actorOf(req)));
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/nodes/:ref/redeploy',
      summary: 'Install the node again: os-install and everything above it re-run',
      status: 202,
    },
    async (req, res) => {
      res.status(202).json(await services.changes.redeploy(parseRef(req.params.ref), actorOf(req)));
    },
  );

  routes.add(
    { method: 'post', path: '/nodes/:ref/propose', summary: 'Put the node back to proposed' },
    async (req, res) => {
      res.json(await services.changes.proposeNode(parseRef(req.params.ref), actorOf(req)));
    },
  );

  routes.add(
    { method: 'get', path: '/nodes/:ref/node-roles', summary: "The node's node-roles (paged)", query: pageQuery },
    async (req, res, { query }) => {
      const ref = parseRef(req.params.ref);
      const page = pageFrom(query);
      const node = await store.nodes.get(ref);
      res.json(listBody(await store.nodeRoles.list({ nodeId: node.id }, page), page));
    },
  );

  routes.add(
    { method: 'get', path: '/nodes/:ref/checks', summary: "Run the ready checks of the node's active node-roles now" },
    async (req, res) => {
      res.json(await services.checks.forNode(parseRef(req.params.ref)));
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/nodes/:ref/runs',
      summary: "Runs of the node's node-roles, oldest first (paged)",
      query: pageQuery,
    },
    async (req, res, { query }) => {
      const node = await store.nodes.get(parseRef(req.params.ref));
      const page = pageFrom(query);
      res.json(listBody(await store.runs.list({ nodeId: node.id }, page), page));
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/nodes/:ref/move',
      summary: "Move the node to another deployment (the old one's node-roles removed, the new one's bound)",
      body: moveBody,
      status: 202,
    },
    async (req, res, { body }) => {
      const ref = parseRef(req.params.ref);
      res
        .status(202)
        .json(await services.lifecycle.moveNode(ref, body.deployment, { force: body.force }, actorOf(req)));
    },
  );

  routes.add(
    {
      method: 'delete',
      path: '/nodes/:ref',
      summary: 'Retire the node: its node-roles removed, then its record, allocations and secrets',
      query: forceQuery,
      status: 202,
    },
    async (req, res, { query }) => {
      res
        .status(202)
        .json(await services.lifecycle.retireNode(parseRef(req.params.ref), { force: query.force }, actorOf(req)));
    },
  );

  routes.mount('/nodes/:ref/attribs', attribRoutes(anneal, 'node', '/nodes/:ref/attribs'));

  return routes;
}
