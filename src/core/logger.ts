import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  type DestinationStream,
  destination,
  type Logger,
  pino,
  stdSerializers,
  stdTimeFunctions,
} from 'pino';

import { scrubSecrets } from './redact.js';

export type { Logger };

/**
 * Paths pino blanks before a line is written. Secrets only reach a log through a mistake; these
 * keep such a mistake from leaking them.
 */
export const REDACT_PATHS = [
  'token',
  'apiKey',
  'password',
  'authorization',
  'connectionString',
  'webhookUrl',
  'smtpUrl',
  '*.token',
  '*.apiKey',
  '*.password',
  '*.authorization',
  '*.connectionString',
  '*.webhookUrl',
  '*.smtpUrl',
  'headers.authorization',
  '*.headers.authorization',
  'config.discord.token',
  'config.moonshot.apiKey',
  'config.claudeDb.password',
  'config.claudeDb.connectionString',
  'config.accounts[*].settings.apiKey',
  'config.accounts[*].settings.db.password',
  'config.accounts[*].settings.db.connectionString',
  'config.databaseUrl',
];

/** Error fields scrubbed before they are written (see `redact.ts`); field names above are blanked by pino. */
function scrubDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubDeep(v, depth + 1);
  return out;
}

/** `LOG_FORMAT`: `null` picks pretty when stderr is a terminal, JSON otherwise. */
export type LogFormat = 'json' | 'pretty' | null;

/**
 * stderr, human-readable: each line formatted by pino-pretty's `prettyFactory` and written with one
 * synchronous write, so lines keep their order with the program's own output and nothing is lost at
 * `process.exit` (pino-pretty's stream form formats a tick later; a transport runs in a worker thread).
 * Loaded only when asked for: a cron run writing JSON never pays for it.
 */
function prettyStderr(): DestinationStream {
  // Resolved from this module's folder (the CLI bundle defines import.meta.url as its own), never bundled.
  const load = createRequire(import.meta.url);
  const { prettyFactory } = load('pino-pretty') as {
    prettyFactory: (options: Record<string, unknown>) => (line: string) => string;
  };
  const prettify = prettyFactory({
    colorize: process.stderr.isTTY === true,
    translateTime: 'UTC:yyyy-mm-dd HH:MM:ss',
    ignore: 'pid,hostname,app',
  });
  return { write: (line: string) => writeSync(2, prettify(line)) };
}

/**
 * The one root logger; modules take `logger.child({ module })`. Writes to `stream` when given (tests),
 * else to stderr: pretty or JSON as `options.format` says (see {@link LogFormat}).
 */
export function createLogger(
  level: string,
  stream?: DestinationStream,
  options: { format?: LogFormat } = {},
): Logger {
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  return pino(
    {
      level,
      base: { app: 'creditwatch' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: (err: Error) => scrubDeep(stdSerializers.err(err)) },
      timestamp: stdTimeFunctions.isoTime,
    },
    stream ?? (format === 'pretty' ? prettyStderr() : destination({ dest: 2, sync: true })),
  );
}
