import { Cron } from 'croner';
import type { Logger } from '../../core/logger.js';

/** What a run is told besides its slot. */
export interface RunContext {
  /**
   * Aborted when a newer slot is waiting for this run to end, or when the job stops: a run should stop
   * retrying or waiting at its next safe point (it need not cut a request in flight).
   */
  readonly signal: AbortSignal;
  /** Why the slot runs late (`the bot was down`), or `null` when it runs at its time. */
  readonly late: string | null;
}

/** A scheduled job: croner in UTC, one run at a time, each run and each skipped slot logged with its reason. */
export interface Job {
  readonly name: string;
  /** Runs the job now for `slot` (default: now), outside the schedule; queued behind a run in progress. */
  trigger(slot?: Date): Promise<void>;
  /** Runs a missed `slot` now, marked late with `reason`; queued behind a run in progress like a scheduled slot. */
  runLate(slot: Date, reason: string): Promise<void>;
  /** The next scheduled run. */
  nextRun(): Date | null;
  /** Stops scheduling and waits up to `graceMs` for a run in progress. */
  stop(graceMs: number): Promise<void>;
}

export interface JobOptions {
  /** The clock (tests move it); the system clock by default. */
  readonly now?: () => Date;
  /** A slot queued behind a run that starts this much after its time or later is marked late. Default 1000. */
  readonly lateAfterMs?: number;
}

/** Fields a run adds to its "run finished" line: what it did, e.g. what was posted where. */
export type RunOutcome = Readonly<Record<string, unknown>>;

/** The reason a queued slot is late. */
export const LATE_QUEUED = 'the previous run was still in progress';

let jobCounter = 0;

interface Pending {
  readonly slot: Date;
  readonly late: string | null;
  readonly done: (() => void)[];
}

/**
 * Schedules `run(slot, ctx)` on `pattern`. `slot` is the scheduled time of the run (the same on every
 * replica), so it can key a claim that makes one replica do the work.
 *
 * One run at a time: a slot that comes while a run is in progress waits for it and then runs, late
 * (croner's own `protect` would drop it without a word). Only the most recent waiting slot is kept — a
 * newer one supersedes it, which is logged — so a long outage ends in one catch-up run, never a flood.
 * The run in progress is told through `ctx.signal` that a newer slot is waiting.
 */
export function scheduleJob(
  name: string,
  pattern: string,
  // biome-ignore lint/suspicious/noConfusingVoidType: a run with nothing to report is a `Promise<void>`.
  run: (slot: Date, ctx: RunContext) => Promise<RunOutcome | void>,
  logger: Logger,
  options: JobOptions = {},
): Job {
  const log = logger.child({ job: name });
  const now = options.now ?? (() => new Date());
  const lateAfterMs = options.lateAfterMs ?? 1000;
  let current: { slot: Date; promise: Promise<void>; controller: AbortController } | null = null;
  let pending: Pending | null = null;
  let stopped = false;
  const iso = (d: Date) => d.toISOString();

  const skip = (p: Pending, reason: string): void => {
    log.warn({ slot: iso(p.slot), reason }, 'slot skipped');
    for (const resolve of p.done) resolve();
  };

  const start = (slot: Date, late: string | null): Promise<void> => {
    const controller = new AbortController();
    const t0 = performance.now();
    log.info({ slot: iso(slot), ...(late ? { late } : {}) }, 'run started');
    const promise = (async () => {
      try {
        const outcome = await run(slot, { signal: controller.signal, late });
        log.info({ slot: iso(slot), ms: Math.round(performance.now() - t0), ...outcome }, 'run finished');
      } catch (err) {
        log.error({ err, slot: iso(slot), ms: Math.round(performance.now() - t0) }, 'run failed');
      }
    })();
    current = { slot, promise, controller };
    return promise.then(() => {
      current = null;
      const next = pending;
      pending = null;
      if (!next) return;
      if (stopped) {
        skip(next, 'the job stopped before it could run');
        return;
      }
      const behindMs = now().getTime() - next.slot.getTime();
      const late = next.late ?? (behindMs >= lateAfterMs ? LATE_QUEUED : null);
      void start(next.slot, late).then(() => {
        for (const resolve of next.done) resolve();
      });
    });
  };

  const enqueue = (slot: Date, late: string | null): Promise<void> => {
    if (stopped) {
      log.warn({ slot: iso(slot), reason: 'the job is stopping' }, 'slot skipped');
      return Promise.resolve();
    }
    if (!current) return start(slot, late);
    const running = current;
    return new Promise<void>((resolve) => {
      if (pending) {
        if (pending.slot.getTime() >= slot.getTime()) {
          // The same slot again (a catch-up racing its scheduled run) or an older one: nothing newer to do.
          pending.done.push(resolve);
          return;
        }
        skip(
          pending,
          `superseded by the slot of ${iso(slot)} while the run for ${iso(running.slot)} was still in progress`,
        );
      }
      log.warn(
        { slot: iso(slot), running: iso(running.slot) },
        'previous run still in progress; this slot runs when it ends',
      );
      pending = { slot, late, done: [resolve] };
      running.controller.abort(new Error(`the slot of ${iso(slot)} is waiting`));
    });
  };

  // croner keeps a process-wide registry of names; several bots in one process (tests) need distinct ones.
  // No `protect`: it would skip a slot silently while a run is in progress; enqueue() queues it instead.
  const cronName = `${name}#${++jobCounter}`;
  const cron = new Cron(pattern, { name: cronName, timezone: 'UTC' }, (self: Cron) => {
    // currentRun is the scheduled time, not when the timer happened to fire.
    const slot = self.currentRun() ?? now();
    slot.setMilliseconds(0);
    void enqueue(slot, null);
  });

  return {
    name,
    trigger: (slot) => enqueue(slot ?? now(), null),
    runLate: (slot, reason) => enqueue(slot, reason),
    nextRun: () => cron.nextRun(),
    async stop(graceMs) {
      stopped = true;
      cron.stop();
      const running = current;
      if (!running) return;
      running.controller.abort(new Error('the job is stopping'));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          log.warn({ graceMs }, 'abandoning a run still in progress at shutdown');
          resolve();
        }, graceMs);
      });
      await Promise.race([running.promise, timeout]);
      clearTimeout(timer);
    },
  };
}

/**
 * The shortest gap between runs of `pattern` (over its next few runs after `from`), in ms: the schedule's interval.
 * `null` when the pattern has fewer than two future runs.
 */
export function scheduleInterval(pattern: string, from: Date): number | null {
  const runs = new Cron(pattern, { timezone: 'UTC', paused: true }).nextRuns(6, from);
  let gap: number | null = null;
  for (let i = 1; i < runs.length; i++) {
    const d = runs[i]!.getTime() - runs[i - 1]!.getTime();
    if (gap === null || d < gap) gap = d;
  }
  return gap;
}

/**
 * The most recent scheduled time of `pattern` at or before `at` and no older than `maxAgeMs`, or `null`.
 */
export function previousSlot(pattern: string, at: Date, maxAgeMs: number): Date | null {
  const cron = new Cron(pattern, { timezone: 'UTC', paused: true });
  // nextRun(x) is strictly after x; start one ms before the window so a slot exactly at its edge counts.
  let cursor = new Date(at.getTime() - maxAgeMs - 1);
  let found: Date | null = null;
  // Bounded: a per-second schedule over a long window would otherwise walk many runs.
  for (let i = 0; i < 100_000; i++) {
    const next = cron.nextRun(cursor);
    if (!next || next.getTime() > at.getTime()) break;
    found = next;
    cursor = next;
  }
  return found;
}
