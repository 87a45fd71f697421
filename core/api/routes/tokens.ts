/**
 * API tokens (admin only) and the caller's own identity.
 *
 *   GET    /tokens          list (paged): {id, name, role, createdAt, createdBy, lastUsedAt, revokedAt}
 *   POST   /tokens          {name, role: admin|operator|read-only} → 201 the record plus `token`, the
 *                           secret, shown this once (only its SHA-256 is stored)
 *   DELETE /tokens/:ref     revokes (id or name) → the record with revokedAt; idempotent
 *   GET    /whoami          {name, role} of the calling token (any role)
 */
import { z } from 'zod';
import type { Anneal } from '../../boot';
import { tokenRoles } from '../../domain/auth';
import { actorOf } from '../actor';
import { principalOf } from '../auth';
import { listBody } from '../list';
import { hostName, pageFrom, pageQuery, parseRef } from '../parse';
import { ApiRoutes } from '../route';

export const tokenBody = z.strictObject({
  name: hostName(64),
  role: z.enum(tokenRoles, { error: `expected one of: ${tokenRoles.join(', ')}` }),
});

export function tokenRoutes(anneal: Anneal): ApiRoutes {
  const { tokens } = anneal.services;
  return new ApiRoutes(anneal)
    .add({ method: 'get', path: '/whoami', summary: "The calling token's name and role" }, (req, res) => {
      const t = principalOf(req)!;
      res.json({ name: t.name, role: t.role });
    })
    .add(
      { method: 'get', path: '/tokens', summary: 'List API tokens (paged)', access: 'admin', query: pageQuery },
      async (req, res, { query }) => {
        const page = pageFrom(query);
        res.json(listBody(await tokens.list(page), page));
      },
    )
    .add(
      {
        method: 'post',
        path: '/tokens',
        summary: 'Create an API token; the secret is in the answer, once',
        access: 'admin',
        body: tokenBody,
        status: 201,
      },
      async (req, res, { body }) => {
        res.status(201).json(await tokens.create(body, actorOf(req)));
      },
    )
    .add(
      { method: 'delete', path: '/tokens/:ref', summary: 'Revoke an API token', access: 'admin' },
      async (req, res) => {
        res.json(await tokens.revoke(parseRef(req.params.ref), actorOf(req)));
      },
    );
}
