/**
 * Liveness: `GET /health` → 200 `{status: 'ok', engine, version, annealer: {workerId, claimed, completed, inFlight}}`.
 * Answers without touching the database, so it stays cheap enough to poll.
 */
import { Router } from 'express';
import type { Anneal } from '../../boot';
import { version } from '../../../package.json';

export function healthRoutes(anneal: Anneal): Router {
  const router = Router();
  router.get('/health', (_req, res) => {
    const { annealer } = anneal;
    res.json({
      status: 'ok',
      engine: anneal.store.engine,
      version,
      annealer: { workerId: annealer.workerId, ...annealer.stats },
    });
  });
  return router;
}
