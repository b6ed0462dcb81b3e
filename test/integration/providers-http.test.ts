import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, errors } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKimiProvider, type KimiProviderOptions } from '../../src/adapters/providers/kimi.js';
import { createOpenRouterProvider } from '../../src/adapters/providers/openrouter.js';
import type { BalanceProvider, CheckResult } from '../../src/core/types.js';
import { type FakeApi, type FakeReply, startFakeApi } from '../support/fake-api.js';
import { MOONSHOT_OK_BODY } from '../support/fake-moonshot.js';
import { openRouterError } from '../support/provider-replies.js';

/**
 * The shared HTTP path of every HTTP provider (src/adapters/providers/http.ts), through the Kimi and
 * OpenRouter providers: the request sent, the base URL, statuses and redirects, the body cap, how each
 * transport error is named, and how an error body's message is found. Each case asserts the exact reason.
 */

const KEY = 'sk-http-path-SECRET-51d0';
const MIB = 1024 * 1024;

let fake: FakeApi;
const open: BalanceProvider[] = [];
const agents: Agent[] = [];

function kimi(overrides: Partial<KimiProviderOptions> = {}): BalanceProvider {
  const p = createKimiProvider({
    baseUrl: fake.url,
    apiKey: KEY,
    currency: 'USD',
    timeoutMs: 5_000,
    ...overrides,
  });
  open.push(p);
  return p;
}

function failure(result: CheckResult): string {
  if (result.ok) throw new Error(`expected a failure, got a reading of ${result.available.toString()}`);
  expect(result.reason).not.toContain(KEY);
  expect(result.reason).not.toContain('SECRET');
  return result.reason;
}

async function reasonFor(reply: FakeReply, overrides: Partial<KimiProviderOptions> = {}): Promise<string> {
  fake.setReply(reply);
  return failure(await kimi(overrides).check());
}

/** A real undici Agent whose connector fails the way a network does: with this error. */
function failingAgent(error: Error): Agent {
  const agent = new Agent({ connect: (_options, callback) => callback(error, null) });
  agents.push(agent);
  return agent;
}

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A raw HTTP server on port 0, for replies the fake cannot script (a body that never comes). */
async function rawServer(
  handler: (url: string, headers: IncomingHttpHeaders, res: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    handler(req.url ?? '', req.headers, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}` };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

beforeAll(async () => {
  fake = await startFakeApi();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
  await Promise.all(agents.splice(0).map((a) => a.close()));
  fake.clearRoutes();
  fake.requests.length = 0;
});
afterAll(async () => {
  await fake.close();
});

describe('http providers: the request', () => {
  it('GIVEN a check THEN it is one GET with the bearer key, JSON accepted, and creditwatch as the agent', async () => {
    const seen: Array<[string, IncomingHttpHeaders]> = [];
    const { server, url } = await rawServer((path, headers, res) => {
      seen.push([path, headers]);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(MOONSHOT_OK_BODY));
    });
    try {
      const result = await kimi({ baseUrl: url }).check();
      expect(result.ok).toBe(true);
      expect(seen).toHaveLength(1);
      const [path, headers] = seen[0] as [string, IncomingHttpHeaders];
      expect([path, headers.authorization, headers.accept, headers['user-agent']]).toEqual([
        '/v1/users/me/balance',
        `Bearer ${KEY}`,
        'application/json',
        'creditwatch',
      ]);
    } finally {
      await closeServer(server);
    }
  });

  it('GIVEN base URLs with a path prefix, slashes, /v1, a query or a fragment THEN the path is the prefix plus the endpoint', async () => {
    fake.setReply({ json: MOONSHOT_OK_BODY });
    for (const suffix of ['/v1//', '/gateway/v1', '/v1/gateway', '/api/?key=x#top', '//']) {
      const result = await kimi({ baseUrl: `${fake.url}${suffix}` }).check();
      expect(result.ok).toBe(true);
    }
    expect(fake.requests.map((r) => r.url)).toEqual([
      '/v1/users/me/balance',
      '/gateway/v1/users/me/balance',
      '/v1/gateway/v1/users/me/balance',
      '/api/v1/users/me/balance',
      '/v1/users/me/balance',
    ]);
  });
});

describe('http providers: the connection', () => {
  it('GIVEN checks THEN their keep-alive connections stay open until close() ends them (twice is harmless)', async () => {
    const { server, url } = await rawServer((_path, _headers, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(MOONSHOT_OK_BODY));
    });
    const connections = () =>
      new Promise<number>((resolve, reject) =>
        server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
      );
    try {
      const p = createKimiProvider({ baseUrl: url, apiKey: KEY, currency: 'USD', timeoutMs: 5_000 });
      expect((await p.check()).ok).toBe(true);
      expect((await p.check()).ok).toBe(true);
      expect(await connections()).toBeGreaterThan(0);
      await p.close();
      await p.close();
      const deadline = Date.now() + 2_000;
      while ((await connections()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await connections()).toBe(0);
      expect(failure(await p.check())).toBe('kimi provider is closed');
    } finally {
      await closeServer(server);
    }
  });
});

describe('http providers: statuses and redirects', () => {
  const refused = 'not followed, since the API key would go with it (check the base URL)';

  it('GIVEN a 3xx THEN it is refused, saying where it pointed (origin only), for 300 and 399 too', async () => {
    const host = `127.0.0.1:${fake.port}`;
    expect(await reasonFor({ status: 300, headers: { location: '/v2/balance?key=abc' } })).toBe(
      `Moonshot API answered HTTP 300, a redirect to another path on ${host}; ${refused}`,
    );
    expect(await reasonFor({ status: 399 })).toBe(
      `Moonshot API answered HTTP 399, a redirect without a Location; ${refused}`,
    );
    expect(
      await reasonFor({ status: 308, headers: { location: 'https://elsewhere.example:8443/p?token=t' } }),
    ).toBe(`Moonshot API answered HTTP 308, a redirect to https://elsewhere.example:8443; ${refused}`);
    expect(await reasonFor({ status: 307, headers: { location: 'http://[::1' } })).toBe(
      `Moonshot API answered HTTP 307, a redirect to an invalid Location; ${refused}`,
    );
    expect(fake.requests.map((r) => r.url)).toEqual(Array(4).fill('/v1/users/me/balance'));
  });

  it('GIVEN a redirect with two Location headers THEN the first is named', async () => {
    const { server, url } = await rawServer((_path, _headers, res) => {
      res.setHeader('location', ['https://a.example:8443', 'b']);
      res.writeHead(301);
      res.end();
    });
    try {
      expect(failure(await kimi({ baseUrl: url }).check())).toBe(
        `Moonshot API answered HTTP 301, a redirect to https://a.example:8443; ${refused}`,
      );
    } finally {
      await closeServer(server);
    }
  });

  it('GIVEN 299 or 400 THEN it is a status failure, not a redirect, even with a readable body', async () => {
    expect(await reasonFor({ status: 299, json: MOONSHOT_OK_BODY })).toBe(
      'Moonshot API returned HTTP 299 without an error message',
    );
    expect(await reasonFor({ status: 400, headers: { location: '/elsewhere' }, json: {} })).toBe(
      'Moonshot API returned HTTP 400 without an error message',
    );
  });

  it('GIVEN a redirect or a declared oversized body THEN the connection is dropped at the headers, not drained', async () => {
    const closed: string[] = [];
    const { server, url } = await rawServer((path, _headers, res) => {
      res.on('close', () => closed.push(path));
      // Headers that promise a body which never comes: only dropping the connection ends these replies.
      if (path.startsWith('/big')) res.writeHead(200, { 'content-length': String(MIB + 1) });
      else res.writeHead(302, { location: '/elsewhere', 'content-length': '100' });
      res.write('{');
    });
    try {
      const started = performance.now();
      expect(failure(await kimi({ baseUrl: `${url}/big` }).check())).toBe(
        `response body is larger than ${MIB} bytes`,
      );
      expect(failure(await kimi({ baseUrl: `${url}/moved` }).check())).toMatch(
        /^Moonshot API answered HTTP 302, a redirect to another path on 127\.0\.0\.1:\d+;/,
      );
      // Well before the 5 s timeout: refused as soon as the headers said so.
      expect(performance.now() - started).toBeLessThan(3_000);
      const deadline = Date.now() + 2_000;
      while (closed.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // The providers are still open: their client dropped each connection itself.
      expect(closed.sort()).toEqual(['/big/v1/users/me/balance', '/moved/v1/users/me/balance']);
    } finally {
      await closeServer(server);
    }
  });

  it('GIVEN a body of 1 MiB + 1 byte in several chunks, without a declared length THEN it is refused', async () => {
    const json = JSON.stringify(MOONSHOT_OK_BODY);
    const { server, url } = await rawServer((_path, _headers, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(json);
      res.write(' '.repeat(MIB / 2));
      res.end(' '.repeat(MIB / 2 - json.length + 1));
    });
    try {
      expect(failure(await kimi({ baseUrl: url }).check())).toBe(`response body is larger than ${MIB} bytes`);
    } finally {
      await closeServer(server);
    }
  });
});

describe('http providers: transport errors are named', () => {
  const at = async (baseUrl: string, error: Error, timeoutMs = 5_000) =>
    failure(await kimi({ baseUrl, timeoutMs, dispatcher: failingAgent(error) }).check());

  it('GIVEN a host without a port THEN reasons name the scheme’s port (443, 80)', async () => {
    expect(await at('https://api.example.test', withCode('connect failed', 'ECONNREFUSED'))).toBe(
      'cannot connect to api.example.test:443 (ECONNREFUSED)',
    );
    expect(await at('http://api.example.test/v1', withCode('connect failed', 'ECONNREFUSED'))).toBe(
      'cannot connect to api.example.test:80 (ECONNREFUSED)',
    );
  });

  it('GIVEN each connect, DNS, reset and TLS error code THEN the reason says which, exactly', async () => {
    const cases: Array<[string, string]> = [
      ['EHOSTUNREACH', 'cannot connect to api.example.test:443 (EHOSTUNREACH)'],
      ['ENETUNREACH', 'cannot connect to api.example.test:443 (ENETUNREACH)'],
      ['EADDRNOTAVAIL', 'cannot connect to api.example.test:443 (EADDRNOTAVAIL)'],
      ['ENOTFOUND', 'cannot resolve api.example.test (ENOTFOUND)'],
      ['EAI_AGAIN', 'cannot resolve api.example.test (EAI_AGAIN)'],
      ['ECONNRESET', 'connection to api.example.test:443 closed before a reply (ECONNRESET)'],
      ['EPIPE', 'connection to api.example.test:443 closed before a reply (EPIPE)'],
      ['UND_ERR_HEADERS_TIMEOUT', 'no answer within 5000 ms'],
      ['UND_ERR_BODY_TIMEOUT', 'no answer within 5000 ms'],
      ['UND_ERR_ABORTED', 'no answer within 5000 ms'],
      ['ABORT_ERR', 'no answer within 5000 ms'],
      [
        'ERR_TLS_CERT_ALTNAME_INVALID',
        'TLS handshake with api.example.test:443 failed (ERR_TLS_CERT_ALTNAME_INVALID)',
      ],
      [
        'ERR_SSL_WRONG_VERSION_NUMBER',
        'TLS handshake with api.example.test:443 failed (ERR_SSL_WRONG_VERSION_NUMBER)',
      ],
      ['CERT_HAS_EXPIRED', 'TLS handshake with api.example.test:443 failed (CERT_HAS_EXPIRED)'],
      [
        'DEPTH_ZERO_SELF_SIGNED_CERT',
        'TLS handshake with api.example.test:443 failed (DEPTH_ZERO_SELF_SIGNED_CERT)',
      ],
      [
        'SELF_SIGNED_CERT_IN_CHAIN',
        'TLS handshake with api.example.test:443 failed (SELF_SIGNED_CERT_IN_CHAIN)',
      ],
      [
        'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        'TLS handshake with api.example.test:443 failed (UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
      ],
      // Near misses of the TLS prefixes are not TLS failures.
      ['XERR_TLS', 'request to api.example.test:443 failed: network said no (XERR_TLS)'],
      ['XCERT_', 'request to api.example.test:443 failed: network said no (XCERT_)'],
      ['X_ERR_SSL', 'request to api.example.test:443 failed: network said no (X_ERR_SSL)'],
    ];
    const reasons: Array<[string, string]> = [];
    for (const [code] of cases) {
      reasons.push([code, await at('https://api.example.test', withCode('network said no', code))]);
    }
    expect(reasons).toEqual(cases);
  });

  it('GIVEN undici’s own connect timeout THEN the reason gives the check’s timeout', async () => {
    expect(await at('https://api.example.test', new errors.ConnectTimeoutError(), 1_500)).toBe(
      'cannot connect to api.example.test:443 within 1500 ms',
    );
  });

  it('GIVEN an error without a code or with an unknown one THEN its message is quoted, one line, without the key', async () => {
    expect(await at('https://api.example.test', new Error(`proxy refused\nBearer ${KEY}`))).toBe(
      'request to api.example.test:443 failed: proxy refused Bearer [redacted]',
    );
    expect(await at('https://api.example.test', withCode(`key ${KEY} rejected`, 'EWHATEVER'))).toBe(
      'request to api.example.test:443 failed: key [redacted] rejected (EWHATEVER)',
    );
  });

  it('GIVEN the connection closed before the headers THEN the reason says so, with undici’s code', async () => {
    expect(await reasonFor({ destroy: true })).toBe(
      `connection to 127.0.0.1:${fake.port} closed before a reply (UND_ERR_SOCKET)`,
    );
  });

  it('GIVEN the connection closed after the headers THEN the reason gives the status', async () => {
    const { server, url } = await rawServer((_path, _headers, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"code":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    try {
      const reason = failure(await kimi({ baseUrl: url }).check());
      expect(reason).toBe(
        `connection to ${url.replace('http://', '')} closed before the reply was complete (HTTP 200, UND_ERR_SOCKET)`,
      );
    } finally {
      await closeServer(server);
    }
  });

  it('GIVEN undici’s own body timeout (a dispatcher with a short one) THEN the reason gives the status too', async () => {
    const agent = new Agent({ bodyTimeout: 100 });
    agents.push(agent);
    const reason = await reasonFor({ json: MOONSHOT_OK_BODY, stallBodyMs: 3_000 }, { dispatcher: agent });
    expect(reason).toBe('reply not complete within 5000 ms (HTTP 200 headers received, body unfinished)');
  });

  it('GIVEN a second request that hangs after a first one answered THEN the timeout reason is about the second', async () => {
    fake.setRoute('/v1/credits', { status: 403, json: openRouterError(403, 'Only management keys') });
    fake.setRoute('/v1/key', { delayMs: 5_000, json: {} });
    const p = createOpenRouterProvider({ baseUrl: fake.url, apiKey: KEY, currency: 'USD', timeoutMs: 300 });
    open.push(p);
    expect(failure(await p.check())).toBe('no answer within 300 ms');
  });
});

describe('http providers: the message of an error body', () => {
  const cases: Array<[string, unknown, string]> = [
    ['message and type', { error: { message: 'Bad key', type: 'auth' } }, ': Bad key (auth)'],
    ['a message only', { error: { message: 'Bad key', type: 7 } }, ': Bad key'],
    ['a type only', { error: { type: 'rate_limited' } }, ': rate_limited'],
    ['an empty message beside a type', { error: { message: '', type: 'rate_limited' } }, ': rate_limited'],
    ['a blank message beside a type', { error: { message: ' \n', type: 'rate_limited' } }, ': rate_limited'],
    ['an error string', { error: 'Unauthorized' }, ': Unauthorized'],
    ['a blank error string, then message', { error: '  ', message: 'Try later' }, ': Try later'],
    ['an error object without text, then msg', { error: { code: 5 }, msg: 'quota' }, ': quota'],
    ['msg', { msg: 'quota exceeded' }, ': quota exceeded'],
    ['reason', { reason: 'INVALID_API_KEY' }, ': INVALID_API_KEY'],
    ['a blank message, then reason', { message: '   ', reason: 'EXPIRED' }, ': EXPIRED'],
    ['a message that is not text, then reason', { message: 42, reason: 'EXPIRED' }, ': EXPIRED'],
    ['message before msg and reason', { message: 'first', msg: 'second', reason: 'third' }, ': first'],
    ['nothing usable', { error: { message: 42 }, detail: 'x' }, ' without an error message'],
    ['an array', ['Bad key'], ' without an error message'],
    ['a string', 'Bad key', ' without an error message'],
    ['null', null, ' without an error message'],
  ];
  for (const [name, body, tail] of cases) {
    it(`GIVEN an HTTP 401 body with ${name} THEN the reason is “…${tail}”`, async () => {
      expect(await reasonFor({ status: 401, json: body })).toBe(`Moonshot API returned HTTP 401${tail}`);
    });
  }

  it('GIVEN a long type THEN it is clipped to one bounded line', async () => {
    const reason = await reasonFor({
      status: 401,
      json: { error: { message: 'm', type: `t\n${'y'.repeat(500)}` } },
    });
    expect(reason).toMatch(/^Moonshot API returned HTTP 401: m \(t y+…\)$/);
    expect(reason.length).toBeLessThan(260);
  });
});
