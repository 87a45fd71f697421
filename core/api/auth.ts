/**
 * Bearer-token authentication and role checks for `/api/v2` (DESIGN §8, docs/security.md).
 *
 * Contract: every request names a live token in `Authorization: Bearer <secret>`, except the routes
 * whose access is `public`; no token, an unknown one or a revoked one → 401 ERR_UNAUTHENTICATED (the
 * same answer for all three, so it says nothing about which tokens exist); a role below the route's
 * access → 403 ERR_FORBIDDEN naming the role needed. The check runs before the route, so a refused
 * request changes nothing. The secret is never logged or echoed.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Anneal } from '../boot';
import { allows, roleNeeded, type Access } from '../domain/auth';
import { AppError } from '../errors';
import type { ApiTokenRecord } from '../store/api-tokens';

const principals = new WeakMap<Request, ApiTokenRecord>();

/** The token a request was authenticated with; undefined on public routes. */
export function principalOf(req: Request): ApiTokenRecord | undefined {
  return principals.get(req);
}

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

/** Middleware for one route needing `access` (core/api/route.ts registers it on every route). */
export function requireToken(anneal: Anneal, access: Access): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (access === 'public') return next();
    const match = BEARER.exec(req.get('authorization') ?? '');
    const unauthenticated = new AppError(
      'ERR_UNAUTHENTICATED',
      match
        ? 'the bearer token is not valid (unknown or revoked): ask an admin for a token (anneal tokens create NAME --role operator)'
        : 'this route needs a token: send Authorization: Bearer <token> (the CLI reads ANNEAL_TOKEN; the first admin token is printed when the server first starts)',
    );
    if (!match) return next(unauthenticated);
    anneal.services.tokens.authenticate(match[1]!).then((token) => {
      if (!token) return next(unauthenticated);
      if (!allows(token.role, access)) {
        return next(
          new AppError(
            'ERR_FORBIDDEN',
            `token "${token.name}" is ${token.role}; ${req.method} ${req.baseUrl}${req.path} needs ${roleNeeded(access)} or above: use such a token`,
            { details: { role: token.role, needs: roleNeeded(access) } },
          ),
        );
      }
      principals.set(req, token);
      next();
    }, next);
  };
}
