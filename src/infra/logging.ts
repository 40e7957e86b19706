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
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
