import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../core/logger.js';
import { TOKEN_COOKIE, TokenGate } from './auth.js';
import type { StatusSource } from './status.js';

/** What a route answers. */
export interface Reply {
  readonly status: number;
  readonly type: string;
  readonly body: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A route: the request's URL (parsed) in, a reply out. */
export type Route = (url: URL, req: IncomingMessage) => Promise<Reply>;

export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port (tests); the bot never starts the server with 0 (that turns it off). */
  readonly port: number;
  /** `DASHBOARD_TOKEN`; `null`: the page, its JSON and /metrics are open. */
  readonly token: string | null;
  readonly status: StatusSource;
  readonly logger: Logger;
  /** Routes behind the token, by exact path (`/`, `/api/status`, `/metrics`) or prefix ending in `/`. */
  readonly routes: Readonly<Record<string, Route>>;
}

export interface HttpServer {
  /** `http://host:port`, for logs and tests. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const text = (status: number, body: string, headers?: Record<string, string>): Reply => ({
  status,
  type: 'text/plain; charset=utf-8',
  body,
  ...(headers ? { headers } : {}),
});

const json = (status: number, value: unknown): Reply => ({
  status,
  type: 'application/json; charset=utf-8',
  body: `${JSON.stringify(value, null, 2)}\n`,
});

/** `/livez`: the process and its event loop answer; nothing else is asked. */
const livez: Route = async () => text(200, 'ok\n');

/** `/readyz`: 200 when ready, else 503 naming what is not; `?verbose`: one `[+]name ok` line per check. */
function readyz(status: StatusSource): Route {
  return async (url) => {
    const r = await status.readiness();
    const code = r.ready ? 200 : 503;
    if (url.searchParams.has('verbose')) {
      const lines = Object.entries(r.checks).map(([name, problem]) =>
        problem === null ? `[+]${name} ok` : `[-]${name} failed: ${problem}`,
      );
      lines.push(r.ready ? 'readyz check passed' : 'readyz check failed');
      return text(code, `${lines.join('\n')}\n`);
    }
    const notReady = Object.fromEntries(Object.entries(r.checks).filter(([, p]) => p !== null));
    return json(code, r.ready ? { status: 'ready' } : { status: 'not ready', notReady });
  };
}

/** Headers on every answer: nothing is framed, sniffed, cached by others or sent on as a referrer. */
const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

/**
 * The one HTTP server of the bot process (node:http): health endpoints open to all, everything else behind
 * `DASHBOARD_TOKEN` when it is set. GET and HEAD only.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const log = options.logger.child({ module: 'http' });
  const gate = options.token === null ? null : new TokenGate(options.token);
  const open: Record<string, Route> = {
    '/livez': livez,
    '/readyz': readyz(options.status),
    // Browsers ask for it on their own; an empty answer keeps their console free of a 404.
    '/favicon.ico': async () => ({ status: 204, type: 'image/x-icon', body: '' }),
  };

  const find = (path: string): Route | undefined => {
    const exact = options.routes[path];
    if (exact) return exact;
    for (const [prefix, route] of Object.entries(options.routes))
      if (prefix.endsWith('/') && prefix !== '/' && path.startsWith(prefix)) return route;
    return undefined;
  };

  const answer = async (req: IncomingMessage, url: URL): Promise<Reply> => {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return text(405, 'method not allowed\n', { allow: 'GET, HEAD' });
    const health = open[url.pathname];
    if (health) return health(url, req);
    const route = find(url.pathname);
    if (!route) return text(404, 'not found\n');
    if (gate && !gate.allows(req)) {
      // The page accepts the token once in the address and trades it for a cookie, then drops it from the
      // address (a redirect), so it stays out of the history and of anything the page links to.
      const offered = url.pathname === '/' ? url.searchParams.get('token') : null;
      if (offered !== null && gate.matches(offered)) {
        return {
          status: 303,
          type: 'text/plain; charset=utf-8',
          body: 'see /\n',
          headers: {
            location: '/',
            'set-cookie': `${TOKEN_COOKIE}=${gate.cookieValue}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000`,
          },
        };
      }
      return text(
        401,
        'DASHBOARD_TOKEN required: send Authorization: Bearer <token>, or open /?token=<token>\n',
        {
          'www-authenticate': 'Bearer realm="creditwatch"',
        },
      );
    }
    return route(url, req);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let reply: Reply;
    try {
      reply = await answer(req, new URL(req.url ?? '/', 'http://localhost'));
    } catch (err) {
      log.error({ err, path: req.url?.split('?')[0] }, 'http request failed');
      reply = text(500, 'internal error (see the bot log)\n');
    }
    const body = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
    res.writeHead(reply.status, {
      ...COMMON_HEADERS,
      'content-type': reply.type,
      'content-length': String(body.length),
      ...reply.headers,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const server: Server = createServer((req, res) => void handle(req, res));
  // A slow or idle client must not hold a socket for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => reject(err);
    server.once('error', failed);
    server.listen(options.port, options.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'http server error'));
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
  log.info({ host: options.host, port, token: gate !== null }, 'http server listening');
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
