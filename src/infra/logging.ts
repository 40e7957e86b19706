import pino, { Logger } from 'pino';
import pretty from 'pino-pretty';

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'secret',
  'secrets',
  '*.secret',
  '*.secrets',
  '*.moderatorPassword',
  '*.password',
  'config.secrets',
  'req.headers.authorization',
  'headers.authorization',
];

export interface LogOptions {
  level: string;
  /** pretty: readable lines; json: one object a line. Unset: pretty on a terminal, JSON otherwise (a log shipper) */
  format?: 'json' | 'pretty';
  destination?: pino.DestinationStream;
}

/**
 * An error as pino writes it, without the parameters of a failed SQL statement: PGlite's
 * errors carry them, and they hold what redaction cannot see into (an event's JSON with a
 * BBB server's secret; a pool snapshot with every secret and moderator password).
 */
function errorWithoutParams(err: unknown): unknown {
  // pino's own serializer, which leaves what is not error-like as it is (an error from another realm is error-like)
  const out: unknown = pino.stdSerializers.err(err as Error);
  return out !== null && typeof out === 'object' && 'params' in out ? { ...out, params: '[not logged]' } : out;
}

export function createLogger(options: LogOptions): Logger {
  const format = options.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const destination =
    options.destination ??
    (format === 'pretty'
      ? // In process, not a worker transport: a line is on the terminal before the process can exit.
        pretty({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true, sync: true })
      : pino.destination({ dest: 1, sync: false }));
  return pino(
    {
      level: options.level,
      base: { service: 'scalelite' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: errorWithoutParams },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
