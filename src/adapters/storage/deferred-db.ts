import { type Kysely, sql } from 'kysely';
import { oneLine } from '../../core/format.js';
import type { Logger } from '../../core/logger.js';
import type { RetryBackoff } from '../../core/pending-writes.js';
import type { Database, Db, Dialect, UnreachableListener } from './db.js';

/** A store call made before the store could be opened: callers treat it as any other store failure. */
export class StoreNotOpenError extends Error {
  constructor(describe: string, problem: string | null) {
    super(`the store (${describe}) is not open yet${problem ? `: ${problem}` : ''}`);
    this.name = 'StoreNotOpenError';
  }
}

/**
 * A store call made while the open store is unreachable (its last call could not reach the server): it
 * fails at once instead of waiting out the connection bound again. A subclass, so every caller handles it
 * as it handles a store that is not open.
 */
export class StoreUnreachableError extends StoreNotOpenError {
  constructor(describe: string, problem: string) {
    super(describe, null);
    this.message = `the store (${describe}) is unreachable (${problem}); calls fail at once until it answers again`;
    this.name = 'StoreUnreachableError';
  }
}

export interface DeferredDbOptions {
  /**
   * Opens and migrates the real database; rejects when it can't. `onUnreachable` is to be called whenever a
   * later call finds the server unreachable (see `openDatabase`).
   */
  readonly open: (onUnreachable: UnreachableListener) => Promise<Db>;
  readonly dialect: Dialect;
  /** Where it is, for logs before it is open (never credentials). */
  readonly describe: string;
  readonly retry: RetryBackoff;
  readonly logger: Logger;
}

/**
 * A `Db` that may not be open yet. Until the first successful open (and migration), reaching for
 * `kysely` throws `StoreNotOpenError`, which every caller already handles as a store failure (history
 * buffered, thresholds from the last value or the default, slots posted anyway). `keepOpening()`
 * retries with backoff, logging each failure at warn and the success at info; once open it stays
 * open (the pool reconnects by itself after later outages).
 */
export class DeferredDb implements Db {
  private inner: Db | null = null;
  private problem: string | null = null;
  private attempt: Promise<boolean> | null = null;
  private attempts = 0;
  private timer: NodeJS.Timeout | null = null;
  private delayMs: number;
  private closed = false;
  private readonly listeners: (() => void)[] = [];
  /** Why the open store is unreachable; `null` while it answers. */
  private unreachable: string | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private probeDelayMs: number;

  constructor(private readonly opts: DeferredDbOptions) {
    this.delayMs = opts.retry.initialMs;
    this.probeDelayMs = this.probeInitialMs;
  }

  get kysely(): Kysely<Database> {
    if (this.inner && this.unreachable === null) return this.inner.kysely;
    if (this.inner && this.unreachable !== null)
      throw new StoreUnreachableError(this.describe, this.unreachable);
    throw new StoreNotOpenError(this.describe, this.problem);
  }

  /** `true` while the open store is known to be unreachable (calls fail at once). */
  get isUnreachable(): boolean {
    return this.unreachable !== null;
  }

  get dialect(): Dialect {
    return this.opts.dialect;
  }

  get describe(): string {
    return this.inner?.describe ?? this.opts.describe;
  }

  get isOpen(): boolean {
    return this.inner !== null;
  }

  /** Why the last attempt to open failed (`null` once open, or before any attempt). */
  get lastProblem(): string | null {
    return this.inner ? null : this.problem;
  }

  /**
   * Calls `fn` when the store opens (at once when it already is) and again each time it answers after
   * being unreachable: the moment to write what waited.
   */
  onOpen(fn: () => void): void {
    this.listeners.push(fn);
    if (this.inner && this.unreachable === null) fn();
  }

  /** One attempt to open (shared by concurrent callers); `true` when the store is open. Never rejects. */
  tryOpen(): Promise<boolean> {
    if (this.inner) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    this.attempt ??= this.openOnce().finally(() => {
      this.attempt = null;
    });
    return this.attempt;
  }

  /** Retries opening on a backoff timer until the store is open or this handle is closed. */
  keepOpening(): void {
    if (this.inner || this.closed || this.timer) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.opts.retry.maxMs, this.delayMs * 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tryOpen().then((open) => {
        if (!open) this.keepOpening();
      });
    }, delay);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    // Not awaited: an attempt in flight (a black-holed host) could outlast shutdown; it closes what
    // it opens once it sees `closed`.
    const inner = this.inner;
    this.inner = null;
    await inner?.close();
  }

  private async openOnce(): Promise<boolean> {
    this.attempts++;
    let db: Db;
    try {
      db = await this.opts.open((error) => this.markUnreachable(error));
    } catch (err) {
      // openDatabase names the store in its message; the logs and the CLI name it once themselves.
      this.problem = (err as Error).message.replace(
        `cannot prepare the database (${this.opts.describe}): `,
        '',
      );
      this.opts.logger.warn(
        {
          store: this.opts.describe,
          attempt: this.attempts,
          problem: this.problem,
          ...(this.closed ? {} : { retryInMs: this.delayMs }),
        },
        'could not open the store; readings wait in memory and thresholds are the last known or the default meanwhile',
      );
      return false;
    }
    if (this.closed) {
      await db.close().catch((err: unknown) => {
        this.opts.logger.warn({ err, store: db.describe }, 'could not close a store opened during shutdown');
      });
      return false;
    }
    this.inner = db;
    this.problem = null;
    this.opts.logger.info({ store: db.describe, attempts: this.attempts }, 'store open');
    for (const fn of this.listeners) fn();
    return true;
  }

  /**
   * The open store could not be reached (a connection not had within its bound, a query without an
   * answer). A black-holed server would otherwise make every later call wait out its bound in turn — the
   * threshold read, the readings write, the alert-state save — and hold an alert back for that long. So
   * calls fail at once from here on, and a probe (`select 1`, backing off from 1 s to 30 s) finds out when
   * the server answers again (faster when the store's retry settings are shorter).
   */
  private markUnreachable(error: unknown): void {
    if (!this.inner || this.closed || this.unreachable !== null) return;
    this.unreachable = oneLine(error instanceof Error ? error.message || error.name : String(error), 200);
    this.opts.logger.warn(
      { store: this.describe, problem: this.unreachable },
      'store unreachable; store calls fail at once until it answers again (readings wait in memory)',
    );
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.closed || this.probeTimer) return;
    const delay = this.probeDelayMs;
    this.probeDelayMs = Math.min(Math.min(PROBE_MAX_MS, this.opts.retry.maxMs), this.probeDelayMs * 2);
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      void this.probe();
    }, delay);
    this.probeTimer.unref();
  }

  /** Probes start at 1 s (or the store's retry start, when shorter) and back off to 30 s (or its maximum). */
  private get probeInitialMs(): number {
    return Math.min(PROBE_INITIAL_MS, this.opts.retry.initialMs);
  }

  private async probe(): Promise<void> {
    const inner = this.inner;
    if (!inner || this.closed) return;
    try {
      await sql`select 1`.execute(inner.kysely);
    } catch {
      this.scheduleProbe();
      return;
    }
    if (this.closed) return;
    this.unreachable = null;
    this.probeDelayMs = this.probeInitialMs;
    this.opts.logger.info({ store: this.describe }, 'store reachable again');
    for (const fn of this.listeners) fn();
  }
}

const PROBE_INITIAL_MS = 1_000;
const PROBE_MAX_MS = 30_000;

/** Where the store configured by these settings lives, for logs (the same text `openDatabase` uses). */
export function describeStore(opts: { databaseUrl: string | null; sqlitePath: string }): string {
  if (opts.databaseUrl === null) return `sqlite ${opts.sqlitePath}`;
  try {
    const url = new URL(opts.databaseUrl);
    return `postgres ${url.hostname}:${url.port || '5432'}${url.pathname}`;
  } catch {
    return 'postgres (unparsable DATABASE_URL)';
  }
}
