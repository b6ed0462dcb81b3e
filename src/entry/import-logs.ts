/**
 * `npm run import-logs -- <file>...` — reads the seed's balance-log files into the history so
 * forecasts work from day one. Idempotent: importing the same file twice adds nothing.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { openDatabase } from '../adapters/storage/db.js';
import { HistoryStore, type ImportedReading } from '../adapters/storage/history.js';
import {
  type ParsedReading,
  parseBalanceLogStream,
  READING_FORMAT_EXAMPLES,
  type ReadingFormat,
} from '../adapters/storage/parse-balance-log.js';
import type { Currency } from '../core/money.js';
import { configOrExplain, runCli } from './cli.js';

const USAGE = `usage: npm run import-logs -- <balance-log file>...
  e.g. npm run import-logs -- ~/.config/claude/balance-log.txt ~/.config/moonshot/balance-log.txt`;

async function main(): Promise<number> {
  let files: string[];
  try {
    const args = parseArgs({
      options: { help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
    if (args.values.help) {
      console.log(USAGE);
      return 0;
    }
    files = args.positionals;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 1;
  }
  if (files.length === 0) {
    console.error(`no balance-log file given\n\n${USAGE}`);
    return 1;
  }
  // Importing needs only the history store; provider secrets are not required for it.
  const config = configOrExplain({ providerSettings: 'optional' });
  if (config === null) return 1;
  // Kimi's currency follows the configured host, as live readings do.
  const kimiCurrency: Currency = config.moonshot?.currency ?? config.moonshotCurrency;
  const db = await openDatabase({ databaseUrl: config.databaseUrl, sqlitePath: config.sqlitePath });
  const history = new HistoryStore(db, { rawDays: config.historyRawDays });
  let failed = false;
  const total = { imported: 0, existing: 0, skipped: 0 };
  try {
    for (const file of files) {
      // Streamed a batch of lines at a time: a log of millions of lines is imported in flat memory.
      const toImported = (r: ParsedReading): ImportedReading => ({
        provider: r.provider,
        currency: r.provider === 'kimi' ? kimiCurrency : 'USD',
        at: r.at,
        available: r.available,
        ...(r.voucher ? { voucher: r.voucher } : {}),
        ...(r.cash ? { cash: r.cash } : {}),
      });
      let inserted = 0;
      let existing = 0;
      const shown: { line: number; reason: string }[] = [];
      // A batch hands over whole hours (the last hour waits for the next batch), so an hour older than the
      // raw retention is rolled up from all of its readings at once (see HistoryStore).
      let carried: ParsedReading[] = [];
      const store = async (readings: ParsedReading[]) => {
        if (readings.length === 0) return;
        const result = await history.import(readings.map(toImported));
        inserted += result.inserted;
        existing += result.existing;
      };
      let parsed: Awaited<ReturnType<typeof parseBalanceLogStream>>;
      try {
        const lines = createInterface({
          input: createReadStream(file, 'utf8'),
          crlfDelay: Number.POSITIVE_INFINITY,
        });
        parsed = await parseBalanceLogStream(lines, async (batch) => {
          for (const p of batch.problems) if (shown.length < 5) shown.push(p);
          const all = [...carried, ...batch.readings];
          const lastHour = Math.floor((all.at(-1)?.at.getTime() ?? 0) / 3_600_000);
          let cut = all.length;
          while (cut > 0 && Math.floor(all[cut - 1]!.at.getTime() / 3_600_000) === lastHour) cut--;
          carried = all.slice(cut);
          await store(all.slice(0, cut));
        });
        await store(carried);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === undefined) throw err;
        console.error(`${file}: cannot read (${code})`);
        failed = true;
        continue;
      }
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
      for (const p of shown) console.log(`  line ${p.line}: ${p.reason}`);
      if (parsed.problems > 5) console.log(`  … and ${parsed.problems - 5} more unparseable lines`);
    }
  } finally {
    await db.close();
  }
  console.log(
    `total: imported ${total.imported}, already had ${total.existing}, skipped ${total.skipped} → ${db.describe}`,
  );
  return failed ? 1 : 0;
}

runCli(main, 'import failed');
