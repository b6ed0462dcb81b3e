import { setTimeout as sleep } from 'node:timers/promises';
import type { REST } from '@discordjs/rest';
import { Routes } from 'discord.js';
import type { Logger } from '../logger.js';

/** A message for a channel. Nobody is pinged unless `mentionRoleIds` names them. */
export interface OutgoingMessage {
  readonly content: string;
  readonly files?: readonly { readonly name: string; readonly data: Buffer }[];
  /** The only roles this message may ping (alerts' ALERT_MENTION_ROLE_ID); none by default. */
  readonly mentionRoleIds?: readonly string[];
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
  post(channelId: string, message: OutgoingMessage): Promise<PostReceipt | void>;
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_POST_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 2000, maxDelayMs: 60_000 };

/**
 * Posts through the discord.js REST client (which already waits out 429s and retries 5xx a few
 * times) and retries the whole post with exponential backoff on top, so one bad minute at Discord
 * does not lose a scheduled post. Logs `POST FAILED` when it finally gives up.
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

  async post(channelId: string, message: OutgoingMessage): Promise<PostReceipt> {
    const body = {
      content: message.content,
      allowed_mentions: { parse: [], roles: [...(message.mentionRoleIds ?? [])] },
    };
    const files = message.files?.map((f) => ({ name: f.name, data: f.data }));
    let lastErr: unknown;
    for (let attempt = 1; attempt <= this.retry.attempts; attempt++) {
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
        if (attempt < this.retry.attempts) {
          const delay = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
          this.log.warn({ channelId, attempt, status, delayMs: delay, err }, 'post failed; retrying');
          await sleep(delay);
        }
      }
    }
    this.log.error({ channelId, err: lastErr }, 'POST FAILED');
    throw new Error(
      `POST FAILED to channel ${channelId}: ${(lastErr as Error)?.message ?? 'unknown error'}`,
      {
        cause: lastErr,
      },
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
