import type { Client, RESTOptions } from 'discord.js';
import { Events } from 'discord.js';
import { createDiscordClient } from '../adapters/discord/client.js';
import { loadCommands } from '../adapters/discord/commands/index.js';
import type { CommandContext } from '../adapters/discord/commands/types.js';
import { createDispatcher, interactionClaimer } from '../adapters/discord/dispatcher.js';
import {
  DEFAULT_POST_RETRY,
  DiscordPoster,
  type Poster,
  type PostReceipt,
  posterRest,
  StdoutPoster,
} from '../adapters/discord/poster.js';
import type { HttpServer, Telemetry } from '../adapters/http/index.js';
import type { Config } from '../core/config.js';
import { splitMessage } from '../core/format.js';
import { Insight } from '../core/insight.js';
import type { Logger } from '../core/logger.js';
import type { RetryBackoff } from '../core/pending-writes.js';
import type { RetryPolicy } from '../core/retry.js';
import type { BalanceProvider } from '../core/types.js';
import { type Core, createCore } from './app.js';
import { type Alerts, startAlerts } from './jobs/alerts.js';
import { startDigestJob } from './jobs/digest.js';
import { type Job, scheduleJob } from './jobs/job.js';
import { startSummaryJob, summaryPost } from './jobs/summary.js';

export interface BotOptions {
  readonly dryRun: boolean;
  /** Test seams: providers and REST tuning for the fake Discord; production passes nothing. */
  readonly providers?: BalanceProvider[];
  readonly rest?: Partial<RESTOptions>;
  readonly postRetry?: RetryPolicy;
  readonly out?: NodeJS.WritableStream;
  /** The clock every part of the bot reads (tests move it; production uses the system clock). */
  readonly now?: () => Date;
  /** Backoff for reopening the store and for writes waiting for it (default 5 s doubling to 5 min). */
  readonly storeRetry?: RetryBackoff;
}

export interface Bot {
  readonly core: Core;
  readonly client: Client | null;
  readonly poster: Poster;
  readonly jobs: readonly Job[];
  readonly context: CommandContext;
  readonly alerts: Alerts;
  /** The status page, health and metrics server (`HTTP_PORT`); `null` when turned off. */
  readonly http: HttpServer | null;
  /**
   * Checks every provider and posts one summary now, outside the schedule and without claiming a
   * slot (the dry run's first post). Rejects when the post fails.
   */
  summaryNow(): Promise<PostReceipt>;
  /** Stops the schedule, waits up to `graceMs` for work in progress, closes the client and the database. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * The composition root of the bot: builds the shared core once and hands the same service to the
 * scheduled jobs and every command.
 */
export async function startBot(config: Config, logger: Logger, options: BotOptions): Promise<Bot> {
  const now = options.now ?? (() => new Date());
  // A store that can't be opened doesn't stop the start: the core keeps retrying it in the background,
  // history waits in memory and thresholds are the defaults until it answers.
  const core = await createCore(config, logger, {
    now,
    ...(options.providers ? { providers: options.providers } : {}),
    ...(options.storeRetry ? { storeRetry: options.storeRetry } : {}),
  });
  let client: Client | null = null;
  const jobs: Job[] = [];
  let alerts: Alerts | null = null;
  let http: HttpServer | null = null;
  try {
    const insight = new Insight(core.history, core.logger.child({ module: 'insight' }));
    // The HTTP server's modules (prom-client among them) are loaded only when it is on.
    const web = config.http.port === 0 ? null : await import('../adapters/http/index.js');
    const telemetry: Telemetry | null = web ? new web.Telemetry() : null;
    if (telemetry) core.service.onChecked(telemetry.checked);
    // Alerts start after the poster exists; the commands reach them through these two late-bound hooks.
    const context: CommandContext = {
      config,
      service: core.service,
      insight,
      logger,
      now,
      alertStatus: (provider) => alerts?.status(provider) ?? Promise.resolve(null),
      alertAct: (action, provider, episode, by, at) =>
        alerts
          ? alerts.act(action, provider, episode, by, at)
          : Promise.resolve({ outcome: 'ended', state: null }),
      alertSnooze: (provider, until, by, at) =>
        alerts ? alerts.snooze(provider, until, by, at) : Promise.resolve(null),
      alertState: (provider) => alerts?.state(provider) ?? Promise.resolve(null),
      quietHours: {
        get: () => alerts?.quietHours() ?? Promise.resolve(null),
        set: (q) => alerts?.setQuietHours(q) ?? Promise.reject(new Error('alerts are not running')),
        held: () => alerts?.heldCount() ?? Promise.resolve(0),
      },
      alertTest: (by, at) => alerts?.test(by, at) ?? Promise.resolve([]),
      claimInteraction: interactionClaimer(core.slots, now, logger),
      onThresholdChanged: async (provider) => {
        // Not awaited: the reply to /threshold must go out within Discord's 3 s, and sending alerts may retry.
        void alerts?.reevaluate(provider);
      },
    };

    let poster: Poster;
    if (options.dryRun) {
      poster = new StdoutPoster(options.out);
    } else {
      client = createDiscordClient({
        apiUrl: config.discord.apiUrl,
        ...(options.rest ? { rest: options.rest } : {}),
      });
      poster = new DiscordPoster(
        posterRest({ api: config.discord.apiUrl, ...options.rest }, config.discord.token ?? ''),
        logger,
        options.postRetry ?? DEFAULT_POST_RETRY,
      );
      const commands = loadCommands({ accounts: core.service.providerIds });
      const dispatch = createDispatcher(commands, context);
      const log = logger.child({ module: 'discord' });
      client.on(Events.InteractionCreate, (i) => void dispatch(i));
      client.on(Events.Error, (err) => log.error({ err }, 'discord client error'));
      client.on(Events.Warn, (message) => log.warn({ message }, 'discord client warning'));
      client.on(Events.ShardDisconnect, (event, shard) =>
        log.warn({ code: event.code, shard }, 'gateway disconnected'),
      );
      client.on(Events.ShardResume, (shard, replayed) => log.info({ shard, replayed }, 'gateway resumed'));
      client.rest.on('rateLimited', (info) =>
        log.warn(
          { route: info.route, retryAfter: info.retryAfter, global: info.global },
          'rate limited by Discord',
        ),
      );
      const ready = new Promise<void>((resolve) => client!.once(Events.ClientReady, () => resolve()));
      await client.login(config.discord.token!);
      await ready;
      log.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'connected to Discord');
    }

    jobs.push(
      startSummaryJob({
        service: core.service,
        insight,
        slots: core.slots,
        poster,
        channelId: config.summaryChannelId,
        cron: config.summaryCron,
        logger,
        now,
        ...(options.postRetry ? { retry: options.postRetry } : {}),
        ...(telemetry ? { onPost: telemetry.summaryPosted } : {}),
      }),
    );
    if (config.digest.cron !== null) {
      // The daily digest (and the weekly one on Mondays) goes to the summary channel, once per slot across replicas.
      jobs.push(
        startDigestJob({
          service: core.service,
          insight,
          slots: core.slots,
          poster,
          channelId: config.summaryChannelId,
          cron: config.digest.cron,
          weekly: config.digest.weekly,
          logger,
          now,
          ...(options.postRetry ? { retry: options.postRetry } : {}),
        }),
      );
    }
    // Finished days are rolled up; raw readings past HISTORY_RAW_DAYS go, their roll-ups stay (storage/history.ts).
    jobs.push(
      scheduleJob(
        'history-maintenance',
        '17 * * * *',
        async (slot) => {
          // The job logs this outcome with the run.
          const days = await core.history.compact(slot);
          const deleted = await core.history.prune(slot);
          return { days, deleted };
        },
        logger,
      ),
    );
    const started = startAlerts({
      config,
      core,
      insight,
      poster,
      logger,
      dryRun: options.dryRun,
      now,
      ...(telemetry ? { onAlert: telemetry.alertSent } : {}),
    });
    alerts = started;
    jobs.push(started.job);
    if (web && telemetry) {
      const discord = client;
      // An extra, not the bot's product: a port already taken is logged and the bot runs on without it
      // (its /livez then fails, which is what a health check should see).
      http = await web
        .startWeb({
          ...config.http,
          core,
          insight,
          telemetry,
          alerts: () => started,
          discordConnected: () => (discord ? discord.isReady() : null),
          logger,
          now,
        })
        .catch((err: unknown) => {
          logger.error(
            { err, host: config.http.host, port: config.http.port },
            'http server not started (status page, health and metrics unavailable)',
          );
          return null;
        });
    }
    logger.info(
      {
        dryRun: options.dryRun,
        cron: config.summaryCron,
        next: jobs[0]?.nextRun()?.toISOString(),
        alertCron: config.alerts.cron,
        store: core.db.describe,
        storeOpen: core.db.isOpen,
      },
      'creditwatch started',
    );

    let stopped = false;
    return {
      core,
      client,
      poster,
      jobs,
      context,
      alerts: started,
      http,
      summaryNow: () => postSummary(config, core, insight, poster, now),
      async stop(graceMs = 5000) {
        if (stopped) return;
        stopped = true;
        await http?.close();
        await Promise.all(jobs.map((j) => j.stop(graceMs)));
        await started.close(graceMs);
        await client?.destroy();
        await core.close();
        logger.info('creditwatch stopped');
      },
    };
  } catch (err) {
    await http?.close();
    await Promise.all(jobs.map((j) => j.stop(0)));
    await alerts?.close(0);
    await client?.destroy();
    await core.close();
    throw err;
  }
}

/** One summary, checked and posted now: the scheduled post's text, to the summary channel. */
async function postSummary(
  config: Config,
  core: Core,
  insight: Insight,
  poster: Poster,
  now: () => Date,
): Promise<PostReceipt> {
  const summary = await core.service.checkAll();
  const content = await summaryPost(
    summary,
    { insight, channelId: config.summaryChannelId, cron: config.summaryCron },
    now(),
  );
  // Within Discord's limits like the scheduled post: split at line boundaries, the first part's receipt returned.
  const [first, ...rest] = splitMessage(content);
  const receipt = await poster.post(config.summaryChannelId, { content: first ?? content });
  for (const part of rest) await poster.post(config.summaryChannelId, { content: part });
  return receipt ?? { channelId: config.summaryChannelId, messageId: null };
}

/**
 * `npm start -- --once`: checks every provider, posts one summary and returns, for teams that keep
 * their cron. Talks to Discord over REST only (no gateway session, no schedule, no alerts); with
 * `dryRun` the post goes to stdout. Rejects when the post fails.
 */
export async function postSummaryOnce(
  config: Config,
  logger: Logger,
  options: Pick<BotOptions, 'dryRun' | 'providers' | 'rest' | 'postRetry' | 'out' | 'now'>,
): Promise<PostReceipt> {
  const now = options.now ?? (() => new Date());
  const core = await createCore(config, logger, {
    now,
    ...(options.providers ? { providers: options.providers } : {}),
  });
  try {
    const poster = options.dryRun
      ? new StdoutPoster(options.out)
      : new DiscordPoster(
          posterRest({ api: config.discord.apiUrl, ...options.rest }, config.discord.token ?? ''),
          logger,
          options.postRetry ?? DEFAULT_POST_RETRY,
        );
    return await postSummary(
      config,
      core,
      new Insight(core.history, core.logger.child({ module: 'insight' })),
      poster,
      now,
    );
  } finally {
    await core.close();
  }
}
