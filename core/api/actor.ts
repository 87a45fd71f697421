/** Who a request acts as, recorded in the audit log by every mutating route. */
import type { Request } from 'express';
import type { Actor } from '../services';

/** The actor for a mutating request; always `api` until requests are authenticated. */
export function actorOf(_req: Request): Actor {
  // Once bearer tokens land (DESIGN §8) this returns the authenticated token's subject.
  return 'api';
}
