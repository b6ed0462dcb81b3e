import { type Amount, Big } from '../../core/money.js';
import type { Redactor } from '../../core/redact.js';
import type { DailySpend } from '../../core/types.js';
import { amountField, type HttpGet, isFailure, isRecord, type JsonObject, jsonObject, kind } from './http.js';
import type { Failure } from './shared.js';

/**
 * The Admin APIs' daily cost reports (issue 13): Anthropic's `cost_report` and OpenAI's `costs`, read into
 * exact spend per UTC day, paged while the server says there is more, with a guard against one that never
 * stops.
 */

export const ANTHROPIC_COST_PATH = '/v1/organizations/cost_report';
export const OPENAI_COSTS_PATH = '/v1/organization/costs';
/** Buckets asked for per page (both APIs' maximum for daily buckets is at least 31). */
export const COST_PAGE_LIMIT = 31;
/**
 * The most pages one check reads. A month takes one page and a check after the cache is warm two days; a
 * server that keeps answering `has_more` past this is refused rather than followed for ever.
 */
export const MAX_COST_PAGES = 24;
/** Anthropic's API version header, as its Admin API documents it. */
export const ANTHROPIC_VERSION = '2023-06-01';
/**
 * Completed UTC days asked again at every check, besides today: the Admin APIs fill in and revise recent days'
 * costs after the fact (usage is billed late), so yesterday and the day before are never taken from the cache.
 * A day is cached once it is older than that; a revision after then is seen only after a restart.
 */
export const COST_RECHECK_DAYS = 2;

const DAY_MS = 86_400_000;
const CENTS = new Big(100);
const ZERO = new Big(0);

/** Which Admin API a cost source reads. */
export type CostApi = 'anthropic' | 'openai';

/** How reasons name each API. */
export const COST_API_NAME: Readonly<Record<CostApi, string>> = {
  anthropic: 'Anthropic Admin API',
  openai: 'OpenAI Admin API',
};

/** The headers each API takes the Admin key in. */
export function costAuthHeaders(api: CostApi): (key: string) => Readonly<Record<string, string>> {
  return api === 'anthropic'
    ? (key) => ({ 'x-api-key': key, 'anthropic-version': ANTHROPIC_VERSION })
    : (key) => ({ authorization: `Bearer ${key}` });
}

/** `2026-11-21` for any moment of that UTC day. */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** 00:00 UTC of the day `date` falls on. */
export function startOfUtcDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

/** `2026-11-01T00:00:00Z`: RFC 3339 without milliseconds. */
function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/**
 * Completed days' costs, per cost source (one per provider instance, kept in memory: a restart asks the
 * month again once). Only days before the last {@link COST_RECHECK_DAYS} completed ones are kept.
 */
export class CostCache {
  private readonly days = new Map<string, Amount>();
  get(day: string): Amount | undefined {
    return this.days.get(day);
  }
  set(day: string, amount: Amount): void {
    this.days.set(day, amount);
  }
}

/**
 * Spend per UTC day from the day of `from` through the day of `now` (today as reported so far), oldest first,
 * every day listed (0 where the report has no bucket or an empty one). Days the cache holds are not asked
 * again; the rest — at least today and the last {@link COST_RECHECK_DAYS} completed days — are asked in one
 * range, page after page.
 */
export async function dailySpend(
  api: CostApi,
  get: HttpGet,
  redactor: Redactor,
  cache: CostCache,
  from: Date,
  now: Date,
): Promise<DailySpend[] | Failure> {
  const first = startOfUtcDay(from);
  const end = new Date(startOfUtcDay(now).getTime() + DAY_MS);
  const days: Date[] = [];
  for (let t = first.getTime(); t < end.getTime(); t += DAY_MS) days.push(new Date(t));
  // Nothing to ask for an anchor dated after today (a clock ahead of ours).
  if (days.length === 0) return [];
  // Days from here on are asked at every check and never cached; today always is, so some day is asked.
  const recheckFrom = end.getTime() - (COST_RECHECK_DAYS + 1) * DAY_MS;
  const missing = days.findIndex((d) => d.getTime() >= recheckFrom || cache.get(utcDay(d)) === undefined);
  const costs = await fetchDailyCosts(api, get, redactor, days[missing] as Date, end);
  if (isFailure(costs)) return costs;
  for (const d of days.slice(missing)) {
    const day = utcDay(d);
    if (d.getTime() < recheckFrom) cache.set(day, costs.get(day) ?? ZERO);
  }
  // Days asked now are as the report says (0 without a bucket), the ones before from the cache.
  return days.map((d, i) => {
    const day = utcDay(d);
    return { day, amount: (i >= missing ? costs.get(day) : cache.get(day)) ?? ZERO };
  });
}

/** The cost per UTC day in `[from, to)` (day-aligned), summed over every result of each day's bucket. */
export async function fetchDailyCosts(
  api: CostApi,
  get: HttpGet,
  redactor: Redactor,
  from: Date,
  to: Date,
): Promise<Map<string, Amount> | Failure> {
  const name = COST_API_NAME[api];
  const base =
    api === 'anthropic'
      ? `${ANTHROPIC_COST_PATH}?starting_at=${encodeURIComponent(rfc3339(from))}&ending_at=${encodeURIComponent(rfc3339(to))}&bucket_width=1d&limit=${COST_PAGE_LIMIT}`
      : `${OPENAI_COSTS_PATH}?start_time=${Math.floor(from.getTime() / 1000)}&end_time=${Math.floor(to.getTime() / 1000)}&bucket_width=1d&limit=${COST_PAGE_LIMIT}`;
  const totals = new Map<string, Amount>();
  const seen = new Set<string>();
  let page: string | undefined;
  for (let n = 1; ; n++) {
    const reply = await get(page === undefined ? base : `${base}&page=${encodeURIComponent(page)}`);
    if (isFailure(reply)) return reply;
    const json = jsonObject(name, reply, redactor);
    if (isFailure(json)) return json;
    const data = json.data;
    if (!Array.isArray(data)) {
      return {
        ok: false,
        reason: data === undefined ? 'data is missing' : `data is not an array (got ${kind(data)})`,
      };
    }
    for (const [index, bucket] of data.entries()) {
      const read = api === 'anthropic' ? anthropicBucket(bucket, index) : openAiBucket(bucket, index);
      if (isFailure(read)) return read;
      totals.set(read.day, (totals.get(read.day) ?? ZERO).plus(read.amount));
    }
    if (json.has_more !== true) {
      if (json.has_more !== false && json.has_more !== undefined) {
        return { ok: false, reason: `has_more is not a boolean (got ${kind(json.has_more)})` };
      }
      return totals;
    }
    const next = json.next_page;
    if (typeof next !== 'string' || next === '') {
      return { ok: false, reason: `has_more is true but next_page is not a page token (got ${kind(next)})` };
    }
    if (seen.has(next)) return { ok: false, reason: `${name} gave the same next_page twice; stopped paging` };
    if (n >= MAX_COST_PAGES) {
      return { ok: false, reason: `${name} still had more after ${MAX_COST_PAGES} pages; stopped paging` };
    }
    seen.add(next);
    page = next;
  }
}

interface BucketCost {
  readonly day: string;
  readonly amount: Amount;
}

function resultsOf(bucket: JsonObject, path: string): unknown[] | Failure {
  const results = bucket.results;
  if (Array.isArray(results)) return results;
  return {
    ok: false,
    reason:
      results === undefined
        ? `${path}.results is missing`
        : `${path}.results is not an array (got ${kind(results)})`,
  };
}

function usdOnly(currency: unknown, path: string): Failure | undefined {
  if (currency === undefined || (typeof currency === 'string' && currency.toUpperCase() === 'USD')) return;
  const shown = typeof currency === 'string' ? JSON.stringify(currency.slice(0, 12)) : kind(currency);
  return { ok: false, reason: `${path} is not USD (got ${shown})` };
}

/** `{starting_at, ending_at, results:[{amount: "123.45" (cents), currency, …}]}`. */
function anthropicBucket(bucket: unknown, index: number): BucketCost | Failure {
  const path = `data[${index}]`;
  if (!isRecord(bucket)) return { ok: false, reason: `${path} is not an object (got ${kind(bucket)})` };
  const start = bucket.starting_at;
  const at = typeof start === 'string' ? new Date(start) : undefined;
  if (at === undefined || Number.isNaN(at.getTime())) {
    return { ok: false, reason: `${path}.starting_at is not a time (got ${kind(start)})` };
  }
  const results = resultsOf(bucket, path);
  if (isFailure(results)) return results;
  let amount = ZERO;
  for (const [i, result] of results.entries()) {
    const rpath = `${path}.results[${i}]`;
    if (!isRecord(result)) return { ok: false, reason: `${rpath} is not an object (got ${kind(result)})` };
    const wrongCurrency = usdOnly(result.currency, `${rpath}.currency`);
    if (wrongCurrency) return wrongCurrency;
    // A decimal string in cents: "123.45" is $1.2345.
    const cents = amountField(result, 'amount', 'string', `${rpath}.amount`);
    if (isFailure(cents)) return cents;
    amount = amount.plus(cents.div(CENTS));
  }
  return { day: utcDay(at), amount };
}

/** `{start_time, end_time, results:[{amount:{value, currency}, line_item, project_id}]}`. */
function openAiBucket(bucket: unknown, index: number): BucketCost | Failure {
  const path = `data[${index}]`;
  if (!isRecord(bucket)) return { ok: false, reason: `${path} is not an object (got ${kind(bucket)})` };
  const start = bucket.start_time;
  if (typeof start !== 'number' || !Number.isFinite(start)) {
    return { ok: false, reason: `${path}.start_time is not a Unix time (got ${kind(start)})` };
  }
  const results = resultsOf(bucket, path);
  if (isFailure(results)) return results;
  let amount = ZERO;
  for (const [i, result] of results.entries()) {
    const rpath = `${path}.results[${i}]`;
    if (!isRecord(result)) return { ok: false, reason: `${rpath} is not an object (got ${kind(result)})` };
    const cost = result.amount;
    if (!isRecord(cost)) {
      return { ok: false, reason: `${rpath}.amount is not an object (got ${kind(cost)})` };
    }
    const wrongCurrency = usdOnly(cost.currency, `${rpath}.amount.currency`);
    if (wrongCurrency) return wrongCurrency;
    // Documented as a JSON number; a decimal string is read exactly too.
    const value = amountField(
      cost,
      'value',
      typeof cost.value === 'string' ? 'string' : 'number',
      `${rpath}.amount.value`,
    );
    if (isFailure(value)) return value;
    amount = amount.plus(value);
  }
  return { day: utcDay(new Date(start * 1000)), amount };
}
