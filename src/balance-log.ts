import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { formatMoney } from './money.js';
import type { CheckResult } from './types.js';

/** `2026-01-29 09:00:00` in UTC, the seed's timestamp shape. */
export function logTimestamp(at: Date): string {
  return at.toISOString().slice(0, 19).replace('T', ' ');
}

/** Keeps a reason on one line so a log line stays one line. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}

/** The seed's line for a result: Claude's `[ts] Claude: $x`, Moonshot's `ts | Available: … | Voucher: … | Cash: …`. */
export function balanceLogLine(r: CheckResult): string {
  const ts = logTimestamp(r.checkedAt);
  if (r.provider === 'claude') {
    return r.ok
      ? `[${ts}] Claude: ${formatMoney(r.available, r.currency)}`
      : `[${ts}] Claude: ERROR ${oneLine(r.reason)}`;
  }
  if (!r.ok) return `${ts} | ERROR ${oneLine(r.reason)}`;
  const part = (a: typeof r.available | undefined) => (a === undefined ? 'n/a' : formatMoney(a, r.currency));
  return `${ts} | Available: ${part(r.available)} | Voucher: ${part(r.voucher)} | Cash: ${part(r.cash)}`;
}

const FILES = { claude: 'claude/balance-log.txt', kimi: 'moonshot/balance-log.txt' } as const;

/** Appends one whole line per result to the seed's balance-log files under `dir`. */
export class BalanceLog {
  constructor(private readonly dir: string) {}

  pathFor(provider: CheckResult['provider']): string {
    return join(this.dir, FILES[provider]);
  }

  async append(results: readonly CheckResult[]): Promise<void> {
    await Promise.all(
      results.map(async (r) => {
        const path = this.pathFor(r.provider);
        await mkdir(join(path, '..'), { recursive: true });
        // One write per line with O_APPEND: concurrent writers (CLI and bot) never interleave inside a line.
        await appendFile(path, `${balanceLogLine(r)}\n`, { flag: 'a' });
      }),
    );
  }
}
