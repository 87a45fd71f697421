/**
 * A node's network-boot install (operators; docs/provisioner.md):
 *
 *   POST /nodes/:ref/install   {os?} → 201, the install, waiting for the node's next network boot
 *                              (a pending one is superseded); ERR_NODE_NOT_FOUND, ERR_INPUT_INVALID,
 *                              ERR_ATTRIB_INVALID, ERR_STATE_INVALID (service node, no MAC, static
 *                              network without an address)
 *   GET  /nodes/:ref/install   the node's most recent install; ERR_INSTALL_NOT_FOUND
 */
import { z } from 'zod';
import type { Anneal } from '../../boot';
import { installOses } from '../../domain/installs';
import { actorOf } from '../actor';
import { parseRef } from '../parse';
import { ApiRoutes } from '../route';

const requestBody = z.strictObject({
  os: z.enum(installOses, { error: `expected one of: ${installOses.join(', ')}` }).optional(),
});

export function installRoutes(anneal: Anneal): ApiRoutes {
  const { services } = anneal;
  return new ApiRoutes(anneal)
    .add(
      {
        method: 'post',
        path: '/nodes/:ref/install',
        summary: 'Install the node (network boot through its BMC)',
        body: requestBody,
        optionalBody: true,
        status: 201,
      },
      async (req, res, { body }) => {
        const ref = parseRef(req.params.ref);
        res.status(201).json(await services.provisioner.requestInstall(ref, body, actorOf(req)));
      },
    )
    .add({ method: 'get', path: '/nodes/:ref/install', summary: "The node's current install" }, async (req, res) => {
      res.json(await services.provisioner.currentInstall(parseRef(req.params.ref)));
    });
}
