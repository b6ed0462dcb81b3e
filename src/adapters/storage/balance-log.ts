import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { oneLine, utcTimestamp } from '../../core/format.js';
import type { Logger } from '../../core/logger.js';
import { formatMoney } from '../../core/money.js';
import { DEFAULT_STORE_RETRY, PendingWrites, type RetryBackoff } from '../../core/pending-writes.js';
import type { CheckResult } from '../../core/types.js';

/**
 * The seed's line for a result: Claude's `[ts] Claude: $x`, Moonshot's `ts | Available: … | Voucher: … | Cash: …`.
 * Claude's line keeps the table's figure, as the seed's did: an estimate (issue 13) is never written into it as
 * if it were measured (its anchor is).
 */
export function balanceLogLine(r: CheckResult): string {
  const ts = utcTimestamp(r.checkedAt);
  if (r.provider === 'claude') {
    return r.ok
      ? `[${ts}] Claude: ${formatMoney(r.estimate?.anchor ?? r.available, r.currency)}`
      : `[${ts}] Claude: ERROR ${oneLine(r.reason)}`;
  }
  if (!r.ok) return `${ts} | ERROR ${oneLine(r.reason)}`;
  const part = (a: typeof r.available | undefined) => (a === undefined ? 'n/a' : formatMoney(a, r.currency));
  return `${ts} | Available: ${part(r.available)} | Voucher: ${part(r.voucher)} | Cash: ${part(r.cash)}`;
}

/** The seed's two log files; providers the seed never knew are kept in the history alone. */
const FILES: Partial<Record<CheckResult['provider'], string>> = {
  claude: 'claude/balance-log.txt',
  kimi: 'moonshot/balance-log.txt',
};

/** Lines held per file while its disk refuses writes (full, read-only): about 40 days of checks every 5 minutes. */
export const BALANCE_LOG_BUFFER_LINES = 10_000;

export interface BalanceLogOptions {
  readonly logger: Logger;
  readonly retry?: RetryBackoff;
  /** Lines held per file; default `BALANCE_LOG_BUFFER_LINES`. */
  readonly capacity?: number;
}

/**
 * Appends one whole line per result to the seed's balance-log files under `dir`. A line the disk
 * refuses (ENOSPC, EROFS, …) waits in memory and is appended, in order, when the disk accepts writes
 * again: at the next append, and on a backoff timer meanwhile.
 */
export class BalanceLog {
  private readonly buffers = new Map<string, PendingWrites<string>>();

  constructor(
    private readonly dir: string,
    private readonly options: BalanceLogOptions,
  ) {}

  /** The seed's log file for `provider`; `undefined` for a provider the seed had no log for. */
  pathFor(provider: CheckResult['provider']): string | undefined {
    const file = FILES[provider];
    return file === undefined ? undefined : join(this.dir, file);
  }

  /** Lines waiting for the disk, over every file. */
  get pending(): number {
    let n = 0;
    for (const b of this.buffers.values()) n += b.pending;
    return n;
  }

  /** Appends each result's line (after any lines still waiting for that file). Never rejects. */
  async append(results: readonly CheckResult[]): Promise<boolean> {
    const done = await Promise.all(
      results.map((r) => this.bufferFor(r.provider)?.add([`${balanceLogLine(r)}\n`]) ?? true),
    );
    return done.every(Boolean);
  }

  /** One last attempt for the waiting lines; returns how many are lost (logged at error). */
  async close(): Promise<number> {
    const lost = await Promise.all([...this.buffers.values()].map((b) => b.close()));
    return lost.reduce((a, b) => a + b, 0);
  }

  private bufferFor(provider: CheckResult['provider']): PendingWrites<string> | undefined {
    const path = this.pathFor(provider);
    if (path === undefined) return undefined;
    let buffer = this.buffers.get(path);
    if (!buffer) {
      buffer = new PendingWrites<string>({
        name: `balance-log lines (${FILES[provider] ?? provider})`,
        write: async (line) => {
          await mkdir(dirname(path), { recursive: true });
          // One write per line with O_APPEND: concurrent writers (CLI and bot) never interleave inside a line.
          await appendFile(path, line, { flag: 'a' });
        },
        capacity: this.options.capacity ?? BALANCE_LOG_BUFFER_LINES,
        retry: this.options.retry ?? DEFAULT_STORE_RETRY,
        logger: this.options.logger.child({ file: path }),
      });
      this.buffers.set(path, buffer);
    }
    return buffer;
  }
}
