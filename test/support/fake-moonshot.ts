import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';

/** What the fake answers to the next requests. */
export interface FakeReply {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Raw body text, sent as is (so malformed JSON, HTML or nothing at all can be scripted). */
  readonly body?: string;
  /** Convenience: JSON-encodes this as the body and sets `content-type: application/json`. */
  readonly json?: unknown;
  /** Wait this long before sending anything. */
  readonly delayMs?: number;
  /** Send the headers and the first half of the body, then wait this long before the rest. */
  readonly stallBodyMs?: number;
  /** Destroy the socket instead of answering. */
  readonly destroy?: boolean;
}

/** One request the fake received. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
}

/** A running fake Moonshot API. */
export interface FakeMoonshot {
  /** Origin to use as the provider's `baseUrl`, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  setReply(reply: FakeReply): void;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Moonshot's documented success body, with these numbers. */
function balanceBody(available: number, voucher: number, cash: number) {
  return {
    code: 0,
    data: { available_balance: available, voucher_balance: voucher, cash_balance: cash },
    scode: '0x0',
    status: true,
  };
}

/** Moonshot's documented success reply. */
export const MOONSHOT_OK_BODY = balanceBody(49.58894, 46.58893, 3.00001);

/** A success reply reporting this balance (`available` = `voucher` + `cash` is not checked). */
export function moonshotBalance(available: number, voucher: number, cash: number): FakeReply {
  return { json: balanceBody(available, voucher, cash) };
}

/** Starts a real HTTP server on 127.0.0.1 (ephemeral port); every request gets the current reply. */
export async function startFakeMoonshot(
  initial: FakeReply = { json: MOONSHOT_OK_BODY },
): Promise<FakeMoonshot> {
  let reply: FakeReply = initial;
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const answer = (current: FakeReply, req: IncomingMessage, res: ServerResponse): void => {
    if (current.destroy) {
      req.socket.destroy();
      return;
    }
    const headers: Record<string, string> = { ...(current.headers ?? {}) };
    let body = current.body ?? '';
    if (current.json !== undefined) {
      body = JSON.stringify(current.json);
      headers['content-type'] ??= 'application/json';
    }
    const bytes = Buffer.from(body, 'utf8');
    headers['content-length'] = String(bytes.length);
    res.writeHead(current.status ?? 200, headers);
    if (current.stallBodyMs !== undefined && bytes.length > 1) {
      const half = Math.floor(bytes.length / 2);
      res.write(bytes.subarray(0, half));
      later(current.stallBodyMs, () => {
        if (!res.destroyed) res.end(bytes.subarray(half));
      });
      return;
    }
    res.end(bytes);
  };

  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    const current = reply;
    req.resume();
    if (current.delayMs !== undefined && current.delayMs > 0) {
      later(current.delayMs, () => {
        if (!res.destroyed) answer(current, req, res);
      });
    } else {
      answer(current, req, res);
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setReply(next) {
      reply = next;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A 127.0.0.1 port that nothing listens on (bound, then released), for "connection refused" cases. */
export async function getClosedPort(): Promise<number> {
  const server = createTcpServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
