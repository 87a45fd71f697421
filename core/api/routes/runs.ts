/** Runs: `GET /runs/:id` → one run record (stdout/stderr tails, exit code, error); ERR_RUN_NOT_FOUND. */
import type { Anneal } from '../../boot';
import { parseId } from '../parse';
import { ApiRoutes } from '../route';

export function runRoutes(anneal: Anneal): ApiRoutes {
  return new ApiRoutes(anneal).add({ method: 'get', path: '/runs/:id', summary: 'One run' }, async (req, res) => {
    res.json(await anneal.store.runs.get(parseId(req.params.id)));
  });
}
