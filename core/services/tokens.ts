/**
 * API tokens: create (the secret is returned once, only its SHA-256 is stored), authenticate, revoke,
 * and the first admin token on a fresh database. Secrets never reach the audit log: events name the
 * token and its role only.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { TokenRole } from '../domain/auth';
import { AppError } from '../errors';
import type { ApiTokenRecord } from '../store/api-tokens';
import { audit, useCase, type Actor, type ServiceDeps, type UnitOfWork } from './deps';

/** How often `lastUsedAt` is written for one token at most (a write per request would cost more than it tells). */
const TOUCH_INTERVAL_MS = 60_000;
/** The name of the token created on first start. */
export const FIRST_ADMIN = 'admin';

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** `anneal_` + 32 random bytes, base64url: 50 characters, 256 bits. */
export function newSecret(): string {
  return `anneal_${randomBytes(32).toString('base64url')}`;
}

export interface FirstAdmin {
  /** The generated secret when this start created it (print it once); null otherwise. */
  printOnce: string | null;
  created: boolean;
  /** ANNEAL_ADMIN_TOKEN was set but tokens existed already and it matches none of them. */
  envIgnored: boolean;
}

export function tokensService(deps: Pick<ServiceDeps, 'store' | 'now' | 'events'>) {
  const { store, now } = deps;
  const touched = new Map<number, number>();

  async function event(uow: UnitOfWork, actor: Actor, type: string, t: ApiTokenRecord): Promise<void> {
    await audit(
      uow,
      [{ actor, type, objectType: 'token', objectId: t.id, data: { name: t.name, role: t.role } }],
      now(),
    );
  }

  async function insert(name: string, role: TokenRole, secret: string, actor: Actor): Promise<ApiTokenRecord> {
    return useCase(deps, async (uow) => {
      const taken = await uow.tx.apiTokens.find(name);
      if (taken) {
        throw new AppError(
          'ERR_NAME_TAKEN',
          `a token named "${name}" already exists (id ${taken.id}); choose another name`,
        );
      }
      const record = await uow.tx.apiTokens.create({ name, role, hash: hashToken(secret), createdBy: actor }, now());
      await event(uow, actor, 'token.create', record);
      return record;
    });
  }

  /** A new token; `token` is the secret, returned this once. ERR_NAME_TAKEN for a used name (revoked ones too). */
  async function create(
    input: { name: string; role: TokenRole },
    actor: Actor,
  ): Promise<ApiTokenRecord & { token: string }> {
    const secret = newSecret();
    return { ...(await insert(input.name, input.role, secret, actor)), token: secret };
  }

  /** The live token a secret belongs to, or null (unknown or revoked). */
  async function authenticate(secret: string): Promise<ApiTokenRecord | null> {
    // Looked up by the secret's SHA-256: the secret itself is never compared, so timing says nothing about it.
    const t = await store.apiTokens.findByHash(hashToken(secret));
    if (!t || t.revokedAt !== null) return null;
    const at = now();
    if (at - (touched.get(t.id) ?? -Infinity) >= TOUCH_INTERVAL_MS) {
      touched.set(t.id, at);
      await store.apiTokens.touch(t.id, at);
    }
    return t;
  }

  /** Revokes by id or name (idempotent: revoking twice keeps the first revokedAt). ERR_TOKEN_NOT_FOUND. */
  async function revoke(ref: number | string, actor: Actor): Promise<ApiTokenRecord> {
    return useCase(deps, async (uow) => {
      const t = await uow.tx.apiTokens.get(ref);
      const revoked = await uow.tx.apiTokens.revoke(t.id, now());
      if (t.revokedAt === null) await event(uow, actor, 'token.revoke', revoked);
      return revoked;
    });
  }

  /**
   * On a database without tokens, creates the `admin` token: with `fromEnv` (ANNEAL_ADMIN_TOKEN) as its
   * secret when given, else a new secret the caller prints once. Several processes starting together on
   * one PostgreSQL: one creates it, the others see it taken and create nothing.
   */
  async function ensureFirstAdmin(fromEnv: string | null): Promise<FirstAdmin> {
    if ((await store.apiTokens.count()) > 0) {
      const envIgnored = fromEnv !== null && (await store.apiTokens.findByHash(hashToken(fromEnv))) === null;
      return { printOnce: null, created: false, envIgnored };
    }
    const secret = fromEnv ?? newSecret();
    try {
      await insert(FIRST_ADMIN, 'admin', secret, 'anneal');
    } catch (err) {
      if ((await store.apiTokens.count()) > 0) return { printOnce: null, created: false, envIgnored: false };
      throw err;
    }
    return { printOnce: fromEnv ? null : secret, created: true, envIgnored: false };
  }

  return {
    create,
    authenticate,
    revoke,
    ensureFirstAdmin,
    list: (page?: { offset: number; limit: number }) => store.apiTokens.list(page),
    get: (ref: number | string) => store.apiTokens.get(ref),
  };
}
