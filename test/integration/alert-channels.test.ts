import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AlertChannel,
  discordChannel,
  emailChannel,
  sendToAll,
  webhookChannel,
} from '../../src/adapters/alert-channels/notifiers.js';
import type { OutgoingMessage, Poster } from '../../src/adapters/discord/poster.js';
import { alertButtonRows } from '../../src/core/alerts/buttons.js';
import type { AlertNotification } from '../../src/core/alerts/engine.js';
import { createLogger, type Logger } from '../../src/core/logger.js';
import { parseAmount } from '../../src/core/money.js';
import { getClosedPort } from '../support/fake-moonshot.js';
import { parseMail, startSmtpReceiver, startWebhookReceiver } from '../support/receivers.js';

const SECRET_PATH = '/services/T000/B000/SECRET-PATH-d41d8cd9';
const SECRET_QUERY = '?token=SECRET-QUERY-8f00b204';
const SECRET_HOOK = `${SECRET_PATH}${SECRET_QUERY}`;
const ROLE = '222222222222222222';
const CHANNEL = '111111111111111111';

const LOW: AlertNotification = {
  kind: 'low',
  provider: 'kimi',
  currency: 'USD',
  at: new Date('2026-11-27T10:00:00Z'),
  threshold: parseAmount('5'),
  critical: parseAmount('2.50'),
  episode: 1,
  available: parseAmount('4.80'),
  recoverAt: parseAmount('5.50'),
};
const RECOVERED: AlertNotification = {
  ...LOW,
  kind: 'recovered',
  available: parseAmount('6'),
  topUp: parseAmount('1.3'),
  since: new Date('2026-11-27T09:00:00Z'),
};

/** A pino logger (with the production redaction) writing into memory, so tests can read what was logged. */
function memoryLogger(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  return {
    logger: createLogger('debug', { write: (line: string) => void lines.push(line) }),
    text: () => lines.join(''),
  };
}

class RecordingPoster implements Poster {
  readonly posts: { channelId: string; message: OutgoingMessage }[] = [];
  async post(channelId: string, message: OutgoingMessage): Promise<void> {
    this.posts.push({ channelId, message });
  }
}

describe('alert channels', () => {
  let mem: ReturnType<typeof memoryLogger>;
  const cleanup: (() => Promise<void>)[] = [];
  beforeEach(() => {
    mem = memoryLogger();
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0)) await fn();
  });

  describe('webhook', () => {
    it('GIVEN the receiver answers 500 once THEN the alert is retried and delivered as JSON with a text field', async () => {
      const receiver = await startWebhookReceiver({ path: SECRET_HOOK, statuses: [500] });
      cleanup.push(receiver.close);
      const webhook = webhookChannel({ url: receiver.url, logger: mem.logger, baseDelayMs: 10 });
      await webhook.send(LOW);
      expect(receiver.received).toHaveLength(2);
      const [first, second] = receiver.received;
      expect(second).toEqual(first);
      expect(second?.url).toBe(`${SECRET_PATH}${SECRET_QUERY}`);
      expect(second?.contentType).toBe('application/json');
      expect(second?.body).toMatchObject({
        text: '🌙 ⚠️ Kimi credits low! $4.80 available (threshold: $5.00) · recovers at $5.50',
        kind: 'low',
        provider: 'kimi',
        available: '4.8',
        threshold: '5',
        currency: 'USD',
      });
      expect(mem.text()).toContain('webhook failed; retrying');
      expect(mem.text()).toContain(new URL(receiver.url).host);
      expect(mem.text()).not.toContain('SECRET');
    });

    it('GIVEN a 429 THEN it waits (Retry-After, longer than the backoff) and retries once', async () => {
      const receiver = await startWebhookReceiver({
        path: SECRET_HOOK,
        statuses: [429],
        retryAfterSeconds: 0.3,
      });
      cleanup.push(receiver.close);
      const started = performance.now();
      await webhookChannel({ url: receiver.url, logger: mem.logger, baseDelayMs: 10 }).send(LOW);
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
      expect(receiver.received).toHaveLength(2);
      expect(mem.text()).toContain('"delayMs":300');
    });

    it('GIVEN 503s throughout THEN exactly `attempts` requests are made, then it gives up', async () => {
      const receiver = await startWebhookReceiver({ statuses: [503, 503, 503, 503] });
      cleanup.push(receiver.close);
      const webhook = webhookChannel({ url: receiver.url, logger: mem.logger, attempts: 3, baseDelayMs: 5 });
      await expect(webhook.send(LOW)).rejects.toThrow(/answered HTTP 503 \(after 3 attempts\)$/);
      expect(receiver.received).toHaveLength(3);
    });

    it('GIVEN a 4xx other than 429 THEN it fails at once without retrying', async () => {
      const receiver = await startWebhookReceiver({ path: SECRET_HOOK, statuses: [404] });
      cleanup.push(receiver.close);
      const webhook = webhookChannel({ url: receiver.url, logger: mem.logger, baseDelayMs: 10 });
      await expect(webhook.send(LOW)).rejects.toThrow(/answered HTTP 404 \(after 1 attempt\)$/);
      expect(receiver.received).toHaveLength(1);
    });

    it('GIVEN a 302 THEN the redirect is not followed nor retried, and the error says so after 1 attempt', async () => {
      const target = await startWebhookReceiver({ path: '/elsewhere' });
      cleanup.push(target.close);
      let requests = 0;
      const server = createServer((req, res) => {
        requests++;
        req.resume();
        res.writeHead(302, { location: `${target.url}?token=SECRET-LOCATION` });
        res.end();
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      cleanup.push(async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      });
      const { port } = server.address() as AddressInfo;
      const webhook = webhookChannel({
        url: `http://127.0.0.1:${port}${SECRET_HOOK}`,
        logger: mem.logger,
        baseDelayMs: 5,
      });
      const error = await webhook.send(LOW).then(
        () => null,
        (e: Error) => e,
      );
      expect(error?.message).toBe(
        `webhook 127.0.0.1:${port} answered HTTP 302: redirect not followed; set ALERT_WEBHOOK_URL to the address it points to (after 1 attempt)`,
      );
      expect(requests).toBe(1);
      expect(target.received).toHaveLength(0);
      expect(mem.text()).not.toContain('SECRET');
    });

    it('GIVEN a 503 and then a 404 THEN the error counts the 2 attempts really made', async () => {
      const receiver = await startWebhookReceiver({ statuses: [503, 404] });
      cleanup.push(receiver.close);
      const webhook = webhookChannel({ url: receiver.url, logger: mem.logger, baseDelayMs: 5 });
      await expect(webhook.send(LOW)).rejects.toThrow(/^webhook .* answered HTTP 404 \(after 2 attempts\)$/);
      expect(receiver.received).toHaveLength(2);
    });

    it('GIVEN nothing listens THEN every attempt fails and the error names the host, never the secret', async () => {
      const port = await getClosedPort();
      const url = `http://127.0.0.1:${port}${SECRET_HOOK}`;
      const webhook = webhookChannel({ url, logger: mem.logger, attempts: 3, baseDelayMs: 5 });
      const error = await webhook.send(LOW).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toMatch(
        new RegExp(`^webhook 127\\.0\\.0\\.1:${port}: .*\\(after 3 attempts\\)$`),
      );
      expect(error?.message).not.toContain('SECRET');
      expect(mem.text().match(/webhook failed; retrying/g)).toHaveLength(2);
      expect(mem.text()).not.toContain('SECRET');
    });

    it('GIVEN a receiver that never answers THEN the attempt times out', async () => {
      const server = createServer(() => undefined);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      cleanup.push(async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      });
      const { port } = server.address() as AddressInfo;
      const webhook = webhookChannel({
        url: `http://127.0.0.1:${port}${SECRET_PATH}`,
        logger: mem.logger,
        attempts: 1,
        timeoutMs: 200,
      });
      await expect(webhook.send(LOW)).rejects.toThrow(/no answer within 200 ms/);
    });
  });

  describe('e-mail', () => {
    it('GIVEN a local SMTP server THEN the alert arrives with its subject and text', async () => {
      const smtp = await startSmtpReceiver();
      cleanup.push(smtp.close);
      const email = emailChannel({
        smtpUrl: smtp.url,
        to: ['ops@example.com', 'cto@example.com'],
        from: 'creditwatch@example.com',
      });
      cleanup.push(async () => email.close?.());
      await email.send(LOW);
      expect(smtp.mails).toHaveLength(1);
      const [mail] = smtp.mails;
      expect(mail?.from).toBe('creditwatch@example.com');
      expect(mail?.to).toEqual(['ops@example.com', 'cto@example.com']);
      const { subject, body } = parseMail(mail!.raw);
      expect(subject).toBe('[creditwatch] Kimi credits low: $4.80 (threshold $5.00)');
      expect(body).toContain('🌙 ⚠️ Kimi credits low! $4.80 available (threshold: $5.00) · recovers at $5.50');
    });

    it('GIVEN an SMTP server that is down THEN send rejects with a safe message', async () => {
      const port = await getClosedPort();
      const email = emailChannel({
        smtpUrl: `smtp://alerts%40example.com:SMTP-SECRET-pw@127.0.0.1:${port}`,
        to: ['ops@example.com'],
        from: null,
        timeoutMs: 2000,
      });
      cleanup.push(async () => email.close?.());
      const error = await email.send(LOW).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toMatch(/^e-mail via 127\.0\.0\.1: /);
      expect(error?.message).not.toContain('SMTP-SECRET');
    });
  });

  describe('discord', () => {
    it('GIVEN ALERT_MENTION_ROLE_ID THEN critical alerts ping that role only; low alerts and good news ping nobody', async () => {
      const poster = new RecordingPoster();
      const discord = discordChannel(poster, CHANNEL, ROLE);
      await discord.send({ ...LOW, kind: 'critical', cause: 'level', available: parseAmount('2') });
      await discord.send(LOW);
      await discord.send(RECOVERED);
      expect(poster.posts).toEqual([
        {
          channelId: CHANNEL,
          message: {
            content: `<@&${ROLE}> 🌙 🚨 Kimi credits critically low! **$2.00** available (critical: $2.50, threshold: $5.00) · recovers at $5.50`,
            mentionRoleIds: [ROLE],
            components: alertButtonRows('kimi', 1),
          },
        },
        {
          channelId: CHANNEL,
          message: {
            content: '🌙 ⚠️ Kimi credits low! **$4.80** available (threshold: $5.00) · recovers at $5.50',
            components: alertButtonRows('kimi', 1),
          },
        },
        {
          channelId: CHANNEL,
          message: {
            content:
              '🌙 ✅ Kimi credits recovered: **$6.00** available (threshold: $5.00) · topped up +$1.30 · low for 1h',
          },
        },
      ]);
    });

    it('GIVEN no mention role THEN nobody is pinged', async () => {
      const poster = new RecordingPoster();
      await discordChannel(poster, CHANNEL, null).send(LOW);
      expect(poster.posts[0]?.message.mentionRoleIds).toBeUndefined();
      expect(poster.posts[0]?.message.content.startsWith('🌙 ⚠️ Kimi credits low!')).toBe(true);
    });
  });

  describe('sendToAll', () => {
    it('GIVEN one failing channel THEN the others still deliver and the failure is logged with its name', async () => {
      const poster = new RecordingPoster();
      const smtp = await startSmtpReceiver();
      cleanup.push(smtp.close);
      const port = await getClosedPort();
      const email = emailChannel({ smtpUrl: smtp.url, to: ['ops@example.com'], from: 'cw@example.com' });
      cleanup.push(async () => email.close?.());
      const broken: AlertChannel = webhookChannel({
        url: `http://127.0.0.1:${port}${SECRET_HOOK}`,
        logger: mem.logger,
        attempts: 2,
        baseDelayMs: 5,
      });
      const delivery = await sendToAll(
        [discordChannel(poster, CHANNEL, null), broken, email],
        LOW,
        mem.logger,
      );
      expect(delivery).toEqual({ delivered: ['discord', 'email'], failed: ['webhook'] });
      expect(poster.posts).toHaveLength(1);
      expect(smtp.mails).toHaveLength(1);
      const failure = mem
        .text()
        .split('\n')
        .filter((l) => l.includes('ALERT NOT DELIVERED'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(failure).toHaveLength(1);
      expect(failure[0]).toMatchObject({ channel: 'webhook', provider: 'kimi', kind: 'low', level: 50 });
      expect(mem.text()).not.toContain('SECRET');
    });

    it('GIVEN a channel that throws THEN sendToAll itself never rejects', async () => {
      const boom: AlertChannel = {
        name: 'boom',
        send: async () => {
          throw new Error('exploded');
        },
        sendMessage: async () => {
          throw new Error('exploded');
        },
      };
      await expect(sendToAll([boom], LOW, mem.logger)).resolves.toEqual({ delivered: [], failed: ['boom'] });
    });
  });
});
