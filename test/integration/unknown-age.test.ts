import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBalance } from '../../src/adapters/discord/commands/balance.js';
import type { CommandContext } from '../../src/adapters/discord/commands/types.js';
import type { OutgoingMessage, Poster } from '../../src/adapters/discord/poster.js';
import { loadConfig } from '../../src/core/config.js';
import { formatSummary, summaryToJson } from '../../src/core/format.js';
import { Insight } from '../../src/core/insight.js';
import { createLogger } from '../../src/core/logger.js';
import { type Core, createCore } from '../../src/entry/app.js';
import { type Alerts, startAlerts } from '../../src/entry/jobs/alerts.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';

const MINUTE = 60_000;
const T0 = Date.parse('2026-12-01T12:00:00Z');
const ALERT_CHANNEL = '333333333333333333';
/** What the old code printed for a row dated at epoch 0: an age of tens of thousands of days, or 1970. */
const EPOCH_AGE = /\d{4,}d|1970/;

class RecordingPoster implements Poster {
  readonly posts: { channelId: string; message: OutgoingMessage }[] = [];
  async post(channelId: string, message: OutgoingMessage): Promise<void> {
    this.posts.push({ channelId, message });
  }
}

describe('GIVEN the latest Claude row has a NULL updated_at (real Postgres, SQLite history, real alert job)', () => {
  let claudeDb: TestDatabase;
  let dir: string;
  let core: Core;
  let alerts: Alerts;
  let ctx: CommandContext;
  const poster = new RecordingPoster();
  let clock = T0;
  const now = () => new Date(clock);

  beforeAll(async () => {
    claudeDb = await createTestDatabase('cw_unknown_age');
    await withClient(claudeDb.connectionString, async (c) => {
      // The team's table as some scrape jobs create it: updated_at may be left NULL.
      await c.query(
        'CREATE TABLE claude_api_usage (id serial, available_balance numeric, updated_at timestamptz)',
      );
      await c.query('INSERT INTO claude_api_usage (available_balance, updated_at) VALUES (8.07, NULL)');
    });
    dir = mkdtempSync(join(tmpdir(), 'cw-unknown-age-'));
    const config = loadConfig({
      HOME: dir,
      DATA_DIR: join(dir, 'data'),
      BALANCE_LOG_DIR: join(dir, 'logs'),
      PROVIDERS: 'claude',
      CLAUDE_DB_URL: claudeDb.connectionString,
      CLAUDE_STALE_AFTER: '6h',
      PROVIDER_TIMEOUT_MS: '5000',
      ALERT_CHANNEL_ID: ALERT_CHANNEL,
      // Never due during the run: the check is triggered by hand.
      ALERT_CRON: '0 0 1 1 *',
    });
    const logger = createLogger('silent');
    core = await createCore(config, logger, { now });
    const insight = new Insight(core.history);
    alerts = startAlerts({ config, core, insight, poster, logger, now });
    ctx = { config, service: core.service, insight, logger, now, alertStatus: (p) => alerts.status(p) };
    // Two alert checks five minutes apart, both reading the NULL-dated row: the state every test below reads.
    await alerts.job.trigger(new Date(clock));
    clock += 5 * MINUTE;
    await alerts.job.trigger(new Date(clock));
  });

  afterAll(async () => {
    await alerts?.close();
    await core?.close();
    await claudeDb?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('THEN the stale alert says the age is unknown (no 20788-day age) and stale-since is the first check that saw it', async () => {
    // One notice for the episode (the second check is the same episode), and it began at the first check.
    expect(poster.posts.map((p) => p.message.content)).toEqual([
      '💳 ⏳ Claude balance reading has no updated_at: age unknown, treated as stale · alerts judge its last figure, $8.07',
    ]);
    expect(await alerts.status('claude')).toBe(
      `alert state: stale since <t:${Date.parse('2026-12-01T12:00:00Z') / 1000}:f> (judged by its last figure)`,
    );
  });

  it('THEN the summary flags it stale with an unknown age', async () => {
    const summary = await core.service.checkAll();
    const text = formatSummary(summary, null);
    expect(text.split('\n')).toEqual([
      '📊 **API Balance Summary**',
      '',
      '💳 **Claude:** $8.07 (threshold: $5.00)',
      '⏳ Claude reading has no updated_at (age unknown; treated as stale)',
    ]);
    expect(text).not.toMatch(EPOCH_AGE);
  });

  it('THEN --json says asOf null, ageSeconds null, stale true', async () => {
    const json = summaryToJson(await core.service.checkAll()) as { providers: Record<string, unknown>[] };
    expect(json.providers[0]).toMatchObject({
      provider: 'claude',
      state: 'ok',
      available: '8.07',
      asOf: null,
      ageSeconds: null,
      stale: true,
    });
  });

  it('THEN /balance says the reading has no updated_at, and the forecast is not built on an invented date', async () => {
    const text = await renderBalance(await core.service.checkAll(), ctx, null, false);
    const lines = text.split('\n');
    expect(lines[1]).toBe('💳 **Claude:** $8.07 available · threshold $5.00 · ✅ ok');
    expect(lines[2]).toBe('   ⏳ reading has no updated_at: age unknown, treated as stale');
    expect(lines.find((l) => l.startsWith('   📉 '))).toMatch(/^ {3}📉 not enough history/);
    expect(lines).toContain(
      `   🔔 alert state: stale since <t:${Date.parse('2026-12-01T12:00:00Z') / 1000}:f> (judged by its last figure)`,
    );
    expect(text).not.toMatch(EPOCH_AGE);
  });

  it('THEN the stored readings read back with an unknown as-of time, and count neither as points nor failures', async () => {
    const rows = await core.history.range('claude', new Date(T0 - MINUTE), new Date(clock + MINUTE));
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const r of rows) {
      expect(r.ok).toBe(true);
      expect(r.ok && r.asOf).toBeNull();
      expect(r.ok && r.available.toFixed(2)).toBe('8.07');
    }
    const report = await new Insight(core.history).report(
      'claude',
      60 * MINUTE,
      await core.thresholds.get('claude'),
      'USD',
      new Date(clock + MINUTE),
    );
    expect(report.points).toEqual([]);
    expect(report.failures).toBe(0);
    expect(report.forecast.status).toBe('insufficient');
  });
});
