/**
 * Runs: one attempt of one node-role (status, timings, exit code, output tails, redacted inputs).
 *
 *   GET /runs/:id   one run; ERR_RUN_NOT_FOUND
 */
import { Router } from 'express';
import type { Anneal } from '../../boot';
import { parseId } from '../parse';

export function runRoutes(anneal: Anneal): Router {
  const router = Router();
  router.get('/runs/:id', async (req, res) => {
    res.json(await anneal.store.runs.get(parseId(req.params.id)));
  });
  return router;
}
