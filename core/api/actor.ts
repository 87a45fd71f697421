/** Who a request acts as, recorded in the audit log by every mutating route: `api:<token name>`. */
import type { Request } from 'express';
import type { Actor } from '../services';
import { principalOf } from './auth';

export function actorOf(req: Request): Actor {
  const token = principalOf(req);
  return token ? `api:${token.name}` : 'anonymous';
}
