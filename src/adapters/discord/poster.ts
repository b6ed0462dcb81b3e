import { randomBytes } from 'node:crypto';
import { REST, type RESTOptions } from '@discordjs/rest';
import { Routes } from 'discord.js';
import { capText, DISCORD_CONTENT_LIMIT } from '../../core/format.js';
import type { Logger } from '../../core/logger.js';
import { isRetryableStatus, type RetryPolicy, retry } from '../../core/retry.js';

/** A message for a channel. Nobody is pinged unless `mentionRoleIds` names them. */
export interface OutgoingMessage {
  readonly content: string;
  readonly files?: readonly { readonly name: string; readonly data: Buffer }[];
  /** Message components (Discord's JSON: action rows of buttons), e.g. an alert's buttons. */
  readonly components?: readonly unknown[];
  /** The only roles this message may ping (alerts' ALERT_MENTION_ROLE_ID); none by default. */
  readonly mentionRoleIds?: readonly string[];
  /**
   * Discord's message nonce (at most 25 characters), sent with `enforce_nonce` so that a create repeated
   * within a few minutes returns the first message instead of making a second. Derive it from what the
   * message is for (a slot), so a retry by another replica or after a restart reuses it. Default: a random
   * one per `post()` call, which still covers that call's own retries.
   */
  readonly nonce?: string;
}

export interface PostOptions {
  /** When aborted, no further attempt is made after the one in flight (a newer slot is due, shutdown). */
  readonly signal?: AbortSignal;
  /** Attempts for this post instead of the poster's policy (1: the caller retries, as the summary does). */
  readonly attempts?: number;
}

/** What a post created, for the log: the channel and Discord's message id (`null` in a dry run). */
export interface PostReceipt {
  readonly channelId: string;
  readonly messageId: string | null;
}

/** Where scheduled posts and alerts go: Discord, or stdout in a dry run. */
export interface Poster {
  /** Resolves with a receipt when the poster has one (test posters may resolve with nothing). */
  // biome-ignore lint/suspicious/noConfusingVoidType: a poster written as `Promise<void>` stays a Poster.
  post(channelId: string, message: OutgoingMessage, options?: PostOptions): Promise<PostReceipt | void>;
}

/** A post that did not land after its retries. `retryable`: waiting may help (`isRetryableStatus`). */
export class PostFailedError extends Error {
  override readonly name = 'PostFailedError';
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Discord's limit on a nonce's length. */
export const NONCE_MAX_LENGTH = 25;

/**
 * Five attempts, 2 s doubling: 2 + 4 + 8 + 16 s of waiting. With {@link posterRest} that is at most five
 * requests for one post that keeps failing (plus the re-sends of any 429 Discord answers, each after the
 * wait Discord names).
 */
export const DEFAULT_POST_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 2000, maxDelayMs: 60_000 };

/** The HTTP status of a failed request, when it has one (discord.js errors carry `status`). */
function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * The REST client a {@link DiscordPoster} posts through: discord.js's, with its own retries of 5xx and
 * timeouts turned off (`retries: 0`), so that the poster's policy is the one retry layer for Discord (before,
 * the two multiplied: up to 4 requests per attempt × 5 attempts). It still waits out 429s as Discord asks
 * before sending again: that is pacing, not a failure, and is not counted as an attempt.
 */
export function posterRest(options: Partial<RESTOptions>, token: string): REST {
  return new REST({ ...options, retries: 0 }).setToken(token);
}

/**
 * Posts through a {@link posterRest} client and retries the whole post with exponential backoff
 * (`retry.ts`), so one bad minute at Discord does not lose a scheduled post. Every create carries a nonce
 * with `enforce_nonce`, so a retry of a create that Discord did store (answered after the client's timeout)
 * returns that message instead of posting it twice. Content over Discord's 2,000 characters is cut with an
 * ellipsis (callers split long text first; this is the last resort). Logs `POST FAILED` when it finally gives up.
 */
export class DiscordPoster implements Poster {
  private readonly log: Logger;
  constructor(
    private readonly rest: REST,
    logger: Logger,
    private readonly retry: RetryPolicy = DEFAULT_POST_RETRY,
  ) {
    this.log = logger.child({ module: 'poster' });
    rest.on('rateLimited', (info) =>
      this.log.warn(
        { route: info.route, retryAfter: info.retryAfter, global: info.global },
        'rate limited by Discord; waiting before posting',
      ),
    );
  }

  async post(channelId: string, message: OutgoingMessage, options: PostOptions = {}): Promise<PostReceipt> {
    let content = message.content;
    if (content.length > DISCORD_CONTENT_LIMIT) {
      this.log.warn(
        { channelId, length: content.length, limit: DISCORD_CONTENT_LIMIT },
        'message longer than Discord allows; cutting it',
      );
      content = capText(content, DISCORD_CONTENT_LIMIT);
    }
    const nonce = (message.nonce ?? randomBytes(12).toString('base64url')).slice(0, NONCE_MAX_LENGTH);
    const body = {
      content,
      nonce,
      enforce_nonce: true,
      allowed_mentions: { parse: [], roles: [...(message.mentionRoleIds ?? [])] },
      ...(message.components ? { components: message.components } : {}),
    };
    const files = message.files?.map((f) => ({ name: f.name, data: f.data }));
    const policy =
      options.attempts === undefined ? this.retry : { ...this.retry, attempts: options.attempts };
    try {
      return await retry(
        async (attempt) => {
          const created = (await this.rest.post(Routes.channelMessages(channelId), {
            body,
            ...(files ? { files } : {}),
          })) as { id?: unknown } | null;
          const messageId = typeof created?.id === 'string' ? created.id : null;
          this.log.info({ channelId, messageId, attempt }, attempt > 1 ? 'posted after retrying' : 'posted');
          return { channelId, messageId };
        },
        policy,
        {
          signal: options.signal,
          retryable: (err) => isRetryableStatus(statusOf(err)),
          onRetry: ({ error, attempt, delayMs }) =>
            this.log.warn(
              { channelId, attempt, status: statusOf(error), delayMs, err: error },
              'post failed; retrying',
            ),
        },
      );
    } catch (err) {
      this.log.error({ channelId, err }, 'POST FAILED');
      const status = statusOf(err);
      throw new PostFailedError(
        `POST FAILED to channel ${channelId}: ${(err as Error | undefined)?.message ?? 'unknown error'}`,
        status,
        isRetryableStatus(status),
        { cause: err },
      );
    }
  }
}

/** `--dry-run`: prints each post to stdout instead of sending it. */
export class StdoutPoster implements Poster {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  async post(channelId: string, message: OutgoingMessage): Promise<PostReceipt> {
    const files = message.files?.length
      ? `\n[attachments: ${message.files.map((f) => f.name).join(', ')}]`
      : '';
    this.out.write(
      `--- dry run: post to <#${channelId}> at ${new Date().toISOString()} ---\n${message.content}${files}\n\n`,
    );
    return { channelId, messageId: null };
  }
}
