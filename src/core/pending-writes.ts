import type { Logger } from './logger.js';

/** How a buffer retries while its store refuses writes: a doubling delay between the two bounds. */
export interface RetryBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** Production backoff: 5 s doubling to 5 minutes; every new check retries at once as well. */
export const DEFAULT_STORE_RETRY: RetryBackoff = { initialMs: 5_000, maxMs: 300_000 };

export interface PendingWritesOptions<T> {
  /** What is written, for logs: `readings`, `balance-log lines (claude/balance-log.txt)`. */
  readonly name: string;
  /** Writes one item; rejects when the store refused it. */
  readonly write: (item: T) => Promise<void>;
  /**
   * Asked before writing an item again after a failed attempt: `true` when that attempt reached the
   * store after all (it committed, then the answer was lost), so the item is not written twice.
   */
  readonly landed?: (item: T) => Promise<boolean>;
  /** How much of `capacity` an item takes (default 1). */
  readonly size?: (item: T) => number;
  /** Most units held in memory; beyond it the oldest items are dropped, with an error logged. */
  readonly capacity: number;
  readonly retry: RetryBackoff;
  readonly logger: Logger;
}

interface Entry<T> {
  readonly item: T;
  readonly size: number;
  /** A write of this item failed once: it may have landed anyway. */
  tried: boolean;
}

/**
 * A write-behind buffer: items are written in the order they were added, each once. What the store
 * refuses waits in memory (bounded by `capacity`, the oldest dropped first) and is written when the
 * store answers again: at the next `add`, and on a backoff timer meanwhile. One writer at a time, so
 * order holds whoever triggers the flush. A process crash loses what is waiting.
 */
export class PendingWrites<T> {
  private readonly queue: Entry<T>[] = [];
  private held = 0;
  private dropped = 0;
  private flushing: Promise<boolean> | null = null;
  private inFlight: Entry<T> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private delayMs: number;
  private failingSince: number | null = null;
  private closed = false;

  constructor(private readonly opts: PendingWritesOptions<T>) {
    this.delayMs = opts.retry.initialMs;
  }

  /** Units waiting (for a reading buffer: readings). */
  get pending(): number {
    return this.held;
  }

  /** Units dropped since start because the buffer was full. */
  get droppedTotal(): number {
    return this.dropped;
  }

  /**
   * Queues `items` behind everything waiting and writes what it can. Never rejects: resolves `true`
   * when nothing is left waiting, `false` when some wait for the store (already logged).
   */
  add(items: readonly T[]): Promise<boolean> {
    for (const item of items) {
      const size = this.opts.size?.(item) ?? 1;
      this.queue.push({ item, size, tried: false });
      this.held += size;
    }
    this.dropOverflow();
    return this.flush();
  }

  /** Writes everything waiting, oldest first, stopping at the first refusal. Never rejects. */
  flush(): Promise<boolean> {
    if (this.flushing) {
      // The running flush loops until the queue is empty, so it also covers what was just added.
      return this.flushing;
    }
    if (this.queue.length === 0) return Promise.resolve(true);
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const run = this.drain().finally(() => {
      this.flushing = null;
    });
    this.flushing = run;
    return run;
  }

  /**
   * Stops the retry timer and makes one last attempt. What is still waiting then is lost; its size is
   * logged at error and returned.
   */
  async close(): Promise<number> {
    if (this.closed) return this.held;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
    if (this.held > 0) {
      this.opts.logger.error(
        { pending: this.held, waitingSince: this.failingSinceIso() },
        `stopping with ${this.opts.name} never written: the store did not answer`,
      );
    }
    return this.held;
  }

  private async drain(): Promise<boolean> {
    let written = 0;
    for (;;) {
      const head = this.queue[0];
      if (!head) break;
      this.inFlight = head;
      try {
        const already = head.tried && this.opts.landed ? await this.opts.landed(head.item) : false;
        if (!already) await this.opts.write(head.item);
      } catch (err) {
        head.tried = true;
        this.inFlight = null;
        this.failingSince ??= Date.now();
        const retryInMs = this.closed ? null : this.delayMs;
        this.opts.logger.warn(
          {
            err,
            pending: this.held,
            waitingSince: this.failingSinceIso(),
            ...(retryInMs === null ? {} : { retryInMs }),
          },
          `could not write ${this.opts.name}; ${this.held} waiting in memory`,
        );
        this.scheduleRetry();
        return false;
      }
      this.inFlight = null;
      // The head may have been dropped meanwhile (buffer full); only remove it if it is still first.
      if (this.queue[0] === head) {
        this.queue.shift();
        this.held -= head.size;
      }
      written += head.size;
    }
    if (this.failingSince !== null) {
      this.opts.logger.info(
        { written, waitedMs: Date.now() - this.failingSince },
        `store answers again: ${this.opts.name} waiting in memory written`,
      );
      this.failingSince = null;
    }
    this.delayMs = this.opts.retry.initialMs;
    return true;
  }

  private scheduleRetry(): void {
    if (this.closed || this.timer) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.opts.retry.maxMs, this.delayMs * 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delay);
    // A retry must not keep a CLI process alive; the bot has its own reasons to stay up.
    this.timer.unref();
  }

  private dropOverflow(): void {
    let droppedNow = 0;
    while (this.held > this.opts.capacity) {
      // Never the entry being written right now: its write may still succeed.
      const index = this.queue[0] === this.inFlight ? 1 : 0;
      const victim = this.queue[index];
      if (!victim) break;
      this.queue.splice(index, 1);
      this.held -= victim.size;
      droppedNow += victim.size;
    }
    if (droppedNow > 0) {
      this.dropped += droppedNow;
      this.opts.logger.error(
        { dropped: droppedNow, droppedTotal: this.dropped, capacity: this.opts.capacity },
        `buffer full: dropped the ${droppedNow} oldest ${this.opts.name} waiting for the store`,
      );
    }
  }

  private failingSinceIso(): string | undefined {
    return this.failingSince === null ? undefined : new Date(this.failingSince).toISOString();
  }
}
