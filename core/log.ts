/**
 * The process logger (pino: structured JSON, cheap when a level is off). Secrets never reach it:
 * callers log redacted values, and the paths below are censored as a second line of defence.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: opts.name ?? 'anneal',
    level: opts.level ?? process.env.ANNEAL_LOG_LEVEL ?? 'info',
    redact: {
      paths: ['*.password', '*.token', '*.privateKey', '*.authorization', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  });
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = pino({ level: 'silent' });
