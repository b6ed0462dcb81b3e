import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One POST the webhook receiver got. */
export interface ReceivedHook {
  readonly url: string;
  readonly contentType: string | undefined;
  readonly body: Record<string, unknown>;
}

/** A running local webhook receiver. */
export interface WebhookReceiver {
  /** `http://127.0.0.1:{port}` followed by the `path` it was started with. */
  readonly url: string;
  readonly received: ReceivedHook[];
  close(): Promise<void>;
}

/**
 * A webhook receiver on 127.0.0.1 (ephemeral port): records every request's JSON body and answers it with
 * the next of `statuses` (200 once they run out; a 429 carries `Retry-After: <retryAfterSeconds>`, default 0).
 */
export async function startWebhookReceiver(
  options: {
    readonly path?: string;
    readonly statuses?: readonly number[];
    readonly retryAfterSeconds?: number;
  } = {},
): Promise<WebhookReceiver> {
  const received: ReceivedHook[] = [];
  const script = [...(options.statuses ?? [])];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
      });
      const status = script.shift() ?? 200;
      res.writeHead(status, status === 429 ? { 'retry-after': String(options.retryAfterSeconds ?? 0) } : {});
      res.end(status === 200 ? 'ok' : 'nope');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${options.path ?? ''}`,
    received,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One message the SMTP server accepted. */
export interface Mail {
  readonly from: string | undefined;
  readonly to: string[];
  readonly raw: string;
}

/** A running local SMTP server. */
export interface SmtpReceiver {
  /** `smtp://127.0.0.1:{port}` */
  readonly url: string;
  readonly mails: Mail[];
  close(): Promise<void>;
}

/** A local SMTP server (plain, no auth, no STARTTLS) on 127.0.0.1 that keeps every message. */
export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The decoded header value and text body of a raw message (quoted-printable or 7bit, as nodemailer writes). */
export function parseMail(raw: string): { subject: string; body: string } {
  const [head = '', ...rest] = raw.split(/\r?\n\r?\n/);
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const subject = /^Subject: (.*)$/im.exec(unfolded)?.[1] ?? '';
  let body = rest.join('\n\n');
  if (/Content-Transfer-Encoding: quoted-printable/i.test(unfolded)) {
    const bytes = body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    body = Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return { subject, body };
}
