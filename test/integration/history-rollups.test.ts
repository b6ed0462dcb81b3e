import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, type MigrationProvider, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Database,
  type Db,
  type Dialect,
  migrations,
  openDatabase,
} from '../../src/adapters/storage/db.js';
import { HistoryStore, type ImportedReading } from '../../src/adapters/storage/history.js';
import {
  computeForecast,
  distinctObservations,
  type HistoryPoint,
  summarizeHistory,
} from '../../src/core/forecast.js';
import { Insight } from '../../src/core/insight.js';
import { amountToText, Big, parseAmount } from '../../src/core/money.js';
import type { Summary } from '../../src/core/service.js';
import type { CheckResult, ProviderId } from '../../src/core/types.js';
import { captureLogs } from '../support/log-capture.js';
import { createTestDatabase } from '../support/postgres.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const SKEW = 5 * MIN;

interface Backend {
  name: string;
  dialect: Dialect;
  /** A fresh, empty database each call: its open options, and how to drop it. */
  fresh(): Promise<{ options: { databaseUrl: string | null; sqlitePath: string }; drop(): Promise<void> }>;
}

const sqlite: Backend = {
  name: 'embedded SQLite',
  dialect: 'sqlite',
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'cw-rollups-'));
    return {
      options: { databaseUrl: null, sqlitePath: join(dir, 'db.sqlite') },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

const postgres: Backend = {
  name: 'PostgreSQL',
  dialect: 'postgres',
  async fresh() {
    const handle = await createTestDatabase('cw_rollups');
    return { options: { databaseUrl: handle.connectionString, sqlitePath: '' }, drop: () => handle.drop() };
  },
};

/** Deterministic pseudo-random numbers (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `days` of checks every 5 minutes ending just before `end`: spend with noise, flat stretches, top-ups (some
 * inside an hour, some right on an hour boundary), failed checks, and — for 'claude' — a source that updates
 * only every 20 minutes, so most checks repeat the same `asOf` (once with a corrected value).
 */
function generate(provider: ProviderId, days: number, end: number, seed: number): CheckResult[] {
  const rnd = random(seed);
  const out: CheckResult[] = [];
  let balance = 300;
  let asOf = 0;
  const first = end - days * DAY;
  for (let t = first + 7 * 1000; t < end; t += 5 * MIN) {
    const r = rnd();
    if (r < 0.03) {
      out.push({
        ok: false,
        provider,
        currency: 'USD',
        reason: 'HTTP 503',
        checkedAt: new Date(t),
        latencyMs: 40,
      });
      continue;
    }
    if (provider === 'claude') {
      // The table is updated every 20 minutes; each check sees the latest update.
      const updated = t - (t % (20 * MIN));
      if (updated !== asOf) {
        asOf = updated;
        if (r < 0.6) balance -= Math.round(rnd() * 40) / 100;
      }
    } else {
      asOf = t;
      if (r < 0.7) balance -= Math.round(rnd() * 9) / 100;
    }
    if (rnd() < 0.004 || (t - first) % (97 * HOUR) < 5 * MIN) balance += 50 + Math.round(rnd() * 1000) / 100;
    out.push({
      ok: true,
      provider,
      currency: 'USD',
      available: parseAmount(balance.toFixed(2)),
      asOf: new Date(asOf),
      checkedAt: new Date(t),
      latencyMs: 30,
    });
  }
  // A corrected value for an `asOf` seen before: the later check wins, in raw and rolled-up reads alike.
  const last = out.findLast((r) => r.ok);
  if (last?.ok)
    out.push({ ...last, available: last.available.plus('0.37'), checkedAt: new Date(end - 1000) });
  return out;
}

/** The generator's successful readings, all with an as-of time. */
type Dated = CheckResult & { ok: true; asOf: Date };
const dated = (r: CheckResult): r is Dated => r.ok && r.asOf !== null;

const okPoints = (rows: readonly CheckResult[], keep: (r: Dated) => boolean): HistoryPoint[] =>
  rows.flatMap((r) =>
    dated(r) && keep(r) ? [{ checkedAt: r.checkedAt, asOf: r.asOf, available: r.available }] : [],
  );

/** Plain JSON for comparison: amounts as exact text, dates as ISO. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/** What the raw readings say for `/balance-history` of `periodMs` ending at `now`. */
function rawReport(rows: readonly CheckResult[], periodMs: number, now: Date) {
  const from = now.getTime() - periodMs;
  const to = now.getTime() + SKEW;
  const points = okPoints(rows, (r) => r.asOf.getTime() >= from && r.asOf.getTime() <= to);
  const threshold = parseAmount('5');
  return {
    failures: rows.filter((r) => !r.ok && r.checkedAt.getTime() >= from && r.checkedAt.getTime() <= to)
      .length,
    stats: plain(summarizeHistory(points, 'USD')),
    forecast: plain(computeForecast({ points, threshold, currency: 'USD', now, windowDays: periodMs / DAY })),
  };
}

/** A summary of `providers` as the hourly post hands it to `Insight.forecasts` (threshold $5, USD). */
function summaryOf(providers: readonly ProviderId[], at: Date): Summary {
  return {
    checkedAt: at,
    anyLow: false,
    anyFailed: false,
    statuses: providers.map((provider) => ({
      provider,
      label: provider,
      emoji: '•',
      threshold: parseAmount('5'),
      state: 'ok',
      ageMs: 0,
      stale: false,
      staleAfterMs: null,
      result: {
        ok: true,
        provider,
        currency: 'USD',
        available: parseAmount('1'),
        asOf: at,
        checkedAt: at,
        latencyMs: 1,
      },
    })),
  };
}

const PERIODS = { '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY, '90d': 90 * DAY } as const;

for (const backend of [sqlite, postgres]) {
  describe(`history roll-ups: ${backend.name}`, () => {
    const drops: (() => Promise<void>)[] = [];
    const open = async (rawDays = 90): Promise<{ db: Db; history: HistoryStore }> => {
      const { options, drop } = await backend.fresh();
      const db = await openDatabase(options);
      drops.push(async () => {
        await db.close();
        await drop();
      });
      return { db, history: new HistoryStore(db, { rawDays }) };
    };
    afterAll(async () => {
      for (const drop of drops) await drop();
    });

    // Not on an hour boundary, so every period has partial hours at both ends.
    const now = new Date('2026-03-10T12:34:56.789Z');
    const data = {
      kimi: generate('kimi', 40, now.getTime(), 7),
      claude: generate('claude', 40, now.getTime(), 11),
    };
    let history: HistoryStore;
    beforeAll(async () => {
      ({ history } = await open());
      // In time order, both providers together, as check rounds record them (an hour of rounds per call,
      // to keep the test short).
      const rounds = new Map<number, CheckResult[]>();
      for (const r of [...data.kimi, ...data.claude]) {
        const key = Math.floor(r.checkedAt.getTime() / HOUR);
        rounds.set(key, [...(rounds.get(key) ?? []), r]);
      }
      for (const round of [...rounds.keys()].sort((a, b) => a - b)) await history.record(rounds.get(round)!);
    }, 120_000);

    it('GIVEN 12 days of checks WHEN spend per day is read for both accounts at once THEN every day is the sum of the falls whose later reading is on it, before and after days are rolled up', async () => {
      // A store of its own: compacting the shared one would change what the other tests start from.
      const { history: own } = await open();
      const data = {
        kimi: generate('kimi', 12, now.getTime(), 3),
        claude: generate('claude', 12, now.getTime(), 5),
      };
      const rounds = new Map<number, CheckResult[]>();
      for (const r of [...data.kimi, ...data.claude]) {
        const key = Math.floor(r.checkedAt.getTime() / (6 * HOUR));
        rounds.set(key, [...(rounds.get(key) ?? []), r]);
      }
      for (const round of [...rounds.keys()].sort((a, b) => a - b)) await own.record(rounds.get(round)!);
      const insight = new Insight(own);
      /** Straight from the raw readings: each fall between consecutive distinct observations, on its later one's day. */
      const expected = (rows: readonly CheckResult[], days: number) => {
        const firstDay = Math.floor(now.getTime() / DAY) * DAY - (days - 1) * DAY;
        const obs = distinctObservations(okPoints(rows, () => true)).filter(
          (o) => o.asOf.getTime() >= firstDay - 7 * DAY,
        );
        const out = new Map<string, Big>();
        for (let d = 0; d < days; d++)
          out.set(new Date(firstDay + d * DAY).toISOString().slice(0, 10), new Big(0));
        for (let i = 1; i < obs.length; i++) {
          const later = obs[i]!;
          if (later.asOf.getTime() < firstDay) continue;
          const fall = obs[i - 1]!.available.minus(later.available);
          const day = later.asOf.toISOString().slice(0, 10);
          if (fall.gt(0)) out.set(day, out.get(day)!.plus(fall));
        }
        return [...out].map(([day, amount]) => [day, amount.toFixed()]);
      };
      const accounts = [
        { provider: 'kimi', currency: 'USD' },
        { provider: 'claude', currency: 'USD' },
      ] as const;
      for (const compacted of [false, true]) {
        if (compacted) expect(await own.compact(now)).toBeGreaterThan(10);
        for (const days of [2, 7, 12]) {
          const got = await insight.dailySpend(accounts, days, now);
          for (const { provider } of accounts) {
            const s = got.get(provider)!;
            const label = `${provider} ${days} d${compacted ? ' compacted' : ''}`;
            expect(
              s.days.map((d) => [d.day, d.amount.toFixed()]),
              label,
            ).toEqual(expected(data[provider], days));
            expect(
              s.days.every((d) => d.observed && d.source === 'balance'),
              label,
            ).toBe(true);
          }
        }
      }
      // Rows in another currency than the account's are not part of its series.
      const yuan = await insight.dailySpend([{ provider: 'kimi', currency: 'CNY' }], 7, now);
      expect(yuan.get('kimi')?.total.toFixed()).toBe('0');
      expect(yuan.get('kimi')?.days.some((d) => d.observed)).toBe(false);
    }, 60_000);

    it('GIVEN 40 days of checks WHEN /balance-history reads any period THEN stats, top-ups, failures and forecast equal the raw readings', async () => {
      const insight = new Insight(history);
      // Before finished days are rolled up (hours only), and after (whole days from daily rows).
      for (const compacted of [false, true]) {
        if (compacted) expect(await history.compact(now)).toBeGreaterThan(70);
        for (const provider of ['kimi', 'claude'] as const) {
          for (const [name, periodMs] of Object.entries(PERIODS)) {
            const report = await insight.report(provider, periodMs, parseAmount('5'), 'USD', now);
            const raw = rawReport(data[provider], periodMs, now);
            const label = `${provider} ${name}`;
            expect(plain(report.stats), label).toEqual(raw.stats);
            expect(plain(report.forecast), label).toEqual(raw.forecast);
            expect(report.failures, label).toBe(raw.failures);
            // Several top-ups, one of them on an hour boundary, are listed one by one.
            if (periodMs >= 7 * DAY && report.stats.enough)
              expect(report.stats.topUps.length).toBeGreaterThan(1);
          }
          // Forecasts read whole days where they are rolled up; the figures stay those of the raw readings.
          const forecast = await insight.forecast(provider, parseAmount('5'), 'USD', now);
          const points = okPoints(
            data[provider],
            (r) => r.checkedAt.getTime() >= now.getTime() - 30 * DAY && r.checkedAt <= now,
          );
          expect(plain(forecast)).toEqual(
            plain(
              computeForecast({ points, threshold: parseAmount('5'), currency: 'USD', now, windowDays: 7 }),
            ),
          );
        }
      }
    });

    it('GIVEN 40 days of checks THEN a long period is drawn from hourly points that keep each hour’s lowest and highest reading', async () => {
      const insight = new Insight(history);
      const report = await insight.report('kimi', 30 * DAY, parseAmount('5'), 'USD', now);
      const from = now.getTime() - 30 * DAY;
      const raw = okPoints(data.kimi, (r) => r.asOf.getTime() >= from);
      expect(report.points.length).toBeLessThan(raw.length / 2);
      const values = report.points.map((p) => amountToText(p.available));
      const stats = summarizeHistory(raw, 'USD');
      if (!stats.enough) throw new Error('expected enough history');
      expect(values).toContain(amountToText(stats.min.amount));
      expect(values).toContain(amountToText(stats.max.amount));
      // The 24h view still draws every reading.
      const day = await insight.report('kimi', DAY, parseAmount('5'), 'USD', now);
      expect(day.points.length).toBe(day.stats.observations);
    });

    it('GIVEN 40 days of checks THEN the hourly summary forecast equals computeForecast over the raw readings', async () => {
      const insight = new Insight(history);
      for (const provider of ['kimi', 'claude'] as const) {
        const forecast = await insight.forecast(provider, parseAmount('5'), 'USD', now);
        const points = okPoints(
          data[provider],
          (r) => r.checkedAt.getTime() >= now.getTime() - 30 * DAY && r.checkedAt <= now,
        );
        const raw = computeForecast({
          points,
          threshold: parseAmount('5'),
          currency: 'USD',
          now,
          windowDays: 7,
        });
        expect(plain(forecast), provider).toEqual(plain(raw));
        expect(forecast.status).toBe('ok');
      }
      // The summary reads every provider's window at once: the same forecasts, and the stale source's
      // fallback (10 days on) still taken provider by provider.
      for (const at of [now, new Date(now.getTime() + 10 * DAY)]) {
        const all = await insight.forecasts(summaryOf(['kimi', 'claude'], at), at);
        for (const provider of ['kimi', 'claude'] as const) {
          const one = await insight.forecast(provider, parseAmount('5'), 'USD', at);
          expect(plain(all[provider]), `${provider} at ${at.toISOString()}`).toEqual(plain(one));
        }
      }
      // A source silent for 10 days: the window is empty, so the forecast falls back to older readings.
      const later = new Date(now.getTime() + 10 * DAY);
      const stale = await insight.forecast('kimi', parseAmount('5'), 'USD', later);
      const points = okPoints(data.kimi, (r) => r.checkedAt.getTime() >= later.getTime() - 30 * DAY);
      expect(plain(stale)).toEqual(
        plain(
          computeForecast({
            points,
            threshold: parseAmount('5'),
            currency: 'USD',
            now: later,
            windowDays: 7,
          }),
        ),
      );
      expect(stale.basedOn.fellBack).toBe(true);
    });

    it('GIVEN a summary of accounts with and without history WHEN its forecasts are computed a provider per loop turn THEN each is the one read on its own, in the summary’s order, and timers run meanwhile', async () => {
      const insight = new Insight(history);
      const order = ['claude', 'nobody', 'kimi'] as ProviderId[];
      // A timer due at once must fire while the forecasts are computed, not after them all.
      let timerFiredFirst = false;
      let done = false;
      const timer = new Promise<void>((resolve) =>
        setTimeout(() => {
          timerFiredFirst = !done;
          resolve();
        }, 0),
      );
      const all = await insight.forecasts(summaryOf(order, now), now);
      done = true;
      await timer;
      expect(timerFiredFirst).toBe(true);
      expect(Object.keys(all)).toEqual(order);
      for (const provider of order) {
        const one = await insight.forecast(provider, parseAmount('5'), 'USD', now);
        expect(plain(all[provider]), provider).toEqual(plain(one));
      }
      expect(all['nobody' as ProviderId]?.status).toBe('insufficient');
      expect(all.kimi?.status).toBe('ok');
    });

    it('GIVEN more accounts than one batch reads WHEN the summary forecasts them THEN each equals its own forecast', async () => {
      const { history: h } = await open();
      const accounts = Array.from({ length: 11 }, (_, i) => `acct-${i}` as ProviderId);
      for (const [i, account] of accounts.entries()) {
        if (i === 4) continue; // one account with no history at all, inside a group
        await h.record(generate(account, 8, now.getTime(), 100 + i));
      }
      const insight = new Insight(h);
      const all = await insight.forecasts(summaryOf(accounts, now), now);
      expect(Object.keys(all)).toEqual(accounts);
      for (const account of accounts) {
        const one = await insight.forecast(account, parseAmount('5'), 'USD', now);
        expect(plain(all[account]), account).toEqual(plain(one));
      }
      expect(all['acct-4' as ProviderId]?.status).toBe('insufficient');
      expect(all['acct-10' as ProviderId]?.status).toBe('ok');
    });

    it('GIVEN the batched history read fails WHEN the summary forecasts THEN it says so once at warn, without the secret in the error, and every forecast still comes back', async () => {
      const { db, history: h } = await open();
      const accounts = ['kimi', 'claude', 'deepseek'] as ProviderId[];
      for (const [i, account] of accounts.entries())
        await h.record(generate(account, 8, now.getTime(), 50 + i));
      let batchedReads = 0;
      // The store answers one account at a time but not the batch (a stand-in for a query that fails).
      class BatchFails extends HistoryStore {
        override async windows(): Promise<never> {
          batchedReads++;
          throw new Error('batch query failed on postgres://creditwatch:s3cret-pw@db.example:5432/cw');
        }
      }
      const logs = captureLogs('info');
      const all = await new Insight(new BatchFails(db, { rawDays: 90 }), logs.logger).forecasts(
        summaryOf(accounts, now),
        now,
      );
      expect(batchedReads).toBe(1);
      const insight = new Insight(h);
      for (const account of accounts) {
        expect(all[account]?.status, account).toBe('ok');
        expect(plain(all[account]), account).toEqual(
          plain(await insight.forecast(account, parseAmount('5'), 'USD', now)),
        );
      }
      const lines = logs.lines.map(
        (l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string } },
      );
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 40,
        msg: 'forecasts: the batched history read failed; reading each account on its own',
        accounts: 3,
      });
      expect(lines[0]?.err?.message).toContain('batch query failed');
      expect(logs.text()).not.toContain('s3cret-pw');
    });

    it('GIVEN raw readings past the retention WHEN they are pruned THEN every figure stays and re-importing them adds nothing', async () => {
      const { history: h } = await open(30);
      const rows = generate('kimi', 60, now.getTime(), 23);
      for (let i = 0; i < rows.length; i += 300) await h.record(rows.slice(i, i + 300));
      const insight = new Insight(h);
      const before = await Promise.all(
        [30 * DAY, 90 * DAY].map((p) => insight.report('kimi', p, parseAmount('5'), 'USD', now)),
      );
      const forecastBefore = await insight.forecast('kimi', parseAmount('5'), 'USD', now);
      await h.compact(now);
      const rawBefore = await h.count();
      const deleted = await h.prune(now);
      expect(deleted).toBeGreaterThan(rawBefore / 3);
      expect(await h.count()).toBe(rawBefore - deleted);
      const after = await Promise.all(
        [30 * DAY, 90 * DAY].map((p) => insight.report('kimi', p, parseAmount('5'), 'USD', now)),
      );
      expect(plain(after.map((r) => [r.stats, r.forecast, r.failures]))).toEqual(
        plain(before.map((r) => [r.stats, r.forecast, r.failures])),
      );
      expect(plain(await insight.forecast('kimi', parseAmount('5'), 'USD', now))).toEqual(
        plain(forecastBefore),
      );
      // The 90-day figures are still those of the raw readings (the period starts before the data).
      expect(plain(after[1]!.stats)).toEqual(rawReport(rows, 90 * DAY, now).stats);

      // Importing the pruned readings again (the seed's logs, say) neither doubles nor changes anything.
      const old: ImportedReading[] = rows.flatMap((r) =>
        dated(r) && r.asOf.getTime() < now.getTime() - 40 * DAY
          ? [{ provider: r.provider, currency: r.currency, at: r.asOf, available: r.available }]
          : [],
      );
      expect(old.length).toBeGreaterThan(1000);
      expect(await h.import(old)).toEqual({ inserted: 0, existing: old.length });
      const again = await insight.report('kimi', 90 * DAY, parseAmount('5'), 'USD', now);
      expect(plain(again.stats)).toEqual(plain(after[1]!.stats));
      // An old hour nobody recorded is filled in from an import, once.
      const gap = now.getTime() - 75 * DAY + 30 * MIN;
      const filler: ImportedReading = {
        provider: 'kimi',
        currency: 'USD',
        at: new Date(gap),
        available: parseAmount('99999'),
      };
      expect(await h.import([filler])).toEqual({ inserted: 1, existing: 0 });
      expect(await h.import([filler])).toEqual({ inserted: 0, existing: 1 });
      const filled = await insight.report('kimi', 90 * DAY, parseAmount('5'), 'USD', now);
      expect(filled.stats.enough && filled.stats.max.amount.toFixed(2)).toBe('99999.00');
      expect(filled.stats.count).toBe(again.stats.count + 1);
      // The day it landed in was already rolled up: its daily row is rebuilt, so whole-day reads agree.
      const span = [new Date(now.getTime() - 90 * DAY), new Date(now.getTime() + SKEW)] as const;
      const byDays = await h.window('kimi', ...span);
      const byHours = await h.window('kimi', ...span, { points: true });
      // Every figure agrees; only which instants are marked for coverage (and at what grain) differs.
      const figures = (d: typeof byDays.digest) => plain({ ...d, marks: null, grainMs: null });
      expect(figures(byDays.digest)).toEqual(figures(byHours.digest));
      expect(byDays.digest?.max.available.toFixed(2)).toBe('99999.00');
    });

    it('GIVEN a database from before roll-ups WHEN it is opened THEN migration 0003 rolls up its readings and every figure is kept', async () => {
      const { options, drop } = await backend.fresh();
      drops.push(drop);
      // The schema and rows as the previous version wrote them: migration 0001 only, raw readings.
      const old = new Kysely<Database>({
        dialect:
          backend.dialect === 'sqlite'
            ? new SqliteDialect({ database: new SQLite(options.sqlitePath) })
            : new PostgresDialect({ pool: new pg.Pool({ connectionString: options.databaseUrl!, max: 1 }) }),
      });
      const only0001: MigrationProvider = {
        getMigrations: async () => ({ '0001_initial': migrations(backend.dialect)['0001_initial']! }),
      };
      const { error } = await new Migrator({ db: old, provider: only0001 }).migrateToLatest();
      expect(error).toBeUndefined();
      const rows = generate('claude', 20, now.getTime(), 5);
      for (let i = 0; i < rows.length; i += 400) {
        await old
          .insertInto('readings')
          .values(
            rows.slice(i, i + 400).map((r) => ({
              provider: r.provider,
              checked_at: r.checkedAt.getTime(),
              as_of: dated(r) ? r.asOf.getTime() : null,
              ok: r.ok ? 1 : 0,
              currency: r.currency,
              available: r.ok ? amountToText(r.available) : null,
              voucher: null,
              cash: null,
              latency_ms: 30,
              error: r.ok ? null : r.reason,
              source: 'check',
              dedupe_key: null,
            })),
          )
          .execute();
      }
      await old.destroy();

      const db = await openDatabase(options);
      try {
        const hours = await db.kysely.selectFrom('readings_hourly').select('start').execute();
        expect(hours.length).toBeGreaterThan(20 * 24 - 2);
        const insight = new Insight(new HistoryStore(db));
        for (const periodMs of [7 * DAY, 30 * DAY]) {
          const report = await insight.report('claude', periodMs, parseAmount('5'), 'USD', now);
          const raw = rawReport(rows, periodMs, now);
          expect(plain(report.stats)).toEqual(raw.stats);
          expect(plain(report.forecast)).toEqual(raw.forecast);
          expect(report.failures).toBe(raw.failures);
        }
      } finally {
        await db.close();
      }
    });
  });
}
