import { type DestinationStream, destination, type Logger, pino, stdTimeFunctions } from 'pino';

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
  'config.databaseUrl',
];

/** The one root logger; modules take `logger.child({ module })`. */
export function createLogger(level: string, stream?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app: 'creditwatch' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: stdTimeFunctions.isoTime,
    },
    stream ?? destination({ dest: 2, sync: true }),
  );
}
