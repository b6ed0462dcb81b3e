import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatBalance } from '../../src/adapters/discord/commands/balance.js';
import { renderPage } from '../../src/adapters/http/page.js';
import { Telemetry } from '../../src/adapters/http/telemetry.js';
import { type ClaudeProvider, createClaudeProvider } from '../../src/adapters/providers/claude.js';
import { createClaudeEstimator, spendAfter } from '../../src/adapters/providers/claude-estimate.js';
import { alertPayload, alertSubject, alertText } from '../../src/core/alerts/messages.js';
import { loadConfig } from '../../src/core/config.js';
import { formatSummary, providerLine, summaryToJson } from '../../src/core/format.js';
import { Big } from '../../src/core/money.js';
import type { CheckResult } from '../../src/core/types.js';
import { type FakeApi, startFakeApi } from '../support/fake-api.js';
import { captureLogs } from '../support/log-capture.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';
import { ANTHROPIC_ERROR, anthropicBucket, anthropicCostReport } from '../support/provider-replies.js';

/**
 * Claude's live estimate (issue 13): the latest table row is the anchor, less the spend the Admin API's cost
 * report shows after it; the table figure, saying why, when the Admin API can't answer.
 */
const ADMIN_KEY = 'sk-ant-admin01-ESTIMATE-SECRET-77';
const NOW = new Date('2026-11-23T10:00:00Z');
const ANCHOR_AT = new Date('2026-11-21T12:00:00Z');

let db: TestDatabase;
let fake: FakeApi;
const open: ClaudeProvider[] = [];

const sql = (text: string, values: unknown[] = []) =>
  withClient(db.connectionString, (client) => client.query(text, values));

beforeAll(async () => {
  db = await createTestDatabase('cw_estimate');
  fake = await startFakeApi();
});
afterAll(async () => {
  await fake.close();
  await db.drop();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
  fake.clearRoutes();
  fake.requests.length = 0;
});

async function table(rows: Array<[string, Date]>): Promise<void> {
  await sql('DROP TABLE IF EXISTS claude_api_usage');
  await sql('CREATE TABLE claude_api_usage (id serial, available_balance numeric, updated_at timestamptz)');
  for (const [balance, at] of rows) {
    await sql('INSERT INTO claude_api_usage (available_balance, updated_at) VALUES ($1, $2)', [balance, at]);
  }
}

function claude(timeoutMs = 3_000, now = () => NOW): ClaudeProvider {
  const p = createClaudeProvider({
    connectionString: db.connectionString,
    currency: 'USD',
    timeoutMs,
    staleAfterMs: 6 * 3_600_000,
    now,
    estimate: createClaudeEstimator({ adminKey: ADMIN_KEY, baseUrl: fake.url }, { timeoutMs }),
  });
  open.push(p);
  return p;
}

function reading(result: CheckResult) {
  if (!result.ok) throw new Error(`expected a reading, got: ${result.reason}`);
  return result;
}

/** $40 on the anchor's day (half of it after 12:00 counts), $70 the next day, $8 so far today: $98. */
const REPORT = anthropicCostReport([
  anthropicBucket('2026-11-21', ['4000']),
  anthropicBucket('2026-11-22', ['6999.5', '0.5']),
  anthropicBucket('2026-11-23', ['800']),
]);

describe('claude estimate: the anchor arithmetic', () => {
  it('GIVEN an anchor at noon THEN its day counts for the half after it, later days in full, today so far', () => {
    const days = [
      { day: '2026-11-21', amount: new Big(40) },
      { day: '2026-11-22', amount: new Big(70) },
      { day: '2026-11-23', amount: new Big(8) },
    ];
    expect(spendAfter(ANCHOR_AT, NOW, days).toString()).toBe('98');
    // Anchored today at 06:00, four hours before now: 4/10 of today's $8 so far.
    expect(spendAfter(new Date('2026-11-23T06:00:00Z'), NOW, days).toString()).toBe('3.2');
    // Anchored at 00:00: the whole day.
    expect(spendAfter(new Date('2026-11-22T00:00:00Z'), NOW, days).toString()).toBe('78');
    // A third of a day is rounded to 1/10,000 USD, never a float.
    expect(
      spendAfter(new Date('2026-11-21T16:00:00Z'), NOW, [
        { day: '2026-11-21', amount: new Big(10) },
      ]).toString(),
    ).toBe('3.3333');
  });
});

/** The `claude` account's status around an estimated reading, as the service makes it: ok, fresh, threshold $5. */
const claudeStatus = (result: ReturnType<typeof reading>, staleAfterMs: number | null) => ({
  provider: 'claude',
  label: 'Claude',
  emoji: '💳',
  result,
  threshold: new Big(5),
  state: 'ok' as const,
  ageMs: 0,
  stale: false,
  staleAfterMs,
});

describe('claude estimate: the reading', () => {
  it('GIVEN an Admin key and a table row THEN the reading is the estimate, shown as one everywhere', async () => {
    await table([['150', ANCHOR_AT]]);
    fake.setRoute('/v1/organizations/cost_report', { json: REPORT });
    const r = reading(await claude().check());
    expect(r.available.toString()).toBe('52');
    expect(
      r.estimate && [r.estimate.anchor.toString(), r.estimate.anchorAt, r.estimate.spentSince.toString()],
    ).toEqual(['150', ANCHOR_AT, '98']);
    expect(r.note).toBe('estimated: $150.00 on 2026-11-21 12:00 UTC, − $98.00 spent since');
    // The estimate is as of the check: the spend is today's, whatever the anchor's age.
    expect(r.asOf).toEqual(NOW);
    expect(r.spendByDay?.map((d) => d.day)).toEqual(['2026-11-21', '2026-11-22', '2026-11-23']);
    const status = claudeStatus(r, null);
    expect(providerLine(status)).toBe(
      '💳 **Claude:** ≈ $52.00 (estimated: $150.00 on 2026-11-21 12:00 UTC, − $98.00 spent since) (threshold: $5.00)',
    );
    // The hourly post (Discord) dates the anchor with a timestamp; `npm run check` keeps the UTC text above.
    expect(providerLine(status, undefined, 'discord')).toBe(
      `💳 **Claude:** ≈ $52.00 (estimated: $150.00 on <t:${ANCHOR_AT.getTime() / 1000}:f>, − $98.00 spent since) (threshold: $5.00)`,
    );
    expect(
      fake.requests.map((q) => [q.url.split('?')[0], q.apiKey, q.anthropicVersion, q.authorization]),
    ).toEqual([['/v1/organizations/cost_report', ADMIN_KEY, '2023-06-01', undefined]]);
    expect(fake.requests[0]?.url).toContain('starting_at=2026-11-21T00%3A00%3A00Z');
  });

  it('GIVEN an estimate THEN /balance and the status page card show it with ≈ and the anchor’s age, never "0s old"', async () => {
    await table([['150', ANCHOR_AT]]);
    fake.setRoute('/v1/organizations/cost_report', { json: REPORT });
    const r = reading(await claude().check());
    const status = claudeStatus(r, 6 * 3_600_000);
    const summary = { checkedAt: NOW, statuses: [status], anyLow: false, anyFailed: false };
    const later = new Date(NOW.getTime() + 60_000);
    // The anchor (the table row of Nov 21 12:00) is 1d 22h old a minute after the check.
    const balance = formatBalance(summary, { forecasts: {}, alerts: {} }, null, false, later);
    // In Discord the anchor's moment is a timestamp each reader sees in their own zone.
    expect(balance).toContain(
      `💳 **Claude:** ≈ $52.00 available · estimated: $150.00 on <t:${ANCHOR_AT.getTime() / 1000}:f>, − $98.00 spent since`,
    );
    expect(balance).toContain(
      `   🕒 estimate as of this check; its anchor (the table row) is 1d 22h old (<t:${ANCHOR_AT.getTime() / 1000}:f>)`,
    );
    expect(balance).not.toMatch(/reading is \S+ old/);
    const check = (summaryToJson(summary) as { providers: Record<string, unknown>[] }).providers[0]!;
    const page = renderPage(
      {
        generatedAt: later,
        summary,
        accounts: [
          {
            account: 'claude',
            provider: 'claude',
            label: 'Claude',
            currency: 'USD',
            state: 'ok',
            check,
            forecast: null,
            lastSuccessAt: NOW,
            lastFailure: null,
            alert: null,
          },
        ],
        currencies: ['USD'],
        thresholdChanges: [],
        nextCheckAt: null,
      },
      new Telemetry(),
      (c) => `/chart/${c.toLowerCase()}.png`,
    );
    expect(page).toContain('<p class="figure" data-account="claude">≈ $52.00</p>');
    expect(page).toContain(
      '<dt>Reading</dt><dd>estimate as of this check; its anchor (the table row) is 1d 22h old</dd>',
    );
    expect(page).toContain(
      '<dt>Estimate</dt><dd>estimated: $150.00 on 2026-11-21 12:00 UTC, − $98.00 spent since</dd>',
    );
  });

  it('GIVEN a new table row THEN it is the anchor: the spend is counted from it', async () => {
    await table([
      ['150', ANCHOR_AT],
      ['60', new Date('2026-11-23T06:00:00Z')],
    ]);
    fake.setRoute('/v1/organizations/cost_report', { json: REPORT });
    const r = reading(await claude().check());
    // $60 less 4/10 of today's $8.
    expect([r.available.toString(), r.note]).toEqual([
      '56.8',
      'estimated: $60.00 on 2026-11-23 06:00 UTC, − $3.20 spent since',
    ]);
  });

  for (const [name, reply, reason] of [
    [
      'a 401',
      { status: 401, json: ANTHROPIC_ERROR },
      'Anthropic Admin API returned HTTP 401: invalid x-api-key (authentication_error)',
    ],
    [
      'a 5xx',
      { status: 503, body: '<html>down</html>' },
      'Anthropic Admin API returned HTTP 503 with a non-JSON body',
    ],
    ['a hang', { delayMs: 60_000, json: REPORT }, 'Anthropic Admin API: no answer within'],
  ] as const) {
    it(`GIVEN ${name} from the Admin API THEN the line falls back to the table figure and says why; the check is not failed`, async () => {
      await table([['150', ANCHOR_AT]]);
      fake.setRoute('/v1/organizations/cost_report', reply);
      const started = Date.now();
      const r = reading(await claude(1_000).check());
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(r.available.toString()).toBe('150');
      expect(r.estimate).toBeUndefined();
      expect(r.asOf).toEqual(ANCHOR_AT);
      expect(r.note).toContain(`table figure; estimate unavailable: ${reason}`);
      expect(r.note).not.toContain(ADMIN_KEY);
      expect(r.warnings?.join(' ')).toContain('estimate unavailable');
    });
  }

  it('GIVEN an Admin API that echoes the key THEN it is in no note, warning, log line or post', async () => {
    await table([['150', ANCHOR_AT]]);
    fake.setRoute('/v1/organizations/cost_report', {
      status: 401,
      json: { type: 'error', error: { type: 'authentication_error', message: `bad key ${ADMIN_KEY}` } },
    });
    const r = reading(await claude().check());
    const { logger, text } = captureLogs('trace');
    logger.warn({ warnings: r.warnings, note: r.note }, 'provider warning');
    const post = formatSummary(
      {
        checkedAt: NOW,
        anyLow: false,
        anyFailed: false,
        statuses: [
          {
            provider: 'claude',
            label: 'Claude',
            emoji: '💳',
            result: r,
            threshold: new Big(5),
            state: 'ok',
            ageMs: 0,
            stale: false,
            staleAfterMs: null,
          },
        ],
      },
      null,
    );
    for (const place of [r.note ?? '', JSON.stringify(r.warnings), text(), post]) {
      expect(place).not.toContain(ADMIN_KEY);
    }
    expect(post).toContain('estimate unavailable');
  });
});

describe('claude estimate: settings and alerts', () => {
  it('GIVEN ANTHROPIC_ADMIN_KEY THEN the claude account estimates; claude:ops reads its own key; none without', () => {
    const config = loadConfig({
      HOME: '/tmp',
      DATA_DIR: '/tmp/cw-estimate-none',
      PROVIDERS: 'claude,claude:ops,claude:plain',
      CLAUDE_DB_URL: 'postgres://u:p@db.local:5432/x',
      CLAUDE_OPS_DB_URL: 'postgres://u:p@db.local:5432/ops',
      CLAUDE_PLAIN_DB_URL: 'postgres://u:p@db.local:5432/plain',
      ANTHROPIC_ADMIN_KEY: 'sk-ant-admin01-default',
      CLAUDE_OPS_ANTHROPIC_ADMIN_KEY: 'sk-ant-admin01-ops',
      CLAUDE_OPS_ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/',
    });
    const estimate = (id: string) =>
      (config.accounts.find((a) => a.id === id)?.settings as { estimate?: unknown } | undefined)?.estimate;
    expect(estimate('claude')).toEqual({
      adminKey: 'sk-ant-admin01-default',
      baseUrl: 'https://api.anthropic.com',
    });
    expect(estimate('claude:ops')).toEqual({ adminKey: 'sk-ant-admin01-ops', baseUrl: 'http://127.0.0.1:9' });
    expect(estimate('claude:plain')).toBeUndefined();
  });

  it('GIVEN an estimated reading that is low THEN the alert shows it with ≈ and what it rests on, its anchor time for each target', () => {
    const anchorAt = new Date('2026-11-21T12:00:00Z');
    const n = {
      kind: 'low' as const,
      provider: 'claude',
      currency: 'USD' as const,
      at: NOW,
      threshold: new Big(5),
      critical: new Big('2.5'),
      episode: 1,
      available: new Big(4),
      recoverAt: new Big('5.5'),
      estimate: { anchor: new Big(150), anchorAt, spentSince: new Big(146) },
    };
    expect(alertText(n, 'discord')).toBe(
      `💳 ⚠️ Claude credits low! **≈ $4.00** (estimated: $150.00 on <t:${anchorAt.getTime() / 1000}:f>, − $146.00 spent since) (threshold: $5.00) · recovers at $5.50`,
    );
    expect(alertText(n, 'text')).toBe(
      '💳 ⚠️ Claude credits low! ≈ $4.00 (estimated: $150.00 on 2026-11-21 12:00 UTC, − $146.00 spent since) (threshold: $5.00) · recovers at $5.50',
    );
    expect(alertPayload(n).estimate).toBe(
      'estimated: $150.00 on 2026-11-21 12:00 UTC, − $146.00 spent since',
    );
    expect(alertSubject(n)).toBe('[creditwatch] Claude credits low: ≈ $4.00 (threshold $5.00)');
  });
});
