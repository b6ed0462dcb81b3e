import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { REST } from '@discordjs/rest';
import { Routes } from 'discord.js';
import { capText, DISCORD_CONTENT_LIMIT } from '../format.js';
import type { Logger } from '../logger.js';

/** A message for a channel. Nobody is pinged unless `mentionRoleIds` names them. */
export interface OutgoingMessage {
  readonly content: string;
  readonly files?: readonly { readonly name: string; readonly data: Buffer }[];
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

/** A post that did not land after its retries. `retryable` is false for a 4xx other than 429. */
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

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_POST_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 2000, maxDelayMs: 60_000 };

/**
 * Posts through the discord.js REST client (which already waits out 429s and retries 5xx and
 * timeouts a few times) and retries the whole post with exponential backoff on top, so one bad minute
 * at Discord does not lose a scheduled post. Every create carries a nonce with `enforce_nonce`, so a
 * retry of a create that Discord did store (answered after the client's timeout) returns that message
 * instead of posting it twice. Content over Discord's 2,000 characters is cut with an ellipsis (callers
 * split long text first; this is the last resort). Logs `POST FAILED` when it finally gives up.
 */
export class DiscordPoster implements Poster {
  private readonly log: Logger;
  constructor(
    private readonly rest: REST,
    logger: Logger,
    private readonly retry: RetryPolicy = DEFAULT_POST_RETRY,
  ) {
    this.log = logger.child({ module: 'poster' });
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
    };
    const files = message.files?.map((f) => ({ name: f.name, data: f.data }));
    let lastErr: unknown;
    const attempts = options.attempts ?? this.retry.attempts;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const created = (await this.rest.post(Routes.channelMessages(channelId), {
          body,
          ...(files ? { files } : {}),
        })) as { id?: unknown } | null;
        const messageId = typeof created?.id === 'string' ? created.id : null;
        this.log.info({ channelId, messageId, attempt }, attempt > 1 ? 'posted after retrying' : 'posted');
        return { channelId, messageId };
      } catch (err) {
        lastErr = err;
        const status = (err as { status?: number }).status;
        // 4xx other than 429 won't get better by waiting (missing access, unknown channel).
        if (status !== undefined && status >= 400 && status < 500 && status !== 429) break;
        if (options.signal?.aborted) break;
        if (attempt < attempts) {
          const delay = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
          this.log.warn({ channelId, attempt, status, delayMs: delay, err }, 'post failed; retrying');
          const waited = await sleep(delay, true, options.signal ? { signal: options.signal } : {}).catch(
            () => false,
          );
          if (!waited) break;
        }
      }
    }
    this.log.error({ channelId, err: lastErr }, 'POST FAILED');
    const status = (lastErr as { status?: number } | undefined)?.status;
    const retryable = status === undefined || status === 429 || status >= 500;
    throw new PostFailedError(
      `POST FAILED to channel ${channelId}: ${(lastErr as Error)?.message ?? 'unknown error'}`,
      status,
      retryable,
      { cause: lastErr },
    );
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
