import { expect } from 'vitest';
import type { BalanceProvider, BalanceReading, ProviderId } from '../../src/core/types.js';
import { type FakeApi, type FakeReply, getClosedPort, startFakeApi } from './fake-api.js';
import type { Arranged, ContractSubject } from './provider-contract.js';

const MIB = 1024 * 1024;

/** What the contract needs to know about one HTTP provider. */
export interface HttpProviderFacts {
  readonly id: ProviderId;
  /** `DeepSeek API`, as reasons name it. */
  readonly api: string;
  /** The balance path the provider asks for, relative to the fake's origin. */
  readonly path: string;
  /** Builds the provider under test against `baseUrl`. */
  readonly create: (baseUrl: string, apiKey: string, timeoutMs: number) => BalanceProvider;
  /** The documented success reply and what the reading must say. */
  readonly documented: unknown;
  readonly expectReading: (reading: BalanceReading) => void;
  /** The provider's error body for a refused key, and the message a reason must quote from it. */
  readonly errorBody: (status: 401 | 403) => unknown;
  readonly errorMessage: RegExp;
  /**
   * How the key is sent and what else a request carries, checked for the documented reply: default the
   * `Authorization: Bearer` header and exactly `path` with no query. `query` matches each request's query.
   */
  readonly keyIn?: 'bearer' | 'x-api-key';
  readonly query?: RegExp;
  /** Routes besides `path` that a situation needs (OpenRouter's 403 fallback asks `/v1/key`). */
  readonly alsoAnswers?: (status: 401 | 403) => Readonly<Record<string, FakeReply>>;
  /** Replies of the wrong types, with the reason each must give. */
  readonly wrongTypes: ReadonlyArray<{
    readonly name: string;
    readonly json: unknown;
    readonly reason: RegExp;
  }>;
}

const KEY = 'sk-contract-SECRET-7f3a9c';
// Long enough that a first check on a loaded machine (loading undici, opening the connection) never times
// out; the hang situation waits exactly this long.
const TIMEOUT_MS = 1_000;

/** A {@link ContractSubject} for an HTTP provider, against local fake servers on port 0. */
export function httpSubject(facts: HttpProviderFacts): ContractSubject {
  let fake: FakeApi;
  let elsewhere: FakeApi;
  const at = (reply: FakeReply, routes: Readonly<Record<string, FakeReply>> = {}): Promise<Arranged> => {
    fake.setReply({ status: 404, json: { error: { message: 'no such path in the fake' } } });
    fake.clearRoutes();
    for (const [path, routeReply] of Object.entries({ [facts.path]: reply, ...routes })) {
      fake.setRoute(path, routeReply);
    }
    fake.requests.length = 0;
    return Promise.resolve({ provider: facts.create(fake.url, KEY, TIMEOUT_MS) });
  };
  const refused = (status: 401 | 403) => ({
    arrange: () => at({ status, json: facts.errorBody(status) }, facts.alsoAnswers?.(status) ?? {}),
    reason: new RegExp(`${facts.api} returned HTTP ${status}: ${facts.errorMessage.source}`),
  });

  return {
    id: facts.id,
    secret: KEY,
    timeoutMs: TIMEOUT_MS,
    async setup() {
      // The provider loads undici at its first check; load it here so no situation pays for it.
      await import('undici');
      fake = await startFakeApi();
      elsewhere = await startFakeApi({ json: facts.documented });
    },
    async teardown() {
      await fake.close();
      await elsewhere.close();
    },
    async documented() {
      const arranged = await at({ json: facts.documented });
      return {
        ...arranged,
        expect: facts.expectReading,
        verify() {
          // The key goes in the Authorization header (or Anthropic's x-api-key), to the documented path, and
          // nowhere else.
          if (facts.keyIn === 'x-api-key') {
            expect(
              fake.requests.map((r) => [
                r.method,
                r.url.split('?')[0],
                r.authorization,
                r.apiKey,
                r.anthropicVersion,
              ]),
            ).toEqual([['GET', facts.path, undefined, KEY, '2023-06-01']]);
          } else {
            expect(
              fake.requests.map((r) => [
                r.method,
                facts.query ? r.url.split('?')[0] : r.url,
                r.authorization,
              ]),
            ).toEqual([['GET', facts.path, `Bearer ${KEY}`]]);
          }
          for (const r of fake.requests) {
            if (facts.query) expect(r.url.split('?')[1] ?? '').toMatch(facts.query);
            expect(r.url).not.toContain(KEY);
          }
        },
      };
    },
    situations: {
      unauthorized: refused(401),
      forbidden: refused(403),
      'server-error-html': {
        arrange: () =>
          at({
            status: 502,
            headers: { 'content-type': 'text/html' },
            body: '<html><body><h1>502 Bad Gateway</h1></body></html>',
          }),
        reason: new RegExp(`^${facts.api} returned HTTP 502 with a non-JSON body$`),
      },
      'malformed-json': {
        arrange: () => at({ body: '{"data": {"balance": ', headers: { 'content-type': 'application/json' } }),
        reason: /^response body is not valid JSON$/,
      },
      'empty-body': { arrange: () => at({ body: '' }), reason: /^response body is empty$/ },
      hang: {
        arrange: () => at({ delayMs: 60_000, json: facts.documented }),
        reason: new RegExp(`^no answer within ${TIMEOUT_MS} ms$`),
      },
      refused: {
        async arrange() {
          const port = await getClosedPort();
          return { provider: facts.create(`http://127.0.0.1:${port}`, KEY, TIMEOUT_MS) };
        },
        reason: /^cannot connect to 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/,
      },
      oversized: {
        arrange: () => at({ body: `${JSON.stringify(facts.documented)}${' '.repeat(MIB)}` }),
        reason: /^response body is larger than 1048576 bytes$/,
      },
      endless: {
        async arrange() {
          const arranged = await at({ endless: true });
          return {
            ...arranged,
            verify() {
              // Refused at the cap, long before the timeout, and far from all of an endless body.
              expect(fake.bytesSent).toBeLessThan(16 * MIB);
            },
          };
        },
        reason: /^response body is larger than 1048576 bytes$/,
      },
      redirect: {
        async arrange() {
          elsewhere.requests.length = 0;
          const arranged = await at({
            status: 302,
            headers: { location: `http://localhost:${elsewhere.port}${facts.path}` },
          });
          return {
            ...arranged,
            verify() {
              expect(elsewhere.requests).toEqual([]);
            },
          };
        },
        reason: new RegExp(
          `^${facts.api} answered HTTP 302, a redirect to http://localhost:\\d+; not followed, since the API key would go with it`,
        ),
      },
    },
    wrongTypes: facts.wrongTypes.map(({ name, json, reason }) => ({
      name,
      arrange: () => at({ json }),
      reason,
    })),
    echoesSecret: () =>
      at(
        {
          status: 401,
          json: { error: { message: `key ${KEY} is not valid; sent Authorization: Bearer ${KEY}` } },
        },
        facts.alsoAnswers?.(401) ?? {},
      ),
  };
}
