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
  /** Send this many bytes of `x` with no content-length, one 64 KiB chunk at a time, never ending (the client must give up). */
  readonly endless?: boolean;
}

/** One request the fake received. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  /** Anthropic's key and version headers (`x-api-key`, `anthropic-version`), when sent. */
  readonly apiKey?: string | undefined;
  readonly anthropicVersion?: string | undefined;
}

/** A running fake provider API. */
export interface FakeApi {
  /** Origin to use as the provider's `baseUrl`, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** The reply for every path without a route of its own. */
  setReply(reply: FakeReply): void;
  /** The reply for requests to exactly this path (without the query); `undefined` removes the route. */
  setRoute(path: string, reply: FakeReply | undefined): void;
  /** Removes every route. */
  clearRoutes(): void;
  readonly requests: RecordedRequest[];
  /** Body bytes written to clients so far (for "refused without reading it all"). */
  readonly bytesSent: number;
  close(): Promise<void>;
}

/** Starts a real HTTP server on 127.0.0.1 (ephemeral port); every request gets the current reply. */
export async function startFakeApi(initial: FakeReply = { status: 404, body: '' }): Promise<FakeApi> {
  let reply: FakeReply = initial;
  const routes = new Map<string, FakeReply>();
  let bytesSent = 0;
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
    if (current.endless) {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      res.writeHead(current.status ?? 200, {
        'content-type': 'application/json',
        ...(current.headers ?? {}),
      });
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk)) bytesSent += chunk.length;
        if (!res.destroyed) {
          bytesSent += chunk.length;
          res.once('drain', pump);
        }
      };
      pump();
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
    bytesSent += bytes.length;
    res.end(bytes);
  };

  const server = createServer((req, res) => {
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      apiKey: header('x-api-key'),
      anthropicVersion: header('anthropic-version'),
    });
    const current = routes.get((req.url ?? '').split('?')[0] ?? '') ?? reply;
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
    get bytesSent() {
      return bytesSent;
    },
    setReply(next) {
      reply = next;
    },
    clearRoutes() {
      routes.clear();
    },
    setRoute(path, next) {
      if (next === undefined) routes.delete(path);
      else routes.set(path, next);
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
