/**
 * `npm run check` — combined-balance-check.sh done right. Prints the seed's summary (or, with
 * `--provider kimi`, moonshot-balance.sh's output; with `--json`, the summary as JSON) and exits
 * 1 when the configuration is invalid or a check failed, else 2 when a balance is low, else 0.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PROVIDER_MODULES } from '../adapters/providers/registry.js';
import { parseAccountId, parseAccountList } from '../core/accounts.js';
import { envFilePath, readEnvironment } from '../core/config.js';
import { describeSchedule, formatKimiCheck, formatSummary, summaryToJson } from '../core/format.js';
import { forecastToJson, Insight } from '../core/insight.js';
import { createLogger } from '../core/logger.js';
import { exitCodeFor } from '../core/service.js';
import { spendToJson } from '../core/spend.js';
import type { ProviderId } from '../core/types.js';
import { createCore, createProviders } from './app.js';
import { configOrExplain, runCli } from './cli.js';

const USAGE = `usage: npm run check -- [--provider ${PROVIDER_MODULES.map((m) => m.id).join('|')}] [--account provider:account] [--json] [--verbose]

Checks every enabled account once (or only --provider's accounts, or the one --account names, which
need only their own settings), prints the summary and exits
  0  every balance is at or above its threshold
  2  a balance is below its threshold
  1  the configuration is invalid or a check failed
--verbose also says, on stderr, which settings file, store and balance-log folder it used.`;

async function main(): Promise<number> {
  let args: {
    provider?: string | undefined;
    account?: string | undefined;
    json?: boolean | undefined;
    verbose?: boolean | undefined;
    help?: boolean | undefined;
  };
  try {
    args = parseArgs({
      options: {
        provider: { type: 'string' },
        account: { type: 'string' },
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
  const known = PROVIDER_MODULES.map((m) => m.id);
  if (args.provider !== undefined && !known.includes(args.provider)) {
    console.error(`unknown provider ${JSON.stringify(args.provider)}\n\n${USAGE}`);
    return 1;
  }
  const account = args.account === undefined ? null : parseAccountId(args.account);
  if (args.account !== undefined && (account === null || !known.includes(account.provider))) {
    console.error(`unknown account ${JSON.stringify(args.account)}\n\n${USAGE}`);
    return 1;
  }
  const only = args.provider as ProviderId | undefined;
  // The accounts asked for: --account's, or --provider's among PROVIDERS (its default account if it lists
  // none), so that only their settings are needed.
  let selected: ProviderId[] | undefined;
  if (args.account !== undefined) selected = [args.account];
  else if (only !== undefined) {
    const listed = parseAccountList(readEnvironment().PROVIDERS ?? 'claude,kimi', []);
    const ofProvider = listed.filter((id) => parseAccountId(id)?.provider === only);
    selected = ofProvider.length > 0 ? ofProvider : [only];
  }
  const flag = args.account !== undefined ? '--account' : '--provider';
  const config = configOrExplain(
    selected ? { needs: { providers: selected, because: (p) => `${flag} ${p} checks it` } } : undefined,
  );
  if (config === null) return 1;
  const missing = selected?.find((id) => !config.providers.includes(id));
  if (missing !== undefined) {
    console.error(`creditwatch: ${missing} is not enabled (PROVIDERS=${config.providers.join(',')})`);
    return 1;
  }
  // The CLI's stdout is its output; routine logs would only be noise on a cron mail.
  const level = ['debug', 'trace', 'silent'].includes(config.logLevel) ? config.logLevel : 'warn';
  const logger = createLogger(level, undefined, { format: config.logFormat });
  const providers = await createProviders(selected ? { ...config, providers: selected } : config);
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
      const insight = new Insight(core.history, logger.child({ module: 'insight' }));
      const now = new Date();
      const forecasts = await insight.forecasts(summary, now);
      // The last 7 UTC days' spend (today so far), from the cost report where the reading carries one.
      const spend = await insight.dailySpend(
        summary.statuses.map((s) => ({
          provider: s.provider,
          currency: s.result.currency,
          ...(s.result.ok && s.result.spendByDay ? { spendByDay: s.result.spendByDay } : {}),
        })),
        7,
        now,
      );
      const extras = Object.fromEntries(
        summary.statuses.map((s) => {
          const f = forecasts[s.provider];
          const series = spend.get(s.provider);
          return [
            s.provider,
            {
              ...(f ? { forecast: forecastToJson(f) } : {}),
              ...(series ? { spend7d: spendToJson(series) } : {}),
            },
          ];
        }),
      );
      console.log(JSON.stringify(summaryToJson(summary, extras), null, 2));
    } else if (args.json) {
      // No history to forecast from: the summary alone.
      console.log(JSON.stringify(summaryToJson(summary), null, 2));
    } else if (only === 'kimi' && summary.statuses.length === 1 && summary.statuses[0]) {
      // The seed's moonshot-balance.sh text, for the one Kimi account.
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
