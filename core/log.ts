/**
 * The process logger (pino: structured JSON, cheap when a level is off). Secrets never reach it:
 * callers log redacted values, and the paths below are censored as a second line of defence.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

/** `destination`: where the JSON lines go (default stdout); tests pass a stream to read the log back. */
export function createLogger(
  opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {},
): Logger {
  const options: pino.LoggerOptions = {
    name: opts.name ?? 'anneal',
    level: opts.level ?? process.env.ANNEAL_LOG_LEVEL ?? 'info',
    redact: {
      paths: ['*.password', '*.token', '*.privateKey', '*.authorization', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = pino({ level: 'silent' });
