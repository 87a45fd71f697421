/**
 * IPAM (docs/api.md, "Networks"): `/networks[/:ref]` where `:ref` is an id or a name.
 *
 *   GET    /networks?deployment=                  list (paged)
 *   POST   /networks                              {name, cidr, deployment?, description?, vlan?, gateway?,
 *                                                 category?, interface?} → 201; ERR_NAME_TAKEN
 *   GET    /networks/:ref                         the network with its ranges
 *   DELETE /networks/:ref                         204; ERR_STATE_INVALID while it has allocations
 *   GET    /networks/:ref/ranges                  its ranges
 *   POST   /networks/:ref/ranges                  {name, first, last} → 201; issues name first/last
 *   DELETE /networks/:ref/ranges/:name            204; ERR_RANGE_NOT_FOUND, ERR_STATE_INVALID
 *   GET    /networks/:ref/allocations             its allocations, by address
 *   POST   /networks/:ref/allocations             {node, range?, address?} → 201 (200: the node's existing
 *                                                 one); ERR_ADDRESS_TAKEN, ERR_ADDRESS_OUTSIDE, ERR_RANGE_EXHAUSTED
 *   DELETE /networks/:ref/allocations/:address    release, 204; ERR_ALLOCATION_NOT_FOUND
 */
import { z } from 'zod';
import type { Anneal } from '../../boot';
import { formatIpv4, isHostAddress, NETWORK_CATEGORY, parseCidr, parseIpv4 } from '../../domain/ipam';
import { inputError } from '../../errors';
import { actorOf } from '../actor';
import { listBody } from '../list';
import { description, hostName, pageFrom, pageQuery, parseRef, refSchema } from '../parse';
import { ApiRoutes } from '../route';

const ipv4 = z
  .string({ error: 'expected an IPv4 address like 192.168.50.10' })
  .refine((s) => parseIpv4(s) !== null, 'expected an IPv4 address like 192.168.50.10');

const cidr = z
  .string({ error: 'expected an IPv4 network like 192.168.50.0/24' })
  .refine((s) => parseCidr(s) !== null, 'expected an IPv4 network like 192.168.50.0/24 (host bits zero)');

/** A Linux interface name (what `ip link` accepts): 1–15 characters, no slash, space or colon. */
const interfaceName = z
  .string({ error: 'expected an interface name like eth1' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/, 'expected an interface name like eth1 (at most 15 characters)');

const createBody = z
  .strictObject({
    name: hostName(63),
    description: description.optional(),
    deployment: refSchema('deployment').optional(),
    cidr,
    vlan: z
      .number({ error: 'expected a VLAN id between 1 and 4094, or null' })
      .int('expected a VLAN id between 1 and 4094, or null')
      .min(1, 'expected a VLAN id between 1 and 4094, or null')
      .max(4094, 'expected a VLAN id between 1 and 4094, or null')
      .nullable()
      .optional(),
    gateway: ipv4.nullable().optional(),
    category: z
      .string({ error: 'expected a category like admin, storage or general' })
      .regex(NETWORK_CATEGORY, 'expected a category like admin, storage or general (lowercase word)')
      .optional(),
    interface: interfaceName.nullable().optional(),
  })
  .superRefine((b, ctx) => {
    const c = parseCidr(b.cidr);
    const gw = typeof b.gateway === 'string' ? parseIpv4(b.gateway) : null;
    if (c && gw !== null && !isHostAddress(c, gw)) {
      ctx.addIssue({
        code: 'custom',
        path: ['gateway'],
        message: `expected a host address of ${b.cidr} (${formatIpv4(c.firstHost)}..${formatIpv4(c.lastHost)})`,
      });
    }
  });

const rangeBody = z.strictObject({
  name: hostName(63),
  first: ipv4,
  last: ipv4,
});

const allocateBody = z.strictObject({
  node: refSchema('node'),
  range: hostName(63).optional(),
  address: ipv4.optional(),
});

const listQuery = pageQuery.extend({ deployment: z.string().optional() });

function addressParam(value: unknown): string {
  if (typeof value !== 'string' || parseIpv4(value) === null) {
    throw inputError([{ field: 'address', message: 'expected an IPv4 address like 192.168.50.10' }]);
  }
  return value;
}

export function networkRoutes(anneal: Anneal): ApiRoutes {
  const { services } = anneal;
  const ipam = services.networks;
  const routes = new ApiRoutes(anneal);

  routes.add(
    { method: 'get', path: '/networks', summary: 'List networks (paged; filter by deployment)', query: listQuery },
    async (_req, res, { query: q }) => {
      const page = pageFrom(q);
      const deployment = q.deployment === undefined ? undefined : parseRef(q.deployment, 'deployment');
      res.json(listBody(await ipam.listNetworks({ deployment }, page), page));
    },
  );

  routes.add(
    { method: 'post', path: '/networks', summary: 'Create a network', body: createBody, status: 201 },
    async (req, res, { body }) => {
      res.status(201).json(await ipam.createNetwork(body, actorOf(req)));
    },
  );

  routes.add({ method: 'get', path: '/networks/:ref', summary: 'One network with its ranges' }, async (req, res) => {
    res.json(await ipam.getNetwork(parseRef(req.params.ref)));
  });

  routes.add(
    { method: 'delete', path: '/networks/:ref', summary: 'Delete a network without allocations', status: 204 },
    async (req, res) => {
      await ipam.deleteNetwork(parseRef(req.params.ref), actorOf(req));
      res.status(204).end();
    },
  );

  routes.add({ method: 'get', path: '/networks/:ref/ranges', summary: "The network's ranges" }, async (req, res) => {
    res.json({ items: await ipam.listRanges(parseRef(req.params.ref)) });
  });

  routes.add(
    { method: 'post', path: '/networks/:ref/ranges', summary: 'Add a range', body: rangeBody, status: 201 },
    async (req, res, { body }) => {
      const ref = parseRef(req.params.ref);
      res.status(201).json(await ipam.createRange(ref, body, actorOf(req)));
    },
  );

  routes.add(
    {
      method: 'delete',
      path: '/networks/:ref/ranges/:name',
      summary: 'Delete a range without allocations',
      status: 204,
    },
    async (req, res) => {
      const ref = parseRef(req.params.ref);
      const name = parseRef(req.params.name, 'name');
      await ipam.deleteRange(ref, String(name), actorOf(req));
      res.status(204).end();
    },
  );

  routes.add(
    { method: 'get', path: '/networks/:ref/allocations', summary: "The network's allocations, by address" },
    async (req, res) => {
      res.json({ items: await ipam.listAllocations(parseRef(req.params.ref)) });
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/networks/:ref/allocations',
      summary: 'Allocate an address to a node',
      body: allocateBody,
    },
    async (req, res, { body }) => {
      const ref = parseRef(req.params.ref);
      const { allocation, created } = await ipam.allocate(ref, body, actorOf(req));
      res.status(created ? 201 : 200).json(allocation);
    },
  );

  routes.add(
    { method: 'delete', path: '/networks/:ref/allocations/:address', summary: 'Release an allocation', status: 204 },
    async (req, res) => {
      const ref = parseRef(req.params.ref);
      await ipam.release(ref, addressParam(req.params.address), actorOf(req));
      res.status(204).end();
    },
  );

  return routes;
}
