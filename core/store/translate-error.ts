/**
 * Prisma's errors stop here: every repository method is wrapped so that what leaves the store is an
 * AppError with anneal's codes (or an error that is not Prisma's, unchanged). Matched by Prisma's error
 * codes (https://www.prisma.io/docs/orm/reference/error-reference):
 * - P2002 unique constraint → ERR_CONFLICT (`details.unique: true`: callers that race on purpose retry on it);
 * - P2025 record to update/delete not found, P2034 write conflict or deadlock → ERR_CONFLICT;
 * - P1001/P1002/P1017 server unreachable or gone → ERR_DATABASE_UNAVAILABLE.
 * The original error is kept as `cause` (logged, never sent to clients).
 */
import { AppError } from '../errors';

const conflict: Record<string, string> = {
  P2002: 'an object with the same unique key already exists or was created concurrently; reload and try again',
  P2025: 'the object was changed or removed concurrently; reload and try again',
  P2034: 'the change collided with a concurrent one; try again',
};
const unavailable = new Set(['P1001', 'P1002', 'P1017']);

export function translatePrismaError(err: unknown): unknown {
  if (err instanceof AppError || typeof err !== 'object' || err === null) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return err;
  if (conflict[code]) {
    return new AppError('ERR_CONFLICT', conflict[code], { details: { unique: code === 'P2002' }, cause: err });
  }
  if (unavailable.has(code)) {
    return new AppError('ERR_DATABASE_UNAVAILABLE', 'the database could not be reached; try again', { cause: err });
  }
  return err;
}

/** True for the ERR_CONFLICT a unique constraint raised (a concurrent insert of the same key). */
export function isUniqueConflict(err: unknown): boolean {
  return (
    err instanceof AppError && err.code === 'ERR_CONFLICT' && (err.details as { unique?: boolean })?.unique === true
  );
}

/** Wraps every async method of every repository with translatePrismaError. */
export function translatePrismaErrors<R extends Record<string, object>>(repos: R): R {
  const out: Record<string, unknown> = {};
  for (const [name, repo] of Object.entries(repos)) {
    const methods: Record<string, unknown> = {};
    for (const [method, fn] of Object.entries(repo)) {
      methods[method] =
        typeof fn === 'function'
          ? async (...args: unknown[]) => {
              try {
                return await (fn as (...a: unknown[]) => unknown)(...args);
              } catch (err) {
                throw translatePrismaError(err);
              }
            }
          : fn;
    }
    out[name] = methods;
  }
  return out as R;
}
