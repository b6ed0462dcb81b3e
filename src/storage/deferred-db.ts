import type { Kysely } from 'kysely';
import type { Logger } from '../logger.js';
import type { Database, Db, Dialect } from './db.js';
import type { RetryBackoff } from './pending-writes.js';

/** A store call made before the store could be opened: callers treat it as any other store failure. */
export class StoreNotOpenError extends Error {
  constructor(describe: string, problem: string | null) {
    super(`the store (${describe}) is not open yet${problem ? `: ${problem}` : ''}`);
    this.name = 'StoreNotOpenError';
  }
}

export interface DeferredDbOptions {
  /** Opens and migrates the real database; rejects when it can't. */
  readonly open: () => Promise<Db>;
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

  constructor(private readonly opts: DeferredDbOptions) {
    this.delayMs = opts.retry.initialMs;
  }

  get kysely(): Kysely<Database> {
    if (this.inner) return this.inner.kysely;
    throw new StoreNotOpenError(this.describe, this.problem);
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

  /** Calls `fn` once the store is open (at once when it already is). */
  onOpen(fn: () => void): void {
    if (this.inner) fn();
    else this.listeners.push(fn);
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
      db = await this.opts.open();
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
    for (const fn of this.listeners.splice(0)) fn();
    return true;
  }
}

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
