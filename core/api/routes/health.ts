/**
 * Liveness: `GET /health` → 200 `{status: 'ok', engine, version, annealer: {workerId, claimed, completed, inFlight}}`.
 * Public (no token: load balancers and the lab poll it). Answers without touching the database, so it
 * stays cheap enough to poll.
 */
import type { Anneal } from '../../boot';
import { version } from '../../../package.json';
import { ApiRoutes } from '../route';

export function healthRoutes(anneal: Anneal): ApiRoutes {
  return new ApiRoutes(anneal).add(
    { method: 'get', path: '/health', summary: 'Liveness and version (no token needed)', access: 'public' },
    (_req, res) => {
      const { annealer } = anneal;
      res.json({
        status: 'ok',
        engine: anneal.store.engine,
        version,
        annealer: { workerId: annealer.workerId, ...annealer.stats },
      });
    },
  );
}
