import { Agent, type Dispatcher } from 'undici';
import { type Amount, type Currency, implausibleReason, parseAmount } from '../money.js';
import { type Redactor, redactor as redactorFor } from '../redact.js';
import type { BalanceProvider } from '../types.js';
import { boundedCheck, clip, errorCode, errorText, type Failure } from './shared.js';

/** Options for {@link createKimiProvider}. */
export interface KimiProviderOptions {
  /**
   * Moonshot API origin, e.g. `https://api.moonshot.ai` (USD) or `https://api.moonshot.cn` (CNY).
   * A trailing `/v1` (the OpenAI-style base URL) is accepted and dropped.
   */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly currency: Currency;
  /** Upper bound for one whole check: connect, headers and body. */
  readonly timeoutMs: number;
  /** Sent through instead of the provider's own keep-alive Agent; the caller owns and closes it. */
  readonly dispatcher?: Dispatcher;
  readonly now?: () => Date;
}

/** Path of Moonshot's balance endpoint, relative to the origin. */
export const KIMI_BALANCE_PATH = '/v1/users/me/balance';

const MAX_BODY_BYTES = 1024 * 1024;
const BALANCE_FIELDS = ['available_balance', 'voucher_balance', 'cash_balance'] as const;

interface Reading {
  readonly ok: true;
  readonly available: Amount;
  readonly voucher: Amount;
  readonly cash: Amount;
}
type Outcome = Reading | Failure;

/**
 * Reads the Moonshot (Kimi) balance from `GET {baseUrl}/v1/users/me/balance`.
 * `check()` never throws and settles within `timeoutMs`; a reading needs HTTP 200, JSON, `code === 0` and
 * three finite numbers, anything else is a failure whose reason never contains the API key.
 */
export function createKimiProvider(options: KimiProviderOptions): BalanceProvider {
  const { apiKey, currency, timeoutMs } = options;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(`kimi timeoutMs must be a positive number of milliseconds (got ${timeoutMs})`);
  }
  const url = balanceUrl(options.baseUrl);
  const target = hostLabel(url);
  const { origin, pathname, search } = new URL(url);
  // undici's own timeouts are a backstop; the deadline below is what normally ends a slow check.
  const backstopMs = timeoutMs + 1000;
  const ownAgent = options.dispatcher
    ? undefined
    : new Agent({
        keepAliveTimeout: 30_000,
        connect: { timeout: backstopMs },
        headersTimeout: backstopMs,
        bodyTimeout: backstopMs,
      });
  const dispatcher: Dispatcher = options.dispatcher ?? (ownAgent as Agent);
  // The key, and any bearer token a server echoes back (redact's shapes).
  const redactor = redactorFor([apiKey]);
  let closed = false;

  async function attempt(signal: AbortSignal, progress: { headers: number | undefined }): Promise<Outcome> {
    // The dispatcher's own request (documented Dispatcher API), not undici's top-level helper.
    const response = await dispatcher.request({
      origin,
      path: `${pathname}${search}`,
      method: 'GET',
      headers: {
        authorization: `Bearer ${apiKey}`,
        accept: 'application/json',
        'user-agent': 'creditwatch',
      },
      signal,
    });
    progress.headers = response.statusCode;
    const body = await readBody(response.body);
    if (body === undefined) {
      return { ok: false, reason: `response body is larger than ${MAX_BODY_BYTES} bytes` };
    }
    return interpret(response.statusCode, body, redactor);
  }

  const check = boundedCheck<Reading>('kimi', options, {
    isClosed: () => closed,
    redactor,
    begin() {
      const controller = new AbortController();
      const progress: { headers: number | undefined } = { headers: undefined };
      return {
        run: () => attempt(controller.signal, progress),
        fail: (error) => describeTransportError(error, target, timeoutMs, progress.headers, redactor),
        timeout() {
          controller.abort(new Error(`kimi check exceeded ${timeoutMs} ms`));
          return timeoutReason(timeoutMs, progress.headers);
        },
      };
    },
    figures: ({ available, voucher, cash }, checkedAt) => ({ available, voucher, cash, asOf: checkedAt }),
  });

  return {
    id: 'kimi',
    currency,
    check,
    async close() {
      if (closed) return;
      closed = true;
      await ownAgent?.close().catch(() => undefined);
    },
  };
}

function balanceUrl(baseUrl: string): string {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new TypeError('kimi baseUrl is not a valid URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TypeError(`kimi baseUrl must be http(s) (got ${parsed.protocol})`);
  }
  const path = parsed.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  return `${parsed.origin}${path}${KIMI_BALANCE_PATH}`;
}

function hostLabel(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
  return `${parsed.hostname}:${port}`;
}

/** Reads at most MAX_BODY_BYTES; `undefined` when the body is larger. */
async function readBody(body: AsyncIterable<Buffer>): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function interpret(status: number, body: string, redactor: Redactor): Outcome {
  const empty = body.trim() === '';
  let json: unknown;
  let isJson = false;
  if (!empty) {
    try {
      json = JSON.parse(body);
      isJson = true;
    } catch {
      isJson = false;
    }
  }

  if (status !== 200) {
    const prefix = `Moonshot API returned HTTP ${status}`;
    if (empty) return { ok: false, reason: `${prefix} with an empty body` };
    if (!isJson) return { ok: false, reason: `${prefix} with a non-JSON body` };
    const message = providerMessage(json, redactor);
    return { ok: false, reason: message ? `${prefix}: ${message}` : `${prefix} without an error message` };
  }

  if (empty) return { ok: false, reason: 'response body is empty' };
  if (!isJson) return { ok: false, reason: 'response body is not valid JSON' };
  if (!isRecord(json)) return { ok: false, reason: `response body is not a JSON object (got ${kind(json)})` };

  if (json.code !== 0) {
    const message = providerMessage(json, redactor);
    if (json.code === undefined) {
      return {
        ok: false,
        reason: message ? `Moonshot API returned an error: ${message}` : 'response has no code field',
      };
    }
    const code =
      typeof json.code === 'number' ? String(json.code) : clip(JSON.stringify(json.code), redactor);
    return { ok: false, reason: `Moonshot API returned code ${code}${message ? `: ${message}` : ''}` };
  }

  const data = json.data;
  if (!isRecord(data)) return { ok: false, reason: 'response has no data object' };
  const values: Amount[] = [];
  for (const field of BALANCE_FIELDS) {
    const value = data[field];
    if (value === undefined) return { ok: false, reason: `data.${field} is missing` };
    if (value === null) return { ok: false, reason: `data.${field} is null` };
    if (typeof value !== 'number')
      return { ok: false, reason: `data.${field} is not a number (got ${kind(value)})` };
    // JSON.parse turns 1e400 into Infinity: beyond any real balance, like the finite ones shared.ts refuses.
    if (!Number.isFinite(value))
      return { ok: false, reason: implausibleReason(`data.${field}`, String(value)) };
    values.push(parseAmount(String(value)));
  }
  const [available, voucher, cash] = values as [Amount, Amount, Amount];
  return { ok: true, available, voucher, cash };
}

/** Moonshot's `{"error":{"message","type"}}`, or a top-level `message`/`msg`, clipped. */
function providerMessage(json: unknown, redactor: Redactor): string | undefined {
  if (!isRecord(json)) return undefined;
  const error = json.error;
  if (isRecord(error)) {
    const message = typeof error.message === 'string' ? clip(error.message, redactor) : undefined;
    const type = typeof error.type === 'string' ? clip(error.type, redactor) : undefined;
    if (message && type) return `${message} (${type})`;
    return message ?? type;
  }
  if (typeof error === 'string' && error.trim() !== '') return clip(error, redactor);
  for (const key of ['message', 'msg'] as const) {
    const value = json[key];
    if (typeof value === 'string' && value.trim() !== '') return clip(value, redactor);
  }
  return undefined;
}

function timeoutReason(timeoutMs: number, status: number | undefined): string {
  return status === undefined
    ? `no answer within ${timeoutMs} ms`
    : `reply not complete within ${timeoutMs} ms (HTTP ${status} headers received, body unfinished)`;
}

function describeTransportError(
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
        code === 'DEPTH_ZERO_SELF_SIGNED_CERT'
      ) {
        return `TLS handshake with ${target} failed (${code})`;
      }
      return `request to ${target} failed: ${errorText(error, redactor)}${code ? ` (${code})` : ''}`;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
