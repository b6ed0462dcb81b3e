import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/core/logger.js';

/** A real pino logger (with the production redaction) writing into memory, for asserting on log output. */
export function captureLogs(level = 'info'): { logger: Logger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger(level, stream), lines, text: () => lines.join('') };
}
