/**
 * The machine-facing provisioner endpoints, mounted at `/provision` outside `/api/v2`: booting machines
 * carry no API token; the per-install token in the URL is their credential (docs/provisioner.md).
 *
 *   GET  /provision/boot/:mac                       iPXE script (text/plain): the install's, or local boot
 *   GET  /provision/installs/:token/:artifact       a rendered install artifact (text/plain)
 *   POST /provision/installs/:token/complete        install-complete callback (idempotent) → 200 JSON
 *   POST /provision/discover                        a discovery image enlists its machine: {name, macs?,
 *                                                   bmcAddress?, bmcUsername?, bmcPassword?, address?} →
 *                                                   201 {id, name}; 409 ERR_NAME_TAKEN once it is known
 *
 * Discovery is anonymous, as enlistment is in MAAS and Digital Rebar: a machine on the admin network can
 * only add a new node to the system deployment (never change one; deployment, alive and available are not
 * accepted) and learns nothing but its id. docs/security.md says what that trusts.
 *
 * A malformed MAC is 400 ERR_INPUT_INVALID; an unknown, superseded or spent token is 404
 * ERR_INSTALL_NOT_FOUND whatever the reason; an artifact the OS does not have is 404 ERR_ARTIFACT_NOT_FOUND.
 */
import { Router, type Response } from 'express';
import type { Anneal } from '../../boot';
import { AppError, inputError } from '../../errors';
import { macAddress, parseBody } from '../parse';
import { discoveryBody } from './nodes';

const ARTIFACT = /^[a-z0-9][a-z0-9.-]{0,63}$/;

function sendText(res: Response, text: string): void {
  res.type('text/plain; charset=utf-8').set('cache-control', 'no-store').send(text);
}

export function provisionRoutes(anneal: Anneal): Router {
  const { services, config } = anneal;
  const router = Router();

  router.get('/boot/:mac', async (req, res) => {
    const mac = macAddress.safeParse(req.params.mac);
    if (!mac.success) throw inputError([{ field: 'mac', message: 'expected a MAC address like 52:54:00:12:34:56' }]);
    sendText(res, await services.provisioner.bootScript(mac.data, config.provisionerUrl));
  });

  router.post('/installs/:token/complete', async (req, res) => {
    const install = await services.provisioner.complete(req.params.token);
    res.json({ install: install.id, state: install.state });
  });

  router.get('/installs/:token/:artifact', async (req, res) => {
    const name = req.params.artifact;
    if (!ARTIFACT.test(name)) {
      throw new AppError('ERR_ARTIFACT_NOT_FOUND', 'no install artifact has that name');
    }
    sendText(res, await services.provisioner.artifact(req.params.token, name, config.provisionerUrl));
  });

  router.post('/discover', async (req, res) => {
    const body = parseBody(discoveryBody, req.body);
    const node = await services.inventory.createNode(body, 'discovery');
    res.status(201).json({ id: node.id, name: node.name });
  });

  return router;
}
