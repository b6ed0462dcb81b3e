import { type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import { figureKind } from '../../core/accounts.js';
import { type Digest, digestObservations, type FigureKind, joinDigests } from '../../core/digest.js';
import { distinctObservations, type HistoryPoint } from '../../core/forecast.js';
import {
  type Amount,
  amountToText,
  type Currency,
  implausibleReason,
  isImplausible,
  parseAmount,
} from '../../core/money.js';
import type { DayDigests } from '../../core/spend.js';
import type { CheckResult, ProviderId } from '../../core/types.js';
import type { Database, Db, ReadingsTable } from './db.js';
import {
  buildHour,
  digestOfRow,
  HOUR_MS,
  type HourlyRollupTable,
  hourOf,
  joinRollupRows,
  type RawForRollup,
  type RollupDigestRow,
  rollupChartPoints,
  rowFromDigest,
} from './rollups.js';

/** A reading as stored: the same facts as a `CheckResult`, with its row id and source. */
export type StoredReading =
  | {
      readonly ok: true;
      readonly id: number;
      readonly provider: ProviderId;
      readonly currency: Currency;
      readonly checkedAt: Date;
      /** `null`: the reading's as-of time is unknown (a Claude row with a NULL `updated_at`). */
      readonly asOf: Date | null;
      readonly available: Amount;
      readonly voucher: Amount | null;
      readonly cash: Amount | null;
      readonly latencyMs: number;
      readonly source: 'check' | 'import';
    }
  | {
      readonly ok: false;
      readonly id: number;
      readonly provider: ProviderId;
      readonly currency: Currency;
      readonly checkedAt: Date;
      readonly reason: string;
      readonly latencyMs: number;
      readonly source: 'check' | 'import';
    };

/** A reading from a balance-log file, keyed so that importing it twice adds nothing. */
export interface ImportedReading {
  readonly provider: ProviderId;
  readonly currency: Currency;
  readonly at: Date;
  readonly available: Amount;
  readonly voucher?: Amount;
  readonly cash?: Amount;
}

const DAY_MS = 86_400_000;
/** Periods up to this long are read from the raw readings alone: every reading is drawn. */
const RAW_PERIOD_MS = 2 * DAY_MS;
/** Charts of periods up to this long draw every hour; longer ones draw days. */
const HOURLY_CHART_MAX_MS = 100 * DAY_MS;
/** About as many points as a chart has pixels; longer periods draw groups of hours. */
const CHART_BUCKETS = 1600;
/** Raw rows deleted per statement when old readings are pruned; keeps each step short. */
const PRUNE_CHUNK = 5000;
/** How far before a daily spend series' first day its previous observation is looked for. */
const BEFORE_LOOKBACK_MS = 7 * DAY_MS;
/** Rows per insert statement; keeps each statement under SQLite's bound-parameter limit. */
const INSERT_CHUNK = 500;

type Kx = Kysely<Database>;

/** A period of one provider's history, read from the coarsest series that gives every figure exactly. */
export interface HistoryWindow {
  /** The period's successful observations, digested; null when there are none. */
  readonly digest: Digest | null;
  /** Failed checks in the period. */
  readonly failures: number;
  /**
   * Points to draw, oldest first: every reading when the period was read raw, else each hour's (or group
   * of hours') first, lowest, highest and last observation. Empty unless asked for.
   */
  readonly points: readonly HistoryPoint[];
  /** `raw` when every reading was read; `hourly` when whole hours came from the roll-ups. */
  readonly resolution: 'raw' | 'hourly';
}

export interface HistoryOptions {
  /** Days raw readings are kept; older ones live on in the hourly roll-ups. Default 90. */
  readonly rawDays?: number;
}

/**
 * Every balance check, ok or failed, in the SQL store: raw readings for the last `rawDays` days and an
 * hourly roll-up of every hour (see `rollups.ts`), kept for good and maintained on each write.
 *
 * Each roll-up row is a pure function of the raw rows of its hour, so writes simply recompute the hours they
 * touch from the raw rows. Hours older than the raw horizon (per provider, `raw_from:<provider>` in
 * `history_state`) have lost their raw rows; a reading arriving for such an hour is added only when the hour
 * has no roll-up yet (an import of old logs), never merged into one that exists, so importing twice never
 * counts twice.
 */
export class HistoryStore {
  private readonly rawDays: number;

  constructor(
    private readonly db: Db,
    options: HistoryOptions = {},
  ) {
    this.rawDays = options.rawDays ?? 90;
  }

  /** Records the results of one check run: one insert, then the touched hours' roll-ups, in one transaction. */
  async record(results: readonly CheckResult[]): Promise<void> {
    if (results.length === 0) return;
    const rows = results.map((r) => ({
      provider: r.provider,
      checked_at: r.checkedAt.getTime(),
      as_of: r.ok && r.asOf !== null ? r.asOf.getTime() : null,
      ok: r.ok ? 1 : 0,
      currency: r.currency,
      available: r.ok ? amountToText(r.available) : null,
      voucher: r.ok && r.voucher ? amountToText(r.voucher) : null,
      cash: r.ok && r.cash ? amountToText(r.cash) : null,
      latency_ms: Math.round(r.latencyMs),
      error: r.ok ? null : r.reason,
      source: 'check',
      dedupe_key: null,
    }));
    await this.write(rows);
  }

  /** Inserts imported readings, skipping those already present. Returns how many were new. */
  async import(readings: readonly ImportedReading[]): Promise<{ inserted: number; existing: number }> {
    let inserted = 0;
    for (let i = 0; i < readings.length; i += INSERT_CHUNK) {
      const chunk = readings.slice(i, i + INSERT_CHUNK).map((r) => ({
        provider: r.provider,
        checked_at: r.at.getTime(),
        as_of: r.at.getTime(),
        ok: 1,
        currency: r.currency,
        available: amountToText(r.available),
        voucher: r.voucher ? amountToText(r.voucher) : null,
        cash: r.cash ? amountToText(r.cash) : null,
        latency_ms: 0,
        error: null,
        source: 'import',
        dedupe_key: `import:${r.provider}:${r.at.getTime()}:${amountToText(r.available)}`,
      }));
      inserted += await this.write(chunk);
    }
    return { inserted, existing: readings.length - inserted };
  }

  /**
   * Inserts raw rows and brings the roll-ups of the hours they touch up to date, in one transaction (on
   * Postgres under an advisory lock, so two replicas never recompute an hour from different snapshots).
   * Returns how many readings took effect.
   */
  private async write(rows: readonly Insertable<ReadingsTable>[]): Promise<number> {
    return this.db.kysely.transaction().execute(async (trx) => {
      if (this.db.dialect === 'postgres')
        await sql`select pg_advisory_xact_lock(${ROLLUP_LOCK})`.execute(trx);
      const horizonGuess = hourOf(Date.now() - this.rawDays * DAY_MS) - DAY_MS;
      const keyHour = (r: KeyedRow) => hourOf(Number(r.ok ? r.as_of : r.checked_at));
      // Only readings near or past the raw horizon need the stored horizon (an old import, a stale source).
      // A successful reading of unknown age (no as_of) is kept raw but is in no figure, so in no roll-up.
      const rolled = (r: KeyedRow) => !(r.ok && (r.as_of === null || r.as_of === undefined));
      const old = rows.filter((r) => rolled(r) && keyHour(r) < horizonGuess + 2 * DAY_MS);
      const rawFrom = old.length > 0 ? await rawHorizons(trx, unique(old.map((r) => r.provider))) : new Map();
      const live: Insertable<ReadingsTable>[] = [];
      const sealed: Insertable<ReadingsTable>[] = [];
      for (const r of rows) {
        if (rolled(r) && keyHour(r) < (rawFrom.get(r.provider) ?? Number.NEGATIVE_INFINITY)) sealed.push(r);
        else live.push(r);
      }
      let inserted = 0;
      const touched: { provider: string; hour: number }[] = [];
      for (let i = 0; i < live.length; i += INSERT_CHUNK) {
        const chunk = live.slice(i, i + INSERT_CHUNK);
        const needsDedupe = chunk.some((r) => r.dedupe_key !== null && r.dedupe_key !== undefined);
        if (!needsDedupe) {
          await trx.insertInto('readings').values(chunk).execute();
          inserted += chunk.length;
          for (const r of chunk) if (rolled(r)) touched.push({ provider: r.provider, hour: keyHour(r) });
          continue;
        }
        // Which ones were new decides which hours change; `returning` says so on both backends.
        const added = await trx
          .insertInto('readings')
          .values(chunk)
          .onConflict((oc) => oc.column('dedupe_key').doNothing())
          .returning(['provider', 'ok', 'as_of', 'checked_at'])
          .execute();
        inserted += added.length;
        for (const r of added) if (rolled(r)) touched.push({ provider: r.provider, hour: keyHour(r) });
      }
      await refreshHours(trx, touched);
      inserted += await addSealed(trx, sealed, keyHour);
      // A finished day already rolled up (an import, a late reading) is rolled up again from its hours.
      const today = dayOf(Date.now());
      const pastDays = [
        ...touched,
        ...sealed.map((r) => ({ provider: r.provider, hour: keyHour(r) })),
      ].filter((t) => t.hour < today);
      if (pastDays.length > 0) await refreshDays(trx, pastDays);
      return inserted;
    });
  }

  /**
   * Deletes raw readings older than `rawDays` before `now` (their hours are already rolled up), a chunk per
   * statement. Each provider's horizon is stored first, so an interrupted prune never leaves an hour that is
   * neither raw nor sealed. Run by the bot's hourly `history-retention` job. Returns how many rows went.
   */
  async prune(now: Date): Promise<number> {
    const horizon = hourOf(now.getTime() - this.rawDays * DAY_MS);
    const kx = this.db.kysely;
    const providers = await kx.selectFrom('readings_hourly').select('provider').distinct().execute();
    let deleted = 0;
    for (const { provider } of providers) {
      await kx
        .insertInto('history_state')
        .values({ name: `raw_from:${provider}`, value: horizon })
        .onConflict((oc) =>
          oc.column('name').doUpdateSet({ value: horizon }).where('history_state.value', '<', horizon),
        )
        .execute();
      for (const ok of [1, 0] as const) {
        const column = ok === 1 ? 'as_of' : 'checked_at';
        for (;;) {
          const ids = kx
            .selectFrom('readings')
            .select('id')
            .where('provider', '=', provider)
            .where(column, '<', horizon)
            .where('ok', '=', ok)
            .limit(PRUNE_CHUNK);
          const result = await kx.deleteFrom('readings').where('id', 'in', ids).executeTakeFirst();
          const n = Number(result.numDeletedRows);
          deleted += n;
          if (n < PRUNE_CHUNK) break;
        }
      }
    }
    return deleted;
  }

  /**
   * The successful observations of `provider` with `asOf` in `[from, to]` and the failed checks with
   * `checkedAt` in it. Periods up to two days are read raw; longer ones read whole hours from the roll-ups
   * and the partial hours at either end raw, so every figure (spend, top-ups, min/max, counts) is the one the
   * raw readings give. Where raw readings are gone (older than the raw horizon) the period starts at the
   * beginning of the hour holding `from`.
   */
  async window(
    provider: string,
    from: Date,
    to: Date,
    options: {
      points?: boolean;
      /** The coarsest series to read: whole days (default, except charts up to ~100 days), hours, or raw. */
      coarsest?: 'day' | 'hour' | 'raw';
    } = {},
  ): Promise<HistoryWindow> {
    const wantPoints = options.points ?? false;
    const lo = from.getTime();
    const hi = to.getTime();
    const rawFrom = (await rawHorizons(this.db.kysely, [provider])).get(provider) ?? Number.NEGATIVE_INFINITY;
    if ((hi - lo <= RAW_PERIOD_MS || options.coarsest === 'raw') && lo >= rawFrom) {
      const raw = await this.rawPart(provider, lo, hi, true);
      return {
        digest: raw.digest,
        failures: raw.failures,
        points: wantPoints ? raw.points : [],
        resolution: 'raw',
      };
    }
    const firstWhole = lo >= rawFrom ? hourOf(lo) + (hourOf(lo) === lo ? 0 : HOUR_MS) : hourOf(lo);
    const tailStart = Math.max(hourOf(hi), firstWhole);
    // Charts up to ~100 days draw hours; longer ones, and forecasts, read whole days where they are rolled up.
    const useDays =
      options.coarsest === 'day' ||
      (options.coarsest === undefined && (!wantPoints || hi - lo > HOURLY_CHART_MAX_MS));
    const [head, rollups, tail] = await Promise.all([
      firstWhole > lo ? this.rawPart(provider, lo, firstWhole, false) : null,
      this.rollups(provider, firstWhole, tailStart, useDays),
      this.rawPart(provider, tailStart, hi, true),
    ]);
    let failures = (head?.failures ?? 0) + tail.failures;
    for (const row of rollups) failures += Number(row.failures);
    // The rows are joined as integers (no digest per row). The longest bucket among the rows that hold an
    // observation is the grain, as joining their digests gives.
    const grain = rollups.reduce((g, r) => (r.first_at !== null ? Math.max(g, r.grainMs) : g), 0);
    // Thousands of rows are joined, then drawn: each in a turn of the event loop of its own (after the last
    // part of the rows arrived, after the join), so no other interaction waits for the whole of it.
    await loopTurn();
    const kind = figureKind(provider);
    const digest = joinDigests(
      [head?.digest ?? null, joinRollupRows(rollups, grain, kind), tail.digest],
      kind,
    );
    if (!wantPoints) return { digest, failures, points: [], resolution: 'hourly' };
    await loopTurn();
    const points = [...(head?.points ?? []), ...rollupChartPoints(rollups, CHART_BUCKETS), ...tail.points];
    return { digest, failures, points, resolution: 'hourly' };
  }

  /**
   * Roll-up rows covering the whole hours `[lo, hi)`, oldest first: daily rows for the whole days that have
   * one (when `useDays`), hourly rows for the rest.
   */
  private async rollups(
    provider: string,
    lo: number,
    hi: number,
    useDays: boolean,
  ): Promise<(Selectable<HourlyRollupTable> & { grainMs: number })[]> {
    if (hi <= lo) return [];
    const kx = this.db.kysely;
    const hourly = async (from: number, to: number) =>
      withGrain(await rollupsBetween(kx, 'readings_hourly', [provider], from, to), HOUR_MS);
    const firstDay = dayOf(lo) === lo ? lo : dayOf(lo) + DAY_MS;
    const lastDay = dayOf(hi);
    if (!useDays || lastDay <= firstDay) return hourly(lo, hi);
    const days = await rollupsBetween(kx, 'readings_daily', [provider], firstDay, lastDay);
    // Stretches not covered by a daily row (the partial days at the ends, days not rolled up yet) read hours.
    const gaps: [number, number][] = [];
    let cursor = lo;
    for (const d of days) {
      const start = Number(d.start);
      if (start > cursor) gaps.push([cursor, start]);
      cursor = start + DAY_MS;
    }
    if (hi > cursor) gaps.push([cursor, hi]);
    const filled = await Promise.all(gaps.map(([from, to]) => hourly(from, to)));
    return [...withGrain(days, DAY_MS), ...filled.flat()].sort((a, b) => Number(a.start) - Number(b.start));
  }

  /**
   * Rolls the hours of every finished UTC day (before `now`'s day) that has no daily row yet into one, a
   * month at a time per provider. Run by the hourly maintenance job; reads use hourly rows until then.
   */
  async compact(now: Date): Promise<number> {
    const kx = this.db.kysely;
    const today = dayOf(now.getTime());
    const providers = await kx.selectFrom('readings_hourly').select('provider').distinct().execute();
    let built = 0;
    for (const { provider } of providers) {
      const newest = await kx
        .selectFrom('readings_daily')
        .select((eb) => eb.fn.max('start').as('start'))
        .where('provider', '=', provider)
        .executeTakeFirst();
      const oldest = await kx
        .selectFrom('readings_hourly')
        .select('start')
        .where('provider', '=', provider)
        .orderBy('start', 'asc')
        .limit(1)
        .executeTakeFirst();
      if (!oldest) continue;
      const from = newest?.start != null ? Number(newest.start) + DAY_MS : dayOf(Number(oldest.start));
      for (let chunk = from; chunk < today; chunk += 31 * DAY_MS) {
        const rows = await rebuildDays(kx, provider, chunk, Math.min(chunk + 31 * DAY_MS, today));
        built += rows;
      }
    }
    return built;
  }

  /** Raw readings with `asOf` in `[lo, hi)` (or `[lo, hi]`), and the failures checked in the same span. */
  private async rawPart(
    provider: string,
    lo: number,
    hi: number,
    inclusive: boolean,
  ): Promise<{ digest: Digest | null; failures: number; points: HistoryPoint[] }> {
    const kx = this.db.kysely;
    const [rows, failed] = await Promise.all([
      kx
        .selectFrom('readings')
        .select(['checked_at', 'as_of', 'available', 'voucher', 'cash'])
        .where('provider', '=', provider)
        .where('ok', '=', 1)
        .where('as_of', '>=', lo)
        .where('as_of', inclusive ? '<=' : '<', hi)
        .orderBy('checked_at', 'asc')
        .orderBy('id', 'asc')
        .execute(),
      kx
        .selectFrom('readings')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('provider', '=', provider)
        .where('ok', '=', 0)
        .where('checked_at', '>=', lo)
        .where('checked_at', inclusive ? '<=' : '<', hi)
        .executeTakeFirstOrThrow(),
    ]);
    const raw = rawDigest(rows, figureKind(provider));
    return { ...raw, failures: Number(failed.n) + raw.implausible };
  }

  /**
   * The digests of the trailing window `[from, to]` of several providers at once, as `window(p, from, to,
   * { coarsest: 'hour' })` gives each (the hourly summary's forecasts: one query per part for every provider,
   * not one set per provider). Failures are not counted. A provider whose raw readings do not reach back to
   * `from` is read by `window`.
   */
  async windows(providers: readonly string[], from: Date, to: Date): Promise<Map<string, Digest | null>> {
    const out = new Map<string, Digest | null>();
    if (providers.length === 0) return out;
    const lo = from.getTime();
    const hi = to.getTime();
    const kx = this.db.kysely;
    const horizons = await rawHorizons(kx, providers);
    const within = providers.filter((p) => lo >= (horizons.get(p) ?? Number.NEGATIVE_INFINITY));
    const beyond = providers.filter((p) => !within.includes(p));
    const whole = hourOf(lo) + (hourOf(lo) === lo ? 0 : HOUR_MS);
    const tailStart = Math.max(hourOf(hi), whole);
    const rawRows = (a: number, b: number, inclusive: boolean) =>
      kx
        .selectFrom('readings')
        .select(['provider', 'checked_at', 'as_of', 'available', 'voucher', 'cash'])
        .where('provider', 'in', within)
        .where('ok', '=', 1)
        .where('as_of', '>=', a)
        .where('as_of', inclusive ? '<=' : '<', b)
        .orderBy('checked_at', 'asc')
        .orderBy('id', 'asc')
        .execute();
    const [head, hours, tail, others] = await Promise.all([
      within.length > 0 && whole > lo ? rawRows(lo, whole, false) : [],
      within.length > 0 && tailStart > whole
        ? rollupsBetween(kx, 'readings_hourly', within, whole, tailStart)
        : [],
      within.length > 0 ? rawRows(tailStart, hi, true) : [],
      Promise.all(beyond.map((p) => this.window(p, from, to, { coarsest: 'hour' }))),
    ]);
    const byProvider = <T extends { provider: string }>(rows: readonly T[]) => {
      const map = new Map<string, T[]>();
      for (const r of rows) {
        const list = map.get(r.provider);
        if (list) list.push(r);
        else map.set(r.provider, [r]);
      }
      return map;
    };
    const heads = byProvider(head);
    const rolled = byProvider(hours);
    const tails = byProvider(tail);
    for (const p of within) {
      // A week of hours per provider, 30 providers: one provider per turn of the event loop.
      await loopTurn();
      const kind = figureKind(p);
      out.set(
        p,
        joinDigests(
          [
            rawDigest(heads.get(p) ?? [], kind).digest,
            joinRollupRows(rolled.get(p) ?? [], HOUR_MS, kind),
            rawDigest(tails.get(p) ?? [], kind).digest,
          ],
          kind,
        ),
      );
    }
    beyond.forEach((p, i) => {
      out.set(p, others[i]!.digest);
    });
    return out;
  }

  /**
   * Each UTC day's digest of several providers' observations, for the days from `firstDay` (a day start) to the
   * day holding `to`, and the newest observation in the week before `firstDay` (see `spendFromDigests` in
   * `core/spend.ts`). Read from the daily roll-ups where a day has one and the hourly roll-ups for the rest
   * (today, days not compacted yet): the current hour's roll-up is kept up to date by every write, so whole
   * days need no raw rows. Rows in another currency than `currencies` names for the provider are left out (a
   * currency switch is neither spend nor a top-up). Four queries for any number of providers.
   */
  async dayDigests(
    providers: readonly string[],
    firstDay: number,
    to: Date,
    currencies: ReadonlyMap<string, string> = new Map(),
  ): Promise<Map<string, DayDigests>> {
    const out = new Map<string, DayDigests>();
    if (providers.length === 0) return out;
    const kx = this.db.kysely;
    const end = dayOf(to.getTime()) + DAY_MS;
    const [daily, latestBefore] = await Promise.all([
      rollupsBetween(kx, 'readings_daily', providers, firstDay, end),
      kx
        .selectFrom('readings_hourly')
        .select((eb) => ['provider', eb.fn.max('start').as('start')])
        .where('provider', 'in', providers)
        .where('start', '>=', firstDay - BEFORE_LOOKBACK_MS)
        .where('start', '<', firstDay)
        .where('last_at', 'is not', null)
        .groupBy('provider')
        .execute(),
    ]);
    const covered = new Set(daily.map((r) => `${r.provider}\u0000${Number(r.start)}`));
    // Hours are read from the first day any provider lacks a daily row for (usually just today).
    let hoursFrom = end;
    for (const p of providers) {
      for (let day = firstDay; day < end && day < hoursFrom; day += DAY_MS)
        if (!covered.has(`${p}\u0000${day}`)) hoursFrom = day;
    }
    const beforeStarts = latestBefore.flatMap((r) => (r.start === null ? [] : [Number(r.start)]));
    const [hourly, beforeRows] = await Promise.all([
      hoursFrom < end ? rollupsBetween(kx, 'readings_hourly', providers, hoursFrom, end) : [],
      beforeStarts.length > 0
        ? kx
            .selectFrom('readings_hourly')
            .select(['provider', 'start', 'last_at', 'last_value', 'currency'])
            .where('provider', 'in', providers)
            .where('start', 'in', [...new Set(beforeStarts)])
            .execute()
        : [],
    ]);
    const newest = new Map(latestBefore.map((r) => [r.provider, Number(r.start)]));
    const inCurrency = (r: { provider: string; currency: string }) => {
      const c = currencies.get(r.provider);
      return c === undefined || c === r.currency;
    };
    const byProviderDay = new Map<string, Map<number, RollupRow[]>>();
    const add = (r: RollupRow) => {
      if (!inCurrency(r)) return;
      const day = dayOf(Number(r.start));
      const days = byProviderDay.get(r.provider) ?? new Map<number, RollupRow[]>();
      byProviderDay.set(r.provider, days);
      const list = days.get(day);
      if (list) list.push(r);
      else days.set(day, [r]);
    };
    for (const r of daily) add(r);
    for (const r of hourly) if (!covered.has(`${r.provider}\u0000${dayOf(Number(r.start))}`)) add(r);
    for (const p of providers) {
      // A provider per turn of the event loop, as `windows` does.
      await loopTurn();
      const days = new Map<number, Digest | null>();
      for (const [day, rows] of byProviderDay.get(p) ?? []) {
        rows.sort((a, b) => Number(a.start) - Number(b.start));
        days.set(day, joinRollupRows(rows, HOUR_MS));
      }
      const b = beforeRows.find(
        (r) =>
          r.provider === p && Number(r.start) === newest.get(p) && inCurrency(r) && r.last_value !== null,
      );
      const before =
        b && b.last_at !== null && b.last_value !== null
          ? { asOf: new Date(Number(b.last_at)), available: parseAmount(b.last_value) }
          : null;
      out.set(p, { before, days });
    }
    return out;
  }

  /** Readings of `provider` checked in `[from, to]`, oldest first (raw; only within the raw horizon). */
  async range(provider: ProviderId, from: Date, to: Date): Promise<StoredReading[]> {
    const rows = await this.db.kysely
      .selectFrom('readings')
      .selectAll()
      .where('provider', '=', provider)
      .where('checked_at', '>=', from.getTime())
      .where('checked_at', '<=', to.getTime())
      .orderBy('checked_at', 'asc')
      .orderBy('id', 'asc')
      .execute();
    return rows.map(toStored);
  }

  /** Raw readings held (within the raw horizon). */
  async count(): Promise<number> {
    const row = await this.db.kysely
      .selectFrom('readings')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

/** A roll-up row as `dayDigests` reads it. */
type RollupRow = RollupDigestRow & { provider: string; start: number | string; currency: string };

/** Roll-up rows of `providers` whose bucket starts in `[from, to)`, ordered by provider, then start. */
function rollupsBetween(
  kx: Kx,
  table: 'readings_hourly' | 'readings_daily',
  providers: readonly string[],
  from: number,
  to: number,
): Promise<Selectable<HourlyRollupTable>[]> {
  return kx
    .selectFrom(table)
    .selectAll()
    .where('provider', 'in', providers)
    .where('start', '>=', from)
    .where('start', '<', to)
    .orderBy('provider', 'asc')
    .orderBy('start', 'asc')
    .execute();
}

/**
 * Raw successful rows (ordered by `checked_at`, then id) as a digest and chart points: one observation per
 * `as_of`, the latest check winning; an implausible stored amount is counted (a failure), not used.
 */
function rawDigest(
  rows: readonly {
    checked_at: number;
    as_of: number | null;
    available: string | null;
    voucher: string | null;
    cash: string | null;
  }[],
  kind: FigureKind,
): { digest: Digest | null; implausible: number; points: HistoryPoint[] } {
  const points: HistoryPoint[] = [];
  let implausible = 0;
  for (const r of rows) {
    if (r.available === null) continue;
    if (storedImplausible(r)) {
      implausible++;
      continue;
    }
    points.push({
      checkedAt: new Date(Number(r.checked_at)),
      asOf: new Date(Number(r.as_of ?? r.checked_at)),
      available: parseAmount(r.available),
    });
  }
  const observations = distinctObservations(points);
  return {
    digest: digestObservations(observations, points.length, kind),
    implausible,
    points: observations.map((o) => ({ checkedAt: o.asOf, asOf: o.asOf, available: o.available })),
  };
}

/**
 * Lets the event loop turn (timers, I/O, other interactions) before the next piece of a long read is computed.
 * `setImmediate`, not a timer: under no load it costs microseconds.
 */
const loopTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Tags fetched roll-up rows with their bucket's length in place (no copy of thousands of rows). */
function withGrain<T extends object>(rows: T[], grainMs: number): (T & { grainMs: number })[] {
  for (const row of rows) (row as T & { grainMs: number }).grainMs = grainMs;
  return rows as (T & { grainMs: number })[];
}

const dayOf = (ms: number): number => ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS);

/** Daily rows for the days in `[from, to)` (day starts), each the join of its hourly rows. Returns how many. */
async function rebuildDays(kx: Kx, provider: string, from: number, to: number): Promise<number> {
  const hours = await rollupsBetween(kx, 'readings_hourly', [provider], from, to);
  const byDay = new Map<number, Selectable<HourlyRollupTable>[]>();
  for (const h of hours) {
    const day = dayOf(Number(h.start));
    const list = byDay.get(day);
    if (list) list.push(h);
    else byDay.set(day, [h]);
  }
  const rows: HourlyRollupTable[] = [];
  for (const [day, list] of byDay) {
    const failures = list.reduce((n, h) => n + Number(h.failures), 0);
    const digest = joinDigests(list.map((h) => digestOfRow(h, HOUR_MS)));
    rows.push(rowFromDigest(provider, day, digest, failures, list.at(-1)!.currency));
  }
  await upsertRollups(kx, 'readings_daily', rows);
  return rows.length;
}

/** Rebuilds the daily rows that exist for the days of `touched`. */
async function refreshDays(kx: Kx, touched: readonly { provider: string; hour: number }[]): Promise<void> {
  for (const provider of unique(touched.map((t) => t.provider))) {
    const days = unique(touched.filter((t) => t.provider === provider).map((t) => dayOf(t.hour)));
    const existing = await kx
      .selectFrom('readings_daily')
      .select('start')
      .where('provider', '=', provider)
      .where('start', 'in', days)
      .execute();
    for (const { start } of existing) await rebuildDays(kx, provider, Number(start), Number(start) + DAY_MS);
  }
}

/**
 * A successful row stored before implausible amounts (1e15 and up) were refused: read as the failure it is,
 * as `toStored` does.
 */
function storedImplausible(r: {
  available: string | null;
  voucher: string | null;
  cash: string | null;
}): boolean {
  // Stored text has no exponent: below 16 characters it is below 1e15, without parsing it.
  return [r.available, r.voucher, r.cash].some(
    (v) => v !== null && v.length >= 16 && isImplausible(parseAmount(v)),
  );
}

/** What decides a raw row's hour: successful readings by `as_of`, failures by `checked_at`. */
type KeyedRow = { readonly ok: number; readonly as_of?: number | null; readonly checked_at: number };

/** Any fixed number: the one advisory lock roll-up writers take on Postgres. */
const ROLLUP_LOCK = 720_903_001;

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

async function rawHorizons(kx: Kx, providers: readonly string[]): Promise<Map<string, number>> {
  const rows = await kx
    .selectFrom('history_state')
    .select(['name', 'value'])
    .where(
      'name',
      'in',
      providers.map((p) => `raw_from:${p}`),
    )
    .execute();
  return new Map(rows.map((r) => [r.name.slice('raw_from:'.length), Number(r.value)]));
}

/**
 * Recomputes the roll-up of every touched `(provider, hour)` from the raw rows. Hours close together are
 * read with one query per run (all providers sharing the run together), so one check round of many
 * providers costs three statements.
 */
export async function refreshHours(
  kx: Kx,
  touched: readonly { provider: string; hour: number }[],
): Promise<void> {
  if (touched.length === 0) return;
  const byProvider = new Map<string, Set<number>>();
  for (const t of touched) {
    const hours = byProvider.get(t.provider);
    if (hours) hours.add(t.hour);
    else byProvider.set(t.provider, new Set([t.hour]));
  }
  // Runs of touched hours (gaps up to 6 hours are read through: those hours are raw too, and recomputing
  // them gives the same row), grouped by run so providers checked together share each query.
  interface Run {
    lo: number;
    hi: number;
    providers: string[];
    hours: Map<string, Set<number>>;
  }
  const runs = new Map<string, Run>();
  for (const [provider, set] of byProvider) {
    const hours = [...set].sort((a, b) => a - b);
    let lo = hours[0]!;
    let prev = lo;
    const flush = (hi: number) => {
      const key = `${lo}:${hi}`;
      const run: Run = runs.get(key) ?? { lo, hi, providers: [], hours: new Map() };
      runs.set(key, run);
      run.providers.push(provider);
      run.hours.set(provider, set);
    };
    for (const h of hours.slice(1)) {
      if (h - prev > 6 * HOUR_MS) {
        flush(prev + HOUR_MS);
        lo = h;
      }
      prev = h;
    }
    flush(prev + HOUR_MS);
  }
  const out: HourlyRollupTable[] = [];
  for (const run of runs.values()) {
    out.push(
      ...(await rollUp(kx, run.providers, run.lo, run.hi, (p, h) => run.hours.get(p)?.has(h) ?? false)),
    );
  }
  await upsertHours(kx, out);
}

/** Roll-up rows of `providers` for the hours in `[lo, hi)` that `wanted` selects, from the raw rows. */
async function rollUp(
  kx: Kx,
  providers: readonly string[],
  lo: number,
  hi: number,
  wanted: (provider: string, hour: number) => boolean,
): Promise<HourlyRollupTable[]> {
  const [okRows, failed] = await Promise.all([
    kx
      .selectFrom('readings')
      .select(['provider', 'checked_at', 'as_of', 'available', 'voucher', 'cash', 'currency'])
      .where('provider', 'in', providers)
      .where('ok', '=', 1)
      .where('as_of', '>=', lo)
      .where('as_of', '<', hi)
      .orderBy('checked_at', 'asc')
      .orderBy('id', 'asc')
      .execute(),
    kx
      .selectFrom('readings')
      .select(['provider', 'checked_at', 'currency'])
      .where('provider', 'in', providers)
      .where('ok', '=', 0)
      .where('checked_at', '>=', lo)
      .where('checked_at', '<', hi)
      .orderBy('checked_at', 'asc')
      .execute(),
  ]);
  const groups = new Map<
    string,
    { provider: string; hour: number; ok: RawForRollup[]; failures: number; failureCurrency: string | null }
  >();
  const group = (provider: string, hour: number) => {
    const key = `${provider}\u0000${hour}`;
    const g = groups.get(key) ?? { provider, hour, ok: [], failures: 0, failureCurrency: null };
    groups.set(key, g);
    return g;
  };
  for (const r of okRows) {
    const hour = hourOf(Number(r.as_of));
    if (!wanted(r.provider, hour)) continue;
    const g = group(r.provider, hour);
    if (storedImplausible(r)) g.failures++;
    else g.ok.push(r);
  }
  for (const r of failed) {
    const hour = hourOf(Number(r.checked_at));
    if (!wanted(r.provider, hour)) continue;
    const g = group(r.provider, hour);
    g.failures++;
    g.failureCurrency = r.currency;
  }
  return [...groups.values()].map((g) => buildHour(g.provider, g.hour, g.ok, g.failures, g.failureCurrency));
}

async function upsertHours(kx: Kx, rows: readonly HourlyRollupTable[]): Promise<void> {
  await upsertRollups(kx, 'readings_hourly', rows);
}

async function upsertRollups(
  kx: Kx,
  table: 'readings_hourly' | 'readings_daily',
  rows: readonly HourlyRollupTable[],
): Promise<void> {
  // 16 columns a row: 500 rows stay under SQLite's and Postgres's bound-parameter limits.
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await kx
      .insertInto(table)
      .values(rows.slice(i, i + INSERT_CHUNK))
      .onConflict((oc) =>
        oc.columns(['provider', 'start']).doUpdateSet((eb) => ({
          currency: eb.ref('excluded.currency'),
          readings: eb.ref('excluded.readings'),
          failures: eb.ref('excluded.failures'),
          observations: eb.ref('excluded.observations'),
          first_at: eb.ref('excluded.first_at'),
          first_value: eb.ref('excluded.first_value'),
          last_at: eb.ref('excluded.last_at'),
          last_value: eb.ref('excluded.last_value'),
          min_at: eb.ref('excluded.min_at'),
          min_value: eb.ref('excluded.min_value'),
          max_at: eb.ref('excluded.max_at'),
          max_value: eb.ref('excluded.max_value'),
          spend: eb.ref('excluded.spend'),
          top_ups: eb.ref('excluded.top_ups'),
        })),
      )
      .execute();
  }
}

/**
 * Readings for hours whose raw rows are gone: an hour that has a roll-up keeps it (the reading is taken as
 * already there); an hour without one gets it built from these readings, which are not stored raw. Returns
 * how many readings took effect.
 */
async function addSealed(
  kx: Kx,
  rows: readonly Insertable<ReadingsTable>[],
  keyHour: (r: KeyedRow) => number,
): Promise<number> {
  if (rows.length === 0) return 0;
  const groups = new Map<string, Insertable<ReadingsTable>[]>();
  for (const r of rows) {
    const key = `${r.provider}\u0000${keyHour(r)}`;
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  const existing = new Set<string>();
  for (const provider of unique(rows.map((r) => r.provider))) {
    const hours = unique(rows.filter((r) => r.provider === provider).map(keyHour));
    for (let i = 0; i < hours.length; i += INSERT_CHUNK) {
      const found = await kx
        .selectFrom('readings_hourly')
        .select('start')
        .where('provider', '=', provider)
        .where('start', 'in', hours.slice(i, i + INSERT_CHUNK))
        .execute();
      for (const f of found) existing.add(`${provider}\u0000${Number(f.start)}`);
    }
  }
  const built: HourlyRollupTable[] = [];
  let added = 0;
  for (const [key, list] of groups) {
    if (existing.has(key)) continue;
    const first = list[0]!;
    const ok = list
      .filter((r) => r.ok === 1)
      .map((r) => ({
        checked_at: r.checked_at,
        as_of: r.as_of ?? null,
        available: r.available ?? null,
        currency: r.currency,
      }))
      .sort((a, b) => a.checked_at - b.checked_at);
    const failures = list.length - ok.length;
    built.push(buildHour(first.provider, keyHour(first), ok, failures, first.currency));
    added += list.length;
  }
  await upsertHours(kx, built);
  return added;
}

/**
 * Builds the hourly roll-ups of every raw row already in the database (migration `0003_rollups`), a week
 * at a time per provider so memory stays flat however long the history is.
 */
export async function backfillRollups(kx: Kx): Promise<void> {
  const spans = await kx
    .selectFrom('readings')
    .select((eb) => [
      'provider',
      eb.fn.min('checked_at').as('lo_checked'),
      eb.fn.max('checked_at').as('hi_checked'),
      eb.fn.min('as_of').as('lo_as_of'),
      eb.fn.max('as_of').as('hi_as_of'),
    ])
    .groupBy('provider')
    .execute();
  const week = 7 * DAY_MS;
  for (const s of spans) {
    const values = [s.lo_checked, s.hi_checked, s.lo_as_of, s.hi_as_of].filter((v) => v !== null).map(Number);
    const lo = hourOf(Math.min(...values));
    const hi = hourOf(Math.max(...values)) + HOUR_MS;
    for (let start = lo; start < hi; start += week) {
      const rows = await rollUp(kx, [s.provider], start, Math.min(start + week, hi), () => true);
      await upsertHours(kx, rows);
    }
  }
}
function toStored(row: Omit<Selectable<ReadingsTable>, 'dedupe_key'>): StoredReading {
  const base = {
    id: Number(row.id),
    provider: row.provider as ProviderId,
    currency: row.currency as Currency,
    checkedAt: new Date(Number(row.checked_at)),
    latencyMs: row.latency_ms,
    source: row.source === 'import' ? ('import' as const) : ('check' as const),
  };
  // Readings stored before the implausible-amount rule existed are read as the failures they are.
  const figures = { available: row.available, voucher: row.voucher, cash: row.cash };
  const implausible = Object.entries(figures).find(([, v]) => v !== null && isImplausible(parseAmount(v)));
  if (row.ok && implausible) {
    return { ...base, ok: false, reason: implausibleReason(implausible[0], parseAmount(implausible[1]!)) };
  }
  if (row.ok && row.available !== null) {
    return {
      ...base,
      ok: true,
      // Unknown stays unknown; earlier versions stored it as epoch 0 (no real reading is from 1970).
      asOf: row.as_of === null || Number(row.as_of) === 0 ? null : new Date(Number(row.as_of)),
      available: parseAmount(row.available),
      voucher: row.voucher === null ? null : parseAmount(row.voucher),
      cash: row.cash === null ? null : parseAmount(row.cash),
    };
  }
  return { ...base, ok: false, reason: row.error ?? 'unknown failure' };
}
