import type { Agent, Dispatcher } from 'undici';
import { type Amount, implausibleReason, parseAmount } from '../../core/money.js';
import { type Redactor, redactor as redactorFor } from '../../core/redact.js';
import type { BalanceProvider, ProviderId } from '../../core/types.js';
import {
  boundedCheck,
  type CheckSettings,
  clip,
  errorCode,
  errorText,
  type Failure,
  type Figures,
} from './shared.js';

/** The largest reply body read; a larger one is refused (a balance reply is a few hundred bytes). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Options shared by every HTTP provider's factory. */
export interface HttpProviderOptions extends CheckSettings {
  /** API origin, optionally with a path prefix (`https://openrouter.ai/api`); a trailing `/v1` is dropped. */
  readonly baseUrl: string;
  readonly apiKey: string;
  /** Sent through instead of the provider's own keep-alive Agent; the caller owns and closes it. */
  readonly dispatcher?: Dispatcher;
}

/** A reply read in full (at most {@link MAX_BODY_BYTES}). */
export interface HttpReply {
  readonly status: number;
  readonly body: string;
}

/** Issues a GET relative to the base URL (`/user/balance`) with the key; never follows a redirect. */
export type HttpGet = (path: string) => Promise<HttpReply | Failure>;

/** What a provider's `read` has: the requests of its check, and the redactor its reasons go through. */
export interface HttpRead {
  readonly get: HttpGet;
  /** `get`, then the reply's JSON object ({@link jsonObject}): the one read of most providers. */
  readonly getJson: (path: string) => Promise<JsonObject | Failure>;
  readonly redactor: Redactor;
}

/** What is particular to one HTTP provider. */
export interface HttpProviderSpec<Success extends { readonly ok: true }> {
  readonly id: ProviderId;
  /** How reasons name the service: `DeepSeek API`. */
  readonly api: string;
  /** The headers that carry the key; default `authorization: Bearer <key>`. */
  readonly authHeaders?: (apiKey: string) => Readonly<Record<string, string>>;
  /** Reads the balance (one request, or more for a fallback). A throw becomes a transport failure. */
  readonly read: (http: HttpRead) => Promise<Success | Failure>;
  readonly figures: (success: Success, checkedAt: Date) => Figures;
}

/** The requests of one check: `get`, and the reasons for a rejected `get` or a deadline that passed. */
export interface HttpSession {
  readonly get: HttpGet;
  /** The reason for an error `get` threw (DNS, connect, TLS, reset, aborted), redacted. */
  fail(error: unknown): string;
  /** Aborts what is in flight and says why (`no answer within 1000 ms`). */
  timeout(): string;
}

/** The bounded HTTP path without the check around it: for a caller that runs its own check (Claude's estimate). */
export interface HttpRequester {
  /** Starts one check's requests; every request of the session is aborted by its `timeout()`. */
  session(): HttpSession;
  readonly redactor: Redactor;
  close(): Promise<void>;
}

/** What {@link createHttpRequester} needs. */
export interface HttpRequesterOptions {
  readonly id: ProviderId;
  readonly api: string;
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly timeoutMs: number;
  readonly dispatcher?: Dispatcher;
  readonly authHeaders?: (apiKey: string) => Readonly<Record<string, string>>;
}

/**
 * The shared HTTP request path: one keep-alive undici Agent (loaded on the first request), bodies over
 * {@link MAX_BODY_BYTES} refused without being read, redirects never followed (the key would go with them),
 * transport errors named (DNS, connect, TLS, reset), and the key removed from every reason.
 */
export function createHttpRequester(options: HttpRequesterOptions): HttpRequester {
  const { apiKey, timeoutMs, api } = options;
  const base = baseOf(options.id, options.baseUrl);
  const target = hostLabel(base);
  // undici's own timeouts are a backstop; the check's deadline is what normally ends a slow check.
  const backstopMs = timeoutMs + 1000;
  let ownAgent: Promise<Agent> | undefined;
  const dispatcher = (): Promise<Dispatcher> => {
    if (options.dispatcher) return Promise.resolve(options.dispatcher);
    ownAgent ??= import('undici').then(
      ({ Agent }) =>
        new Agent({
          keepAliveTimeout: 30_000,
          connect: { timeout: backstopMs },
          headersTimeout: backstopMs,
          bodyTimeout: backstopMs,
        }),
    );
    return ownAgent;
  };
  // The key, and any bearer token a server echoes back (redact's shapes).
  const redactor = redactorFor([apiKey]);
  const auth = options.authHeaders?.(apiKey) ?? { authorization: `Bearer ${apiKey}` };

  return {
    redactor,
    session() {
      const controller = new AbortController();
      // The status of the request whose headers came last, for reasons about an unfinished body.
      const progress: { status: number | undefined } = { status: undefined };
      const get: HttpGet = async (path) => {
        progress.status = undefined;
        const client = await dispatcher();
        const response = await client.request({
          origin: base.origin,
          path: `${base.pathname.replace(/\/+$/, '')}${path}`,
          method: 'GET',
          headers: {
            ...auth,
            accept: 'application/json',
            'user-agent': 'creditwatch',
          },
          signal: controller.signal,
        });
        progress.status = response.statusCode;
        if (response.statusCode >= 300 && response.statusCode < 400) {
          discard(response.body);
          return { ok: false, reason: redirectReason(api, response.statusCode, response.headers, base) };
        }
        const declared = Number(header(response.headers, 'content-length'));
        if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
          discard(response.body);
          return { ok: false, reason: `response body is larger than ${MAX_BODY_BYTES} bytes` };
        }
        const body = await readCapped(response.body);
        if (body === undefined)
          return { ok: false, reason: `response body is larger than ${MAX_BODY_BYTES} bytes` };
        return { status: response.statusCode, body };
      };
      return {
        get,
        fail: (error) => transportReason(error, target, timeoutMs, progress.status, redactor),
        timeout() {
          // Ends the request; its rejection is never read (the deadline has already given the reason).
          controller.abort();
          return timeoutReason(timeoutMs, progress.status);
        },
      };
    },
    async close() {
      const agent = await ownAgent?.catch(() => undefined);
      await agent?.close().catch(() => undefined);
    },
  };
}

/**
 * A provider that reads a JSON balance over HTTPS with a bearer key (or the headers `authHeaders` gives): the
 * {@link createHttpRequester} path, every request of a check bounded by `timeoutMs` together.
 */
export function createHttpProvider<Success extends { readonly ok: true }>(
  options: HttpProviderOptions,
  spec: HttpProviderSpec<Success>,
): BalanceProvider {
  const { apiKey, currency, timeoutMs } = options;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(`${spec.id} timeoutMs must be a positive number of milliseconds (got ${timeoutMs})`);
  }
  const requester = createHttpRequester({
    id: spec.id,
    api: spec.api,
    baseUrl: options.baseUrl,
    apiKey,
    timeoutMs,
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    ...(spec.authHeaders ? { authHeaders: spec.authHeaders } : {}),
  });
  const { redactor } = requester;
  let closed = false;

  const check = boundedCheck<Success>(spec.id, options, {
    isClosed: () => closed,
    redactor,
    begin() {
      const session = requester.session();
      return {
        run: () =>
          spec.read({
            get: session.get,
            async getJson(path) {
              const reply = await session.get(path);
              return isFailure(reply) ? reply : jsonObject(spec.api, reply, redactor);
            },
            redactor,
          }),
        fail: session.fail,
        timeout: session.timeout,
      };
    },
    figures: spec.figures,
  });

  return {
    id: options.accountId ?? spec.id,
    currency,
    check,
    async close() {
      if (closed) return;
      closed = true;
      await requester.close();
    },
  };
}

function baseOf(id: string, baseUrl: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new TypeError(`${id} baseUrl is not a valid URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TypeError(`${id} baseUrl must be http(s) (got ${parsed.protocol})`);
  }
  // The OpenAI-style base URL (`…/v1`) people copy from their SDK settings names the same API. Only the
  // origin and this path are used: a query or fragment in the base URL is never sent.
  parsed.pathname = parsed.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  return parsed;
}

/** `host:port`, the way reasons name a server. */
export function hostLabel(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${url.hostname}:${port}`;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Says where a redirect pointed (origin only: a path or query could carry anything) and that it was refused. */
function redirectReason(
  api: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  base: URL,
): string {
  const location = header(headers, 'location');
  let where = 'without a Location';
  if (location !== undefined) {
    try {
      const to = new URL(location, base);
      where = to.origin === base.origin ? `to another path on ${to.host}` : `to ${to.protocol}//${to.host}`;
    } catch {
      where = 'to an invalid Location';
    }
  }
  return `${api} answered HTTP ${status}, a redirect ${where}; not followed, since the API key would go with it (check the base URL)`;
}

/** Drops a body unread: the connection is closed rather than drained (the abort error is expected). */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** Reads at most {@link MAX_BODY_BYTES}; `undefined` (and the rest left unread) when the body is larger. */
async function readCapped(body: AsyncIterable<Buffer>): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Returning from inside `for await` ends the iterator, which destroys the stream: the rest is never read.
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function timeoutReason(timeoutMs: number, status: number | undefined): string {
  return status === undefined
    ? `no answer within ${timeoutMs} ms`
    : `reply not complete within ${timeoutMs} ms (HTTP ${status} headers received, body unfinished)`;
}

function transportReason(
  error: unknown,
  target: string,
  timeoutMs: number,
  status: number | undefined,
  redactor: Redactor,
): string {
  const code = errorCode(error);
  switch (code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return `cannot connect to ${target} (${code})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve ${target.replace(/:\d+$/, '')} (${code})`;
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `cannot connect to ${target} within ${timeoutMs} ms`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_ABORTED':
    case 'ABORT_ERR':
      return timeoutReason(timeoutMs, status);
    case 'UND_ERR_SOCKET':
    case 'ECONNRESET':
    case 'EPIPE':
      return status === undefined
        ? `connection to ${target} closed before a reply (${code})`
        : `connection to ${target} closed before the reply was complete (HTTP ${status}, ${code})`;
    default:
      if (
        code?.startsWith('ERR_TLS') ||
        code?.startsWith('ERR_SSL') ||
        code?.startsWith('CERT_') ||
        code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
        code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
        code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
      ) {
        return `TLS handshake with ${target} failed (${code})`;
      }
      return `request to ${target} failed: ${errorText(error, redactor)}${code ? ` (${code})` : ''}`;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reading a JSON reply

/** A JSON object from a reply, or why there is none. */
export type JsonObject = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `null`, `array`, `string`, …: how reasons name a value's type. */
export function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * The error message in a provider's error body: `{"error":{"message","type"}}` (OpenAI style), `{"error":"…"}`,
 * or a top-level `message`, `msg` or `reason`; clipped and redacted.
 */
export function errorMessage(json: unknown, redactor: Redactor): string | undefined {
  if (!isRecord(json)) return undefined;
  const error = json.error;
  if (isRecord(error)) {
    const message = typeof error.message === 'string' ? clip(error.message, redactor) : undefined;
    const type = typeof error.type === 'string' ? clip(error.type, redactor) : undefined;
    if (message && type) return `${message} (${type})`;
    // An empty or blank message beside a type still names the error by its type.
    if (message || type) return message || type;
  }
  if (typeof error === 'string' && error.trim() !== '') return clip(error, redactor);
  for (const key of ['message', 'msg', 'reason'] as const) {
    const value = json[key];
    if (typeof value === 'string' && value.trim() !== '') return clip(value, redactor);
  }
  return undefined;
}

/** The body as JSON (`undefined` when empty, {@link NOT_JSON} when it does not parse). */
const NOT_JSON = Symbol('not JSON');
function parseBody(body: string): unknown {
  if (body.trim() === '') return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return NOT_JSON;
  }
}

/** Why a non-200 reply is a failure: `DeepSeek API returned HTTP 401: Authentication Fails (authentication_error)`. */
export function statusFailure(api: string, reply: HttpReply, redactor: Redactor): Failure {
  const prefix = `${api} returned HTTP ${reply.status}`;
  const json = parseBody(reply.body);
  if (json === undefined) return { ok: false, reason: `${prefix} with an empty body` };
  if (json === NOT_JSON) return { ok: false, reason: `${prefix} with a non-JSON body` };
  const message = errorMessage(json, redactor);
  return { ok: false, reason: message ? `${prefix}: ${message}` : `${prefix} without an error message` };
}

/**
 * The JSON object of an HTTP 200 reply; any other status, an empty or malformed body, or JSON that is not an
 * object is a failure that says which.
 */
export function jsonObject(api: string, reply: HttpReply, redactor: Redactor): JsonObject | Failure {
  if (reply.status !== 200) return statusFailure(api, reply, redactor);
  const json = parseBody(reply.body);
  if (json === undefined) return { ok: false, reason: 'response body is empty' };
  if (json === NOT_JSON) return { ok: false, reason: 'response body is not valid JSON' };
  if (!isRecord(json)) return { ok: false, reason: `response body is not a JSON object (got ${kind(json)})` };
  return json;
}

export function isFailure(value: unknown): value is Failure {
  return isRecord(value) && value.ok === false && typeof value.reason === 'string';
}

/** The object at `name` in `parent` (`data`), or a failure naming it. */
export function objectField(parent: JsonObject, name: string, path = name): JsonObject | Failure {
  const value = parent[name];
  if (value === undefined) return { ok: false, reason: `response has no ${path} object` };
  if (!isRecord(value)) return { ok: false, reason: `${path} is not an object (got ${kind(value)})` };
  return value;
}

/**
 * An exact amount from a field the provider documents as a JSON `number` or as a decimal `string`; any other
 * type, `null` or absence is a failure naming the field. A JSON number is taken as its shortest round-trip
 * text (what the provider sent, for every figure of up to 15 significant digits); Infinity (`1e400`) is
 * implausible. `scale` divides the figure (Novita counts in 1/10,000 USD).
 */
export function amountField(
  parent: JsonObject,
  name: string,
  type: 'number' | 'string',
  path = name,
  scale?: Amount,
): Amount | Failure {
  const value = parent[name];
  if (value === undefined) return { ok: false, reason: `${path} is missing` };
  if (value === null) return { ok: false, reason: `${path} is null` };
  if (typeof value !== type) {
    return {
      ok: false,
      reason: `${path} is not a ${type === 'number' ? 'number' : 'decimal string'} (got ${kind(value)})`,
    };
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return { ok: false, reason: implausibleReason(path, String(value)) };
  }
  let amount: Amount;
  try {
    amount = parseAmount(value as string | number);
  } catch {
    return {
      ok: false,
      reason: `${path} is not a decimal number (got ${JSON.stringify(value).slice(0, 40)})`,
    };
  }
  return scale === undefined ? amount : amount.div(scale);
}
