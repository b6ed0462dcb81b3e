import { hostname } from 'node:os';
import type { Transporter } from 'nodemailer';
import type { Dispatcher } from 'undici';
import { alertButtonRows, hasButtons } from '../../core/alerts/buttons.js';
import type { AlertNotification } from '../../core/alerts/engine.js';
import { alertPayload, alertSubject, alertText, pings } from '../../core/alerts/messages.js';
import { oneLine } from '../../core/format.js';
import type { Logger } from '../../core/logger.js';
import { redactor } from '../../core/redact.js';
import { isRetryableStatus, retry } from '../../core/retry.js';
import type { Poster } from '../discord/poster.js';

/**
 * A message that is not one alert: the alerts held during quiet hours, delivered together, or `/alerts test`.
 * It pings nobody.
 */
export interface ChannelMessage {
  readonly kind: 'held' | 'test';
  readonly at: Date;
  /** For Discord: markdown, moments as `<t:…>` markup. */
  readonly discord: string;
  /** Discord components (buttons) under it. */
  readonly components?: readonly unknown[];
  /** For the webhook and e-mail: plain text, moments in UTC. */
  readonly text: string;
  /** The e-mail subject. */
  readonly subject: string;
  /** More facts for the webhook's JSON (beside `text`, `kind` and `at`). */
  readonly facts?: Readonly<Record<string, unknown>>;
}

/** One place alerts go. `send` throws when the alert was not delivered; its message never holds a secret. */
export interface AlertChannel {
  readonly name: string;
  send(n: AlertNotification): Promise<void>;
  /** Delivers a {@link ChannelMessage}; throws like `send`. */
  sendMessage(m: ChannelMessage): Promise<void>;
  /** Releases connections; the channel is not used afterwards. */
  close?(): Promise<void>;
}

/** What {@link sendToAll} did with one alert. */
export interface Delivery {
  readonly delivered: string[];
  readonly failed: string[];
}

/** What one channel did with a {@link ChannelMessage}: delivered, or why not (secret-free, one line). */
export interface ChannelOutcome {
  readonly channel: string;
  readonly delivered: boolean;
  readonly reason: string | null;
}

/** Runs `send` on every channel at once; a failing channel never stops the others, and is logged by `failed`. */
async function sendThroughAll(
  channels: readonly AlertChannel[],
  send: (c: AlertChannel) => Promise<void>,
  failed: (channel: string, error: string) => void,
): Promise<ChannelOutcome[]> {
  const results = await Promise.allSettled(channels.map(send));
  return results.map((r, i) => {
    const channel = channels[i]!.name;
    if (r.status === 'fulfilled') return { channel, delivered: true, reason: null };
    const error = r.reason instanceof Error ? r.reason.message : String(r.reason);
    failed(channel, error);
    return { channel, delivered: false, reason: oneLine(error, 300) };
  });
}

/** Where a send went: the channels it reached and those it did not. */
export function deliveryOf(outcomes: readonly ChannelOutcome[]): Delivery {
  return {
    delivered: outcomes.filter((o) => o.delivered).map((o) => o.channel),
    failed: outcomes.filter((o) => !o.delivered).map((o) => o.channel),
  };
}

/**
 * Sends one alert through every channel at once. A failing channel never stops the others; each failure
 * is logged with the channel's name (`ALERT NOT DELIVERED`).
 */
export async function sendToAll(
  channels: readonly AlertChannel[],
  n: AlertNotification,
  logger: Logger,
): Promise<Delivery> {
  const delivery = deliveryOf(
    await sendThroughAll(
      channels,
      (c) => c.send(n),
      (channel, error) =>
        logger.error({ channel, provider: n.provider, kind: n.kind, error }, 'ALERT NOT DELIVERED'),
    ),
  );
  logger.info({ provider: n.provider, kind: n.kind, ...delivery }, 'alert sent');
  return delivery;
}

/**
 * Sends one {@link ChannelMessage} through every channel at once; like {@link sendToAll}, a failing channel
 * never stops the others and each failure is logged (`MESSAGE NOT DELIVERED`). Never rejects.
 */
export function sendMessageToAll(
  channels: readonly AlertChannel[],
  m: ChannelMessage,
  logger: Logger,
): Promise<ChannelOutcome[]> {
  return sendThroughAll(
    channels,
    (c) => c.sendMessage(m),
    (channel, error) => logger.error({ channel, kind: m.kind, error }, 'MESSAGE NOT DELIVERED'),
  );
}

/**
 * Discord, through the same {@link Poster} as the summaries (stdout in a dry run). Critical alerts start with
 * the mention of `mentionRoleId` and allow pinging that role only; every other alert pings nobody.
 */
export function discordChannel(
  poster: Poster,
  channelId: string,
  mentionRoleId: string | null,
): AlertChannel {
  return {
    name: 'discord',
    async send(n) {
      const text = alertText(n, 'discord');
      // Every alert of an episode carries its buttons: Acknowledge, Snooze 24h, Refresh.
      const buttons = hasButtons(n) ? { components: alertButtonRows(n.provider, n.episode) } : {};
      if (mentionRoleId !== null && pings(n)) {
        await poster.post(channelId, {
          content: `<@&${mentionRoleId}> ${text}`,
          mentionRoleIds: [mentionRoleId],
          ...buttons,
        });
      } else {
        await poster.post(channelId, { content: text, ...buttons });
      }
    },
    async sendMessage(m) {
      await poster.post(channelId, {
        content: m.discord,
        ...(m.components && m.components.length > 0 ? { components: m.components } : {}),
      });
    },
  };
}

/** Options for {@link webhookChannel}. */
export interface WebhookOptions {
  /** May hold a secret in its path or query (Slack, Discord, ntfy tokens): it is never logged. */
  readonly url: string;
  readonly logger: Logger;
  /** Bound on one attempt, connect to body. Default 10 s. */
  readonly timeoutMs?: number;
  /** Attempts in all, the first included. Default 4. */
  readonly attempts?: number;
  /** First backoff; doubled per attempt up to `maxDelayMs`. Default 1 s. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly dispatcher?: Dispatcher;
}

/** Thrown (and retried) when a webhook attempt fails; its message names the host only. */
class WebhookError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'WebhookError';
  }
}

/**
 * A JSON POST of {@link alertPayload} (Slack-compatible `text` plus the facts) to `url`. Network errors,
 * timeouts, 5xx, 408 and 429 are retried with exponential backoff (`retry.ts`; a 429's `Retry-After` is
 * waited when longer, within `maxDelayMs`); other 4xx are not, and a 3xx is neither followed nor retried. Only the URL's host ever reaches a log or an error message.
 */
export function webhookChannel(options: WebhookOptions): AlertChannel {
  const url = new URL(options.url);
  const host = url.host;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const attempts = Math.max(1, options.attempts ?? 4);
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const log = options.logger.child({ channel: 'webhook', host });
  // Error texts from the HTTP stack may quote what was requested; keep the path and query out of them.
  const scrub = redactor([options.url, url.href, `${url.pathname}${url.search}`].filter((s) => s.length > 1));

  const attempt = async (body: string): Promise<void> => {
    let res: Dispatcher.ResponseData;
    try {
      // Loaded on the first alert: a bot without a webhook (or whose providers need no HTTP) never loads undici.
      const { request } = await import('undici');
      res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'creditwatch' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });
    } catch (err) {
      const e = err as Error & { code?: string };
      const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
      const what = timedOut ? `no answer within ${timeoutMs} ms` : e.message;
      const code = e.code && !what.includes(e.code) ? `${e.code} ` : '';
      throw new WebhookError(`webhook ${host}: ${scrub(`${code}${what}`)}`, true);
    }
    await res.body.dump().catch(() => undefined);
    const status = res.statusCode;
    if (status >= 200 && status < 300) return;
    const retryAfter = Number(res.headers['retry-after']);
    // A redirect is not followed: the alert would go (with its body) to an address nobody configured, and
    // its Location may carry a secret, so it is neither logged nor retried.
    const redirect =
      status >= 300 && status < 400
        ? ': redirect not followed; set ALERT_WEBHOOK_URL to the address it points to'
        : '';
    throw new WebhookError(
      `webhook ${host} answered HTTP ${status}${redirect}`,
      isRetryableStatus(status),
      status === 429 && Number.isFinite(retryAfter) ? retryAfter * 1000 : null,
    );
  };

  const deliver = async (body: string): Promise<void> => {
    let made = 0;
    try {
      await retry(
        async (i) => {
          made = i;
          await attempt(body);
          if (i > 1) log.info({ attempt: i }, 'webhook delivered after retrying');
        },
        { attempts, baseDelayMs, maxDelayMs },
        {
          retryable: (err) => err instanceof WebhookError && err.retryable,
          retryAfterMs: (err) => (err instanceof WebhookError ? err.retryAfterMs : null),
          onRetry: ({ error, attempt: i, delayMs }) =>
            log.warn({ attempt: i, delayMs, error: (error as Error).message }, 'webhook failed; retrying'),
        },
      );
    } catch (err) {
      const last =
        err instanceof WebhookError ? err : new WebhookError(`webhook ${host}: unexpected error`, false);
      // The attempts really made: a 4xx or a redirect stops after the first.
      throw new Error(`${last.message} (after ${made} attempt${made === 1 ? '' : 's'})`);
    }
  };

  return {
    name: 'webhook',
    send: (n) => deliver(JSON.stringify(alertPayload(n))),
    sendMessage: (m) =>
      deliver(JSON.stringify({ text: m.text, kind: m.kind, at: m.at.toISOString(), ...m.facts })),
  };
}

/** Options for {@link emailChannel}. */
export interface EmailOptions {
  /** `smtp://user:pass@host:587` or `smtps://…:465`; nodemailer's URL form. Never logged. */
  readonly smtpUrl: string;
  readonly to: readonly string[];
  /** Sender; default the SMTP user when it is an address, else `creditwatch@<this host>`. */
  readonly from: string | null;
  /** Bound on connecting, the greeting and each socket wait. Default 15 s. */
  readonly timeoutMs?: number;
}

/** E-mail through SMTP with nodemailer: the alert's subject and its plain text. */
export function emailChannel(options: EmailOptions): AlertChannel {
  const url = new URL(options.smtpUrl);
  const timeoutMs = options.timeoutMs ?? 15_000;
  const user = decodeURIComponent(url.username);
  const from = options.from ?? (user.includes('@') ? user : `creditwatch@${hostname()}`);
  const scrub = redactor([url.password, decodeURIComponent(url.password), options.smtpUrl]);
  // nodemailer (~0.5 MB of source) is loaded with the first e-mail, not with the bot: most alerts never need it.
  let transport: Promise<Transporter> | undefined;
  const transporter = (): Promise<Transporter> =>
    (transport ??= Promise.all([import('nodemailer'), import('nodemailer/lib/smtp-transport/index.js')]).then(
      ([{ createTransport }, { default: SMTPTransport }]) =>
        createTransport(
          new SMTPTransport({
            url: options.smtpUrl,
            connectionTimeout: timeoutMs,
            greetingTimeout: timeoutMs,
            socketTimeout: timeoutMs,
          }),
        ),
    ));
  const mail = async (subject: string, text: string, at: Date): Promise<void> => {
    try {
      await (await transporter()).sendMail({
        from,
        to: [...options.to],
        subject,
        text: `${text}\n\n-- \ncreditwatch, ${at.toISOString()}\n`,
      });
    } catch (err) {
      throw new Error(`e-mail via ${url.hostname}: ${scrub((err as Error).message)}`);
    }
  };
  return {
    name: 'email',
    send: (n) => mail(alertSubject(n), alertText(n, 'text'), n.at),
    sendMessage: (m) => mail(m.subject, m.text, m.at),
    async close() {
      (await transport?.catch(() => undefined))?.close();
    },
  };
}
