/**
 * The one place that turns errors into HTTP responses. Every error body is
 * `{error: {code, message, details?}}` with the status of the code in core/errors/codes.ts.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError } from '../errors';
import type { Logger } from '../log';

/** The JSON body limit, shared with app.ts so the 413 message states it. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

interface HttpishError {
  type?: unknown;
  status?: unknown;
  code?: unknown;
  message?: unknown;
}

/**
 * Maps anything thrown to an AppError:
 * - an AppError is kept as it is;
 * - body-parser's size and JSON errors become ERR_BODY_TOO_LARGE and ERR_JSON_MALFORMED (the
 *   parser's reason in `details.reason`); its other 4xx errors and bad path encoding become ERR_INPUT_INVALID;
 * - anything else becomes ERR_INTERNAL with a generic message.
 */
export function classify(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as HttpishError;
  if (e.type === 'entity.too.large') {
    return new AppError('ERR_BODY_TOO_LARGE', `request body is larger than the ${BODY_LIMIT_BYTES} byte limit`, {
      details: { limit: BODY_LIMIT_BYTES },
    });
  }
  if (e.type === 'entity.parse.failed') {
    return new AppError('ERR_JSON_MALFORMED', 'request body is not valid JSON', {
      details: { reason: String(e.message) },
    });
  }
  if (err instanceof URIError && e.status === 400) {
    return new AppError('ERR_INPUT_INVALID', 'request path is not valid percent-encoding', {
      details: { issues: [{ field: 'path', message: 'expected valid percent-encoded UTF-8' }] },
    });
  }
  if (typeof e.type === 'string' && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new AppError('ERR_INPUT_INVALID', `request body could not be read: ${String(e.message)}`);
  }
  return new AppError('ERR_INTERNAL', 'internal error; the server log has the details', { cause: err });
}

/**
 * Final error middleware. ERR_INTERNAL is logged at error level with the original error (stack
 * included); the response never contains it. If headers were already sent the connection is left
 * to Express's default handling.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    const appError = classify(err);
    if (appError.code === 'ERR_INTERNAL') {
      log.error({ err, method: req.method, url: req.originalUrl }, 'request failed with an unexpected error');
    } else if (appError.code === 'ERR_CONFLICT') {
      log.warn({ err, method: req.method, url: req.originalUrl }, 'request hit a unique-constraint conflict');
    }
    if (res.headersSent) return next(err);
    res.status(appError.status).json({ error: appError.toJSON() });
  };
}

/** Terminal middleware for unmatched routes: ERR_NOT_FOUND naming the method and path. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(
    new AppError('ERR_NOT_FOUND', `no route for ${req.method} ${req.path}`, {
      details: { method: req.method, path: req.path },
    }),
  );
};
