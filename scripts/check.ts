/**
 * `npm run check` — combined-balance-check.sh done right. Prints the seed's summary (or, with
 * `--provider kimi`, moonshot-balance.sh's output; with `--json`, the summary as JSON) and exits
 * 1 when the configuration is invalid or a check failed, else 2 when a balance is low, else 0.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createCore, createProviders } from '../src/app.js';
import { configOrExplain, runCli } from '../src/cli.js';
import { envFilePath } from '../src/config.js';
import { describeSchedule, formatKimiCheck, formatSummary, summaryToJson } from '../src/format.js';
import { forecastToJson, Insight } from '../src/insight.js';
import { createLogger } from '../src/logger.js';
import { exitCodeFor } from '../src/service.js';
import { PROVIDER_IDS, type ProviderId } from '../src/types.js';

const USAGE = `usage: npm run check -- [--provider ${PROVIDER_IDS.join('|')}] [--json] [--verbose]

Checks every enabled provider once (or only --provider's, which needs only that provider's
settings), prints the summary and exits
  0  every balance is at or above its threshold
  2  a balance is below its threshold
  1  the configuration is invalid or a check failed
--verbose also says, on stderr, which settings file, store and balance-log folder it used.`;

async function main(): Promise<number> {
  let args: {
    provider?: string | undefined;
    json?: boolean | undefined;
    verbose?: boolean | undefined;
    help?: boolean | undefined;
  };
  try {
    args = parseArgs({
      options: {
        provider: { type: 'string' },
        json: { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 1;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.provider !== undefined && !(PROVIDER_IDS as readonly string[]).includes(args.provider)) {
    console.error(`unknown provider ${JSON.stringify(args.provider)}\n\n${USAGE}`);
    return 1;
  }

  const only = args.provider as ProviderId | undefined;
  // --provider kimi checks Kimi alone, so only Kimi's settings are needed.
  const config = configOrExplain(
    only ? { needs: { providers: [only], because: (p) => `--provider ${p} checks it` } } : undefined,
  );
  if (config === null) return 1;
  if (only !== undefined && !config.providers.includes(only)) {
    console.error(`creditwatch: ${only} is not enabled (PROVIDERS=${config.providers.join(',')})`);
    return 1;
  }
  // The CLI's stdout is its output; routine logs would only be noise on a cron mail.
  const level = ['debug', 'trace', 'silent'].includes(config.logLevel) ? config.logLevel : 'warn';
  const logger = createLogger(level, undefined, { format: config.logFormat });
  const providers = await createProviders(only ? { ...config, providers: [only] } : config);
  // One attempt at the store: a cron run can't wait for it, and the providers are what it is for. Inline
  // SQLite: a one-shot run has no event loop to keep free, and a SQLite thread would cost its start-up.
  const core = await createCore(config, logger, { providers, store: 'try-once', sqliteMode: 'inline' });
  if (args.verbose) {
    const file = envFilePath();
    console.error(
      `settings: ${file}${existsSync(file) ? '' : ' (not found; environment only)'}\n` +
        `store: ${core.db.describe}\nbalance logs: ${config.balanceLogDir}`,
    );
  }
  if (core.storeProblem !== null) {
    // One line, so a cron mail says what is wrong without burying the balances.
    console.error(
      `creditwatch: warning: history store unusable (${core.db.describe}: ${core.storeProblem}); ` +
        'balances judged against the default thresholds, this check not recorded in history',
    );
  }
  try {
    const summary = await core.service.checkAll();
    if (args.json && core.storeProblem === null) {
      const forecasts = await new Insight(core.history).forecasts(summary, new Date());
      const extras = Object.fromEntries(
        Object.entries(forecasts).flatMap(([p, f]) => (f ? [[p, { forecast: forecastToJson(f) }]] : [])),
      );
      console.log(JSON.stringify(summaryToJson(summary, extras), null, 2));
    } else if (args.json) {
      // No history to forecast from: the summary alone.
      console.log(JSON.stringify(summaryToJson(summary), null, 2));
    } else if (only === 'kimi' && summary.statuses[0]) {
      console.log(formatKimiCheck(summary.statuses[0]));
    } else {
      console.log(
        formatSummary(summary, {
          schedule: describeSchedule(config.summaryCron),
          channelId: config.summaryChannelId,
        }),
      );
    }
    return exitCodeFor(summary);
  } finally {
    await core.close();
  }
}

runCli(main, 'check failed');
