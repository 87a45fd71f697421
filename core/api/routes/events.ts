/**
 * The audit log, oldest first, paged by cursor: pass the last id you saw as `?after=` to get what
 * came next. Answers `{items, after, limit}` (`after` echoes the cursor, 0 when absent).
 *
 *   GET /events?after=<id>&type=<type>&limit=<1..1000>
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Anneal } from '../../boot';
import { DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, parseQuery, queryInt } from '../parse';

const eventsQuery = z.object({
  after: queryInt(0, MAX_ID).optional(),
  type: z
    .string({ error: 'expected one event type' })
    .max(200, 'expected an event type of at most 200 characters')
    .optional(),
  limit: queryInt(1, MAX_LIMIT).optional(),
});

export function eventRoutes(anneal: Anneal): Router {
  const router = Router();
  router.get('/events', async (req, res) => {
    const q = parseQuery(eventsQuery, req.query);
    const after = q.after ?? 0;
    const limit = q.limit ?? DEFAULT_LIMIT;
    const items = await anneal.store.events.list({ afterId: after, ...(q.type ? { type: q.type } : {}) }, limit);
    res.json({ items, after, limit });
  });
  return router;
}
