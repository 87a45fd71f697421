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
import { Router } from 'express';
import { z } from 'zod';
import type { Anneal } from '../../boot';
import { powerActions } from '../../domain/vocabulary';
import { actorOf } from '../actor';
import { bmcAddress, bmcDriver, bmcPassword, bmcUsername, parseBody, parseRef } from '../parse';

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

export function powerRoutes(anneal: Anneal): Router {
  const { power } = anneal.services;
  const router = Router();

  router.put('/nodes/:ref/bmc', async (req, res) => {
    const ref = parseRef(req.params.ref);
    res.json(await power.configureBmc(ref, parseBody(bmcBody, req.body), actorOf(req)));
  });

  router.get('/nodes/:ref/power', async (req, res) => {
    res.json(await power.readPower(parseRef(req.params.ref)));
  });

  router.post('/nodes/:ref/power', async (req, res) => {
    const ref = parseRef(req.params.ref);
    const { action } = parseBody(powerBody, req.body);
    res.json(await power.act(ref, action, actorOf(req)));
  });

  router.post('/nodes/:ref/boot', async (req, res) => {
    const ref = parseRef(req.params.ref);
    const { device } = parseBody(bootBody, req.body);
    res.json(await power.nextBoot(ref, device, actorOf(req)));
  });

  return router;
}
