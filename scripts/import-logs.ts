/**
 * `npm run import-logs -- <file>...` — reads the seed's balance-log files into the history so
 * forecasts work from day one. Idempotent: importing the same file twice adds nothing.
 */
import { readFile } from 'node:fs/promises';
import { configOrExplain, runCli } from '../src/cli.js';
import {
  parseBalanceLog,
  READING_FORMAT_EXAMPLES,
  type ReadingFormat,
} from '../src/import/parse-balance-log.js';
import type { Currency } from '../src/money.js';
import { openDatabase } from '../src/storage/db.js';
import { HistoryStore, type ImportedReading } from '../src/storage/history.js';

async function main(files: string[]): Promise<number> {
  if (files.length === 0 || files.includes('--help') || files.includes('-h')) {
    console.error(
      'usage: npm run import-logs -- <balance-log file>...\n  e.g. npm run import-logs -- ~/.config/claude/balance-log.txt ~/.config/moonshot/balance-log.txt',
    );
    return files.length === 0 ? 1 : 0;
  }
  // Importing needs only the history store; provider secrets are not required for it.
  const config = configOrExplain({ providerSettings: 'optional' });
  if (config === null) return 1;
  // Kimi's currency follows the configured host, as live readings do.
  const kimiCurrency: Currency = config.moonshot?.currency ?? config.moonshotCurrency;
  const db = await openDatabase({ databaseUrl: config.databaseUrl, sqlitePath: config.sqlitePath });
  const history = new HistoryStore(db);
  let failed = false;
  const total = { imported: 0, existing: 0, skipped: 0 };
  try {
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        console.error(
          `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        );
        failed = true;
        continue;
      }
      const parsed = parseBalanceLog(text);
      const readings: ImportedReading[] = parsed.readings.map((r) => ({
        provider: r.provider,
        currency: r.provider === 'kimi' ? kimiCurrency : 'USD',
        at: r.at,
        available: r.available,
        ...(r.voucher ? { voucher: r.voucher } : {}),
        ...(r.cash ? { cash: r.cash } : {}),
      }));
      const { inserted, existing } = await history.import(readings);
      const skipped = parsed.counts.posted + parsed.counts.failures + parsed.counts.unparseable;
      total.imported += inserted;
      total.existing += existing;
      total.skipped += skipped;
      const { posted, failures, unparseable } = parsed.counts;
      console.log(
        `${file}: imported ${inserted}, already had ${existing}, skipped ${skipped} ` +
          `(${posted} POSTED ${posted === 1 ? 'line' : 'lines'} — the seed's copy of a post, not a reading; ` +
          `${failures} failed ${failures === 1 ? 'check' : 'checks'}, ${unparseable} unparseable)`,
      );
      // Which formats the readings came in, so a file the seed wrote in two formats shows both.
      const formats = (Object.keys(READING_FORMAT_EXAMPLES) as ReadingFormat[])
        .filter((f) => parsed.readingsByFormat[f] > 0)
        .map((f) => `${parsed.readingsByFormat[f]} × ${READING_FORMAT_EXAMPLES[f]}`);
      if (formats.length > 0) console.log(`  readings: ${formats.join(', ')}`);
      for (const p of parsed.problems.slice(0, 5)) console.log(`  line ${p.line}: ${p.reason}`);
      if (parsed.problems.length > 5)
        console.log(`  … and ${parsed.problems.length - 5} more unparseable lines`);
    }
  } finally {
    await db.close();
  }
  console.log(
    `total: imported ${total.imported}, already had ${total.existing}, skipped ${total.skipped} → ${db.describe}`,
  );
  return failed ? 1 : 0;
}

runCli(() => main(process.argv.slice(2)), 'import failed');
