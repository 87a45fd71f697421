/**
 * A node's BMC and power: `/nodes/:ref/…`.
 *
 *   PUT  /nodes/:ref/bmc     {address?, username?, password?, driver?} → the node (the password is stored
 *                            as a node secret and never returned)
 *   GET  /nodes/:ref/power   reads the power state from the BMC now → the node
 *   POST /nodes/:ref/power   {action: on|off|cycle|reset} → the node, with the state read back
 *   POST /nodes/:ref/boot    {device: pxe|disk} → the node (next boot device)
 *
 * BMC calls are limited per BMC (one at a time, spaced; ANNEAL_BMC_MIN_INTERVAL_MS). Errors:
 * ERR_POWER_NOT_CONFIGURED, ERR_POWER_UNREACHABLE, ERR_POWER_AUTH, ERR_POWER_FAILED (docs/errors.md).
 */
import { z } from 'zod';
import type { Anneal } from '../../boot';
import { powerActions } from '../../domain/vocabulary';
import { actorOf } from '../actor';
import { bmcAddress, bmcDriver, bmcPassword, bmcUsername, parseRef } from '../parse';
import { ApiRoutes } from '../route';

const bmcBody = z
  .strictObject({
    address: bmcAddress.nullable().optional(),
    username: bmcUsername.nullable().optional(),
    password: bmcPassword.nullable().optional(),
    driver: bmcDriver.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, {
    message: 'expected at least one of: address, username, password, driver',
    when: (payload) => payload.issues.length === 0,
  });

const powerBody = z.strictObject({
  action: z.enum(powerActions, { error: `expected one of: ${powerActions.join(', ')}` }),
});

const bootBody = z.strictObject({
  device: z.enum(['pxe', 'disk'], { error: 'expected pxe or disk' }),
});

export function powerRoutes(anneal: Anneal): ApiRoutes {
  const { power } = anneal.services;
  const routes = new ApiRoutes(anneal);

  routes.add(
    {
      method: 'put',
      path: '/nodes/:ref/bmc',
      summary: "Set the node's BMC (address, user, password, driver)",
      body: bmcBody,
    },
    async (req, res, { body }) => {
      const ref = parseRef(req.params.ref);
      res.json(await power.configureBmc(ref, body, actorOf(req)));
    },
  );

  routes.add(
    { method: 'get', path: '/nodes/:ref/power', summary: 'Read the power state from the BMC now' },
    async (req, res) => {
      res.json(await power.readPower(parseRef(req.params.ref)));
    },
  );

  routes.add(
    { method: 'post', path: '/nodes/:ref/power', summary: 'Power action: on, off, cycle, reset', body: powerBody },
    async (req, res, { body }) => {
      const { action } = body;
      const ref = parseRef(req.params.ref);
      res.json(await power.act(ref, action, actorOf(req)));
    },
  );

  routes.add(
    { method: 'post', path: '/nodes/:ref/boot', summary: 'Next boot device: pxe or disk', body: bootBody },
    async (req, res, { body }) => {
      const { device } = body;
      const ref = parseRef(req.params.ref);
      res.json(await power.nextBoot(ref, device, actorOf(req)));
    },
  );

  return routes;
}
