import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { renderHistory } from '../../src/adapters/discord/commands/balance-history.js';
import { createBudgetProvider } from '../../src/adapters/providers/budget.js';
import { createClaudeEstimator } from '../../src/adapters/providers/claude-estimate.js';
import { MAX_COST_PAGES } from '../../src/adapters/providers/cost-report.js';
import { ConfigError, loadConfig } from '../../src/core/config.js';
import { formatSummary, summaryToJson } from '../../src/core/format.js';
import { Insight } from '../../src/core/insight.js';
import { Big } from '../../src/core/money.js';
import type { BalanceProvider, CheckResult } from '../../src/core/types.js';
import { createCore } from '../../src/entry/app.js';
import { runwayClauses } from '../../src/entry/jobs/summary.js';
import { captureLogs } from '../support/log-capture.js';
import {
  ANTHROPIC_ERROR,
  anthropicBucket,
  anthropicCostReport,
  openAiBucket,
  openAiCosts,
} from '../support/provider-replies.js';

/**
 * The budget accounts (issue 13) against a local server that pages the documented cost reports the way the
 * Admin APIs do: `page` carries the token of the previous page's `next_page`.
 */
const KEY = 'sk-ant-admin01-SECRET-budget-9f';

interface Request {
  readonly path: string;
  readonly query: URLSearchParams;
}
type Handler = (req: Request) => { status?: number; json?: unknown; hang?: boolean };

let server: Server;
let url: string;
let handler: Handler = () => ({ status: 404, json: {} });
const requests: Request[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const parsed = new URL(req.url ?? '/', 'http://x');
    const request = { path: parsed.pathname, query: parsed.searchParams };
    requests.push(request);
    const answer = handler(request);
    if (answer.hang) return;
    const body = JSON.stringify(answer.json ?? {});
    res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const open: BalanceProvider[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
  requests.length = 0;
  handler = () => ({ status: 404, json: {} });
});

function budget(api: 'openai' | 'anthropic', clock: () => Date, timeoutMs = 2_000): BalanceProvider {
  const p = createBudgetProvider({
    baseUrl: url,
    apiKey: KEY,
    timeoutMs,
    currency: 'USD',
    id: api,
    api,
    budget: new Big(200),
    now: clock,
  });
  open.push(p);
  return p;
}

function reading(result: CheckResult) {
  if (!result.ok) throw new Error(`expected a reading, got: ${result.reason}`);
  return result;
}
function failure(result: CheckResult): string {
  if (result.ok) throw new Error(`expected a failure, got ${result.available.toString()}`);
  expect(result.reason).not.toContain(KEY);
  return result.reason;
}

const days = (from: number, to: number, month = '2026-11') =>
  Array.from({ length: to - from + 1 }, (_, i) => `${month}-${String(from + i).padStart(2, '0')}`);

/** Serves `all` buckets 7 to a page (both APIs' default page size), the token naming the next index. */
function paged<B>(all: readonly B[], wrap: (page: B[], next: string | null) => unknown, size = 7): Handler {
  return ({ query }) => {
    const start = Number(query.get('page') ?? '0');
    const end = start + size;
    return { json: wrap(all.slice(start, end), end < all.length ? String(end) : null) };
  };
}

/** The Anthropic cost report of `costs` (day → amounts in cents) from the asked-for day up to `now`'s day. */
function costsUpTo(costs: ReadonlyMap<string, string[]>, now: () => Date): Handler {
  return ({ query }) => {
    const from = (query.get('starting_at') ?? '').slice(0, 10);
    const today = now().toISOString().slice(0, 10);
    const buckets = [...costs].filter(([d]) => d >= from && d <= today);
    return { json: anthropicCostReport(buckets.map(([d, c]) => anthropicBucket(d, c))) };
  };
}
describe('budget accounts: cost reports read exactly, page after page', () => {
  it('GIVEN 21 days of OpenAI costs over 3 pages THEN every page is read and the month is summed exactly', async () => {
    // $0.10 a day from the 1st to the 21st, plus 0.2 on the 21st: 2.1 + 0.2 = $2.30 exactly.
    const buckets = days(1, 21).map((d) => openAiBucket(d, d === '2026-11-21' ? [0.1, 0.2] : [0.1]));
    handler = paged(buckets, openAiCosts);
    const r = reading(await budget('openai', () => new Date('2026-11-21T12:00:00Z')).check());
    expect(requests.map((q) => q.query.get('page'))).toEqual([null, '7', '14']);
    expect(requests.every((q) => q.path === '/v1/organization/costs')).toBe(true);
    expect([r.available.toString(), r.budget?.spent.toString(), r.note]).toEqual([
      '197.7',
      '2.3',
      'budget $200.00, $2.30 spent this month',
    ]);
    expect(r.spendByDay?.map((d) => d.amount.toString())).toEqual([...Array(20).fill('0.1'), '0.3']);
  });

  it('GIVEN Anthropic cents strings over 3 pages THEN the cents are dollars exactly, with 4 decimals kept', async () => {
    const buckets = days(1, 21).map((d) => anthropicBucket(d, ['123.45', '0.01']));
    handler = paged(buckets, anthropicCostReport);
    const r = reading(await budget('anthropic', () => new Date('2026-11-21T23:59:59Z')).check());
    expect(requests.map((q) => q.query.get('page'))).toEqual([null, '7', '14']);
    // 21 × 123.46 cents = 2592.66 cents = $25.9266.
    expect([r.available.toString(), r.budget?.spent.toString()]).toEqual(['174.0734', '25.9266']);
    expect(r.spendByDay?.[0]).toEqual({ day: '2026-11-01', amount: new Big('1.2346') });
  });

  it('GIVEN an empty bucket list THEN nothing was spent: the whole budget is left', async () => {
    handler = () => ({ json: anthropicCostReport([]) });
    const r = reading(await budget('anthropic', () => new Date('2026-11-03T08:00:00Z')).check());
    expect([r.available.toString(), r.note]).toEqual(['200', 'budget $200.00, $0.00 spent this month']);
    expect(r.spendByDay?.map((d) => d.day)).toEqual(['2026-11-01', '2026-11-02', '2026-11-03']);
  });

  it('GIVEN completed days were read once THEN the next check asks only from the first day not kept', async () => {
    let now = new Date('2026-11-21T12:00:00Z');
    const costs = new Map(days(1, 22).map((d) => [d, ['100']]));
    handler = costsUpTo(costs, () => now);
    const p = budget('anthropic', () => now);
    expect(reading(await p.check()).budget?.spent.toString()).toBe('21');
    expect(requests.map((q) => q.query.get('starting_at'))).toEqual(['2026-11-01T00:00:00Z']);
    // Late billing raises the 21st's figure: the days not kept when it was last asked (the 19th and 20th, the
    // two completed days then) are asked again with today, older days come from the cache.
    costs.set('2026-11-21', ['250']);
    now = new Date('2026-11-22T09:00:00Z');
    const r = reading(await p.check());
    expect(requests.map((q) => q.query.get('starting_at'))).toEqual([
      '2026-11-01T00:00:00Z',
      '2026-11-19T00:00:00Z',
    ]);
    expect(r.budget?.spent.toString()).toBe('23.5');
    expect(r.spendByDay?.length).toBe(22);
  });

  it('GIVEN Claude’s anchor 40 days back THEN the estimate pages through the cost report; an empty report is no spend', async () => {
    const estimator = createClaudeEstimator({ adminKey: KEY, baseUrl: url }, { timeoutMs: 2_000 });
    try {
      // $1 a day from Oct 12 through Nov 21, 7 buckets a page: 41 days on 6 pages.
      const all = [...days(12, 31, '2026-10'), ...days(1, 21)].map((d) => anthropicBucket(d, ['100']));
      handler = paged(all, anthropicCostReport);
      const now = new Date('2026-11-21T12:00:00Z');
      const anchorAt = new Date('2026-10-12T00:00:00Z');
      const outcome = await estimator.spendSince(anchorAt, now, performance.now() + 2_000);
      if (!outcome.ok) throw new Error(outcome.reason);
      expect(requests.map((q) => q.query.get('page'))).toEqual([null, '7', '14', '21', '28', '35']);
      expect([outcome.spentSince.toString(), outcome.days.length]).toEqual(['41', 41]);
      // No bucket at all after a new anchor today: nothing spent since it.
      handler = () => ({ json: anthropicCostReport([]) });
      const empty = await estimator.spendSince(
        new Date('2026-11-21T09:00:00Z'),
        now,
        performance.now() + 2_000,
      );
      expect(empty.ok && empty.spentSince.toString()).toBe('0');
    } finally {
      await estimator.close();
    }
  });

  it('GIVEN the cost report revises the day before yesterday THEN the next check picks it up without a restart; older days stay cached', async () => {
    let now = new Date('2026-11-21T12:00:00Z');
    const costs = new Map(days(1, 21).map((d) => [d, ['100']]));
    handler = costsUpTo(costs, () => now);
    const p = budget('anthropic', () => now);
    expect(reading(await p.check()).budget?.spent.toString()).toBe('21');
    // Late billing: the 19th (two completed days ago) and the 10th are revised; an hour later, same day.
    costs.set('2026-11-19', ['700']);
    costs.set('2026-11-10', ['900']);
    now = new Date('2026-11-21T13:00:00Z');
    const r = reading(await p.check());
    // The 19th, the 20th and today are asked again; the 10th is cached: its revision waits for a restart.
    expect(requests.map((q) => q.query.get('starting_at'))).toEqual([
      '2026-11-01T00:00:00Z',
      '2026-11-19T00:00:00Z',
    ]);
    expect(r.budget?.spent.toString()).toBe('27');
    expect(r.spendByDay?.find((d) => d.day === '2026-11-19')?.amount.toString()).toBe('7');
    // A day later the 19th has left the window: asked once more (the first day not cached), then kept.
    now = new Date('2026-11-22T09:00:00Z');
    await p.check();
    now = new Date('2026-11-22T10:00:00Z');
    await p.check();
    expect(requests.slice(2).map((q) => q.query.get('starting_at'))).toEqual([
      '2026-11-19T00:00:00Z',
      '2026-11-20T00:00:00Z',
    ]);
  });

  it('GIVEN a server that never stops paging THEN the check stops after the page limit and says so', async () => {
    let n = 0;
    handler = () => ({ json: openAiCosts([openAiBucket('2026-11-01', [1])], `p${++n}`) });
    const reason = failure(await budget('openai', () => new Date('2026-11-21T12:00:00Z')).check());
    expect(reason).toBe(`OpenAI Admin API still had more after ${MAX_COST_PAGES} pages; stopped paging`);
    expect(requests.length).toBe(MAX_COST_PAGES);
  });

  it('GIVEN a server that hands out the same page token again THEN the check stops at once', async () => {
    handler = () => ({ json: openAiCosts([openAiBucket('2026-11-01', [1])], 'same') });
    const reason = failure(await budget('openai', () => new Date('2026-11-21T12:00:00Z')).check());
    expect(reason).toBe('OpenAI Admin API gave the same next_page twice; stopped paging');
    expect(requests.length).toBe(2);
  });

  it('GIVEN a 401, a 5xx or a hang THEN the reading fails with a reason and no key', async () => {
    const clock = () => new Date('2026-11-21T12:00:00Z');
    handler = () => ({ status: 401, json: ANTHROPIC_ERROR });
    expect(failure(await budget('anthropic', clock).check())).toBe(
      'Anthropic Admin API returned HTTP 401: invalid x-api-key (authentication_error)',
    );
    handler = () => ({
      status: 529,
      json: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
    });
    expect(failure(await budget('anthropic', clock).check())).toBe(
      'Anthropic Admin API returned HTTP 529: Overloaded (overloaded_error)',
    );
    // A hang on the second page: the check is still bounded by its timeout.
    handler = ({ query }) =>
      query.get('page') ? { hang: true } : { json: openAiCosts([openAiBucket('2026-11-01', [1])], 'next') };
    const started = Date.now();
    const hung = await budget('openai', clock, 400).check();
    expect(failure(hung)).toBe('no answer within 400 ms');
    expect(Date.now() - started).toBeLessThan(1_400);
  });
});

describe('budget accounts: the Admin key stays secret', () => {
  it('GIVEN an Admin API that echoes the key in its error and in a page token THEN it is in no reason, log line, history row or post', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-budget-'));
    const now = new Date('2026-11-21T12:00:00Z');
    const { logger, text } = captureLogs('trace');
    const config = loadConfig(
      { HOME: dir, DATA_DIR: join(dir, 'data'), BALANCE_LOG_DIR: join(dir, 'logs'), PROVIDERS: 'kimi' },
      { providerSettings: 'optional' },
    );
    const core = await createCore(config, logger, {
      providers: [budget('anthropic', () => now), budget('openai', () => now)],
      sqliteMode: 'inline',
      now: () => now,
    });
    try {
      const posts: string[] = [];
      const reasons: string[] = [];
      for (const echo of [
        (path: string) =>
          path.includes('cost_report')
            ? {
                status: 401,
                json: { type: 'error', error: { type: 'authentication_error', message: `bad key ${KEY}` } },
              }
            : {
                status: 403,
                json: {
                  error: { message: `Incorrect API key provided: ${KEY}`, type: 'invalid_request_error' },
                },
              },
        // A page token that is the key, then a reply of the wrong shape on the next page.
        () => ({ json: { data: [], has_more: true, next_page: KEY } }),
      ]) {
        handler = ({ path, query }) => (query.get('page') ? { json: { data: KEY } } : echo(path));
        const summary = await core.service.checkAll();
        for (const s of summary.statuses) {
          if (s.result.ok) throw new Error('expected failures');
          reasons.push(s.result.reason);
        }
        posts.push(formatSummary(summary, null), JSON.stringify(summaryToJson(summary)));
      }
      expect(reasons[0]).toBe(
        'Anthropic Admin API returned HTTP 401: bad key [redacted] (authentication_error)',
      );
      // The key did go out as a page token (the server's own), and came back only as the server's data.
      expect(requests.some((q) => q.query.get('page') === KEY)).toBe(true);
      const history = await core.history.range('anthropic', new Date(0), now);
      const history2 = await core.history.range('openai', new Date(0), now);
      expect(history.length + history2.length).toBe(4);
      for (const place of [...reasons, ...posts, JSON.stringify([history, history2]), text()]) {
        expect(place).not.toContain(KEY);
      }
    } finally {
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('budget accounts: the calendar month is UTC', () => {
  it('GIVEN 02:00 UTC on December 1st (still November 30th in Los Angeles) THEN November is over: a fresh budget', async () => {
    // Instants, not the process's zone: the month is read from the clock's instant in UTC.
    const now = new Date('2026-12-01T02:00:00Z');
    handler = ({ query }) => {
      const from = query.get('starting_at') ?? '';
      const all = [anthropicBucket('2026-11-30', ['15000']), anthropicBucket('2026-12-01', ['250'])];
      return { json: anthropicCostReport(all.filter((b) => b.starting_at >= from)) };
    };
    const r = reading(await budget('anthropic', () => now).check());
    expect(requests.map((q) => [q.query.get('starting_at'), q.query.get('ending_at')])).toEqual([
      ['2026-12-01T00:00:00Z', '2026-12-02T00:00:00Z'],
    ]);
    expect([r.available.toString(), r.note]).toEqual(['197.5', 'budget $200.00, $2.50 spent this month']);
    expect(r.budget?.periodStart.toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(r.budget?.periodEnd.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(r.spendByDay).toEqual([{ day: '2026-12-01', amount: new Big('2.5') }]);
    // One second before the 1st (UTC) it is still November, the $150 of the 30th counted against it.
    requests.length = 0;
    const last = reading(await budget('anthropic', () => new Date('2026-11-30T23:59:59Z')).check());
    expect(requests.map((q) => [q.query.get('starting_at'), q.query.get('ending_at')])).toEqual([
      ['2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z'],
    ]);
    expect([last.available.toString(), last.budget?.periodEnd.toISOString()]).toEqual([
      '50',
      '2026-12-01T00:00:00.000Z',
    ]);
  });
});

describe('budget accounts: settings', () => {
  const load = (env: Record<string, string>) => () =>
    loadConfig({ HOME: '/tmp', DATA_DIR: '/tmp/cw-budget-none', ...env });

  it('GIVEN openai and anthropic with their keys and budgets THEN both accounts are built', () => {
    const config = load({
      PROVIDERS: 'openai,anthropic',
      OPENAI_ADMIN_KEY: 'sk-admin-1',
      OPENAI_MONTHLY_BUDGET: '200',
      ANTHROPIC_ADMIN_KEY: 'sk-ant-admin01-x',
      ANTHROPIC_MONTHLY_BUDGET: '150.50',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
    })();
    expect(config.accounts.map((a) => [a.id, a.currency, JSON.stringify(a.settings)])).toEqual([
      [
        'openai',
        'USD',
        JSON.stringify({ adminKey: 'sk-admin-1', budget: '200', baseUrl: 'https://api.openai.com' }),
      ],
      [
        'anthropic',
        'USD',
        JSON.stringify({ adminKey: 'sk-ant-admin01-x', budget: '150.5', baseUrl: 'http://127.0.0.1:9' }),
      ],
    ]);
  });

  it('GIVEN a missing key, a missing budget and a budget that is not a number THEN each is named', () => {
    let error: unknown;
    try {
      load({
        PROVIDERS: 'openai,anthropic,anthropic:ops',
        ANTHROPIC_ADMIN_KEY: 'k',
        ANTHROPIC_MONTHLY_BUDGET: '$200',
        ANTHROPIC_OPS_ADMIN_KEY: 'k',
      })();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = String((error as Error).message);
    expect(text).toContain('OPENAI_ADMIN_KEY is missing');
    expect(text).toContain('OPENAI_MONTHLY_BUDGET is missing');
    expect(text).toContain('ANTHROPIC_MONTHLY_BUDGET="$200" must be a plain number of USD above 0');
    expect(text).toContain('ANTHROPIC_OPS_MONTHLY_BUDGET is missing');
    expect(text).not.toContain('ANTHROPIC_ADMIN_KEY is missing');
  });
});

describe('budget accounts: the summary, the forecast and the month reset, end to end', () => {
  it('GIVEN last month ran down to $2 THEN the new month is whole again: no top-up, only this month spent, on track against the budget', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-budget-'));
    let now = new Date('2026-11-28T00:00:00Z');
    // November: $66 a day (cents); December 1st so far: $2.50.
    handler = ({ query }) => {
      const from = query.get('starting_at') ?? '';
      const all = [
        ...days(1, 30).map((d) => anthropicBucket(d, ['6600'])),
        anthropicBucket('2026-12-01', ['250']),
      ].filter((b) => b.starting_at >= from && b.starting_at <= now.toISOString());
      return { json: anthropicCostReport(all) };
    };
    const provider = budget('anthropic', () => now);
    const { logger, text } = captureLogs('trace');
    const config = loadConfig(
      { HOME: dir, DATA_DIR: join(dir, 'data'), BALANCE_LOG_DIR: join(dir, 'logs'), PROVIDERS: 'kimi' },
      { providerSettings: 'optional' },
    );
    const core = await createCore(config, logger, {
      providers: [provider],
      sqliteMode: 'inline',
      now: () => now,
    });
    try {
      // Two readings late in November (the budget nearly spent), then the first of December.
      for (const at of ['2026-11-28T00:00:00Z', '2026-11-30T12:00:00Z', '2026-12-01T02:00:00Z']) {
        now = new Date(at);
        await core.service.checkAll();
      }
      now = new Date('2026-12-01T12:00:00Z');
      const summary = await core.service.checkAll();
      const status = summary.statuses[0];
      if (!status?.result.ok) throw new Error('expected a reading');
      expect(status.result.available.toString()).toBe('197.5');
      const forecasts = await new Insight(core.history).forecasts(summary, now);
      const f = forecasts.anthropic;
      if (f?.status !== 'ok') throw new Error(`expected an ok forecast, got ${f?.status}`);
      // The rise from $2 to $197.50 is the budget resetting: no top-up, and only December's $2.50 is spend.
      expect([f.topUps, f.spend.toString(), f.budget?.projected.toFixed(2)]).toEqual([[], '2.5', '155.00']);
      const post = formatSummary(summary, null, runwayClauses(forecasts));
      expect(post).toContain(
        '🔶 **Anthropic:** $197.50 (budget $200.00, $2.50 spent this month) (threshold: $5.00) · on track for $155.00 of $200.00 by Dec 31',
      );
      expect(text()).not.toContain(KEY);
    } finally {
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('GIVEN readings either side of the 1st THEN /balance-history and the spend per day count the reset as neither a top-up nor spend; a credit inside the month still is a top-up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-budget-'));
    let now = new Date('2026-11-29T00:00:00Z');
    // What is left: $20 on Nov 29, $2 on Nov 30, $197.50 on Dec 1 (the reset), $190 at 06:00, $195 at 08:00 (a
    // $5 credit), $185 at 10:00.
    const left = new Map([
      ['2026-11-29T00:00:00Z', '18000'],
      ['2026-11-30T20:00:00Z', '19800'],
      ['2026-12-01T02:00:00Z', '250'],
      ['2026-12-01T06:00:00Z', '1000'],
      ['2026-12-01T08:00:00Z', '500'],
      ['2026-12-01T10:00:00Z', '1500'],
    ]);
    handler = () => ({
      json: anthropicCostReport([
        anthropicBucket(now.toISOString().slice(0, 10), [
          left.get(now.toISOString().replace('.000', '')) ?? '0',
        ]),
      ]),
    });
    const provider = budget('anthropic', () => now);
    const config = loadConfig(
      { HOME: dir, DATA_DIR: join(dir, 'data'), BALANCE_LOG_DIR: join(dir, 'logs'), PROVIDERS: 'kimi' },
      { providerSettings: 'optional' },
    );
    const core = await createCore(config, captureLogs('warn').logger, {
      providers: [provider],
      sqliteMode: 'inline',
      now: () => now,
    });
    try {
      for (const at of left.keys()) {
        now = new Date(at);
        const r = (await core.service.checkAll()).statuses[0]?.result;
        expect(r?.ok).toBe(true);
      }
      now = new Date('2026-12-01T12:00:00Z');
      const insight = new Insight(core.history);
      // 24 h reads raw readings, 7 d joins hourly roll-ups: the same figures either way.
      for (const period of [86_400_000, 7 * 86_400_000]) {
        const report = await insight.report('anthropic', period, new Big(5), 'USD', now);
        if (!report.stats.enough) throw new Error('expected enough history');
        expect(
          [
            report.stats.topUps.map((t) => [t.at.toISOString(), t.amount.toString()]),
            report.stats.spend.toString(),
          ],
          `period ${period}`,
        ).toEqual([[['2026-12-01T08:00:00.000Z', '5']], period === 86_400_000 ? '17.5' : '35.5']);
        const { content } = await renderHistory([report], period === 86_400_000 ? '24h' : '7d', now);
        expect(content).not.toContain('+$195.50');
      }
      // Spend per day from the balance alone (no cost report given): Nov 30's fall, nothing for the reset.
      const series = (await insight.dailySpend([{ provider: 'anthropic', currency: 'USD' }], 3, now)).get(
        'anthropic',
      );
      expect(series?.days.map((d) => [d.day, d.amount.toString()])).toEqual([
        ['2026-11-29', '0'],
        ['2026-11-30', '18'],
        ['2026-12-01', '17.5'],
      ]);
    } finally {
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
