/**
 * `npm start`: the bot. `--dry-run` (or DRY_RUN=true) prints one summary at once, then runs the same
 * schedule, printing each post to stdout instead of connecting to Discord. `--once` posts one summary
 * now and exits (0 when posted, 1 when not), for teams that keep their cron.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../core/logger.js';
import { postSummaryOnce, startBot } from './bot.js';
import { configOrExplain } from './cli.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'dry-run': { type: 'boolean' }, once: { type: 'boolean' } },
    allowPositionals: false,
    strict: true,
  });
  const config = configOrExplain();
  if (config === null) process.exit(1);
  const dryRun = values['dry-run'] === true || config.dryRun;
  if (!dryRun && config.discord.token === null) {
    console.error(
      'creditwatch: DISCORD_TOKEN is missing. Set it (Discord Developer Portal → your application → Bot → Reset Token),\n' +
        'or run without Discord: npm start -- --dry-run (posts are printed to stdout).',
    );
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, undefined, { format: config.logFormat });
  if (values.once === true) {
    try {
      const receipt = await postSummaryOnce(config, logger, { dryRun });
      logger.info({ dryRun, ...receipt }, 'summary posted; exiting (--once)');
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'summary not posted (--once)');
      process.exit(1);
    }
  }
  // Signals are handled from before the start: a SIGTERM that lands while the bot is still starting (or
  // just after it logged "started") then stops it cleanly instead of killing the process mid-way.
  const starting = startBot(config, logger, { dryRun });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // A hard bound, so a wedged connection can't keep the process past its orchestrator's patience.
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, 10_000).unref();
    starting
      .then((bot) => bot.stop(5000))
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'error while shutting down');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  const bot = await starting;
  if (dryRun && !stopping) {
    // A trial run shows its first post at once instead of leaving the terminal silent until the next slot.
    bot.summaryNow().then(
      (receipt) => logger.info({ ...receipt }, 'dry run: first summary printed; now following the schedule'),
      (err: unknown) => logger.error({ err }, 'dry run: the first summary failed'),
    );
  }
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
}

main().catch((err: unknown) => {
  console.error(`creditwatch: could not start: ${(err as Error).message}`);
  process.exit(1);
});
