/**
 * A node's network-boot install (operators; docs/provisioner.md):
 *
 *   POST /nodes/:ref/install   {os?} → 201, the install, waiting for the node's next network boot
 *                              (a pending one is superseded); ERR_NODE_NOT_FOUND, ERR_INPUT_INVALID,
 *                              ERR_ATTRIB_INVALID, ERR_STATE_INVALID (service node, no MAC, static
 *                              network without an address)
 *   GET  /nodes/:ref/install   the node's most recent install; ERR_INSTALL_NOT_FOUND
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Anneal } from '../../boot';
import { installOses } from '../../domain/installs';
import { actorOf } from '../actor';
import { parseBody, parseRef } from '../parse';

const requestBody = z.strictObject({
  os: z.enum(installOses, { error: `expected one of: ${installOses.join(', ')}` }).optional(),
});

export function installRoutes(anneal: Anneal): Router {
  const { services } = anneal;
  const router = Router();

  router.post('/nodes/:ref/install', async (req, res) => {
    const ref = parseRef(req.params.ref);
    const body = parseBody(requestBody, req.body ?? {});
    res.status(201).json(await services.provisioner.requestInstall(ref, body, actorOf(req)));
  });

  router.get('/nodes/:ref/install', async (req, res) => {
    res.json(await services.provisioner.currentInstall(parseRef(req.params.ref)));
  });

  return router;
}
