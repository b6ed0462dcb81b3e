/**
 * `npm start`: the bot. `--dry-run` (or DRY_RUN=true) runs the same schedule and prints each post
 * to stdout instead of connecting to Discord.
 */
import { parseArgs } from 'node:util';
import { startBot } from './bot.js';
import { configOrExplain } from './cli.js';
import { createLogger } from './logger.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'dry-run': { type: 'boolean' } },
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
  const logger = createLogger(config.logLevel);
  const bot = await startBot(config, logger, { dryRun });

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
    bot.stop(5000).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
}

main().catch((err: unknown) => {
  console.error(`creditwatch: could not start: ${(err as Error).message}`);
  process.exit(1);
});
