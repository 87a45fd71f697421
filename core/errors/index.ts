/**
 * The one error model. Throw an AppError anywhere; core/api/error-handler.ts maps it to
 * `{error: {code, message, details?}}` with the code's HTTP status, and the annealer uses `kind` to
 * decide between error (user, unexpected) and retry (operational). Anything that is not an AppError
 * is treated as ERR_INTERNAL and its message is never sent to clients.
 */
import { errorCodes, type ErrorCode, type ErrorKind } from './codes';

export { errorCodes, type ErrorCode, type ErrorKind } from './codes';

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, opts: { details?: unknown; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    if (opts.details !== undefined) this.details = opts.details;
  }

  get status(): number {
    return errorCodes[this.code].status;
  }

  get kind(): ErrorKind {
    return errorCodes[this.code].kind;
  }

  /** The wire shape; `details` only when present. */
  toJSON(): { code: ErrorCode; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** Field-level validation failures collected into one 400, each naming the field and the fix. */
export interface FieldIssue {
  field: string;
  message: string;
}

export function inputError(issues: FieldIssue[], code: ErrorCode = 'ERR_INPUT_INVALID'): AppError {
  const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  return new AppError(code, summary || 'invalid input', { details: { issues } });
}

export function notFound(code: ErrorCode, what: string, ref: string | number): AppError {
  return new AppError(code, `${what} ${JSON.stringify(ref)} not found`, { details: { ref } });
}

/** Coerces anything thrown into an AppError; non-AppErrors become ERR_INTERNAL with the cause kept. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('ERR_INTERNAL', 'internal error', { cause: err });
}
