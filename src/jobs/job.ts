import { Cron } from 'croner';
import type { Logger } from '../logger.js';

/** A scheduled job: croner in UTC, overlapping runs prevented, each run logged with its outcome. */
export interface Job {
  readonly name: string;
  /** Runs the job now, outside the schedule (tests, re-evaluation after a change). */
  trigger(slot?: Date): Promise<void>;
  /** The next scheduled run. */
  nextRun(): Date | null;
  /** Stops scheduling and waits up to `graceMs` for a run in progress. */
  stop(graceMs: number): Promise<void>;
}

/** Fields a run adds to its "run finished" line: what it did, e.g. what was posted where. */
export type RunOutcome = Readonly<Record<string, unknown>>;

let jobCounter = 0;

/**
 * Schedules `run(slot)` on `pattern`. `slot` is the scheduled time of the run (the same on every
 * replica), so it can key a claim that makes one replica do the work.
 */
export function scheduleJob(
  name: string,
  pattern: string,
  // biome-ignore lint/suspicious/noConfusingVoidType: a run with nothing to report is a `Promise<void>`.
  run: (slot: Date) => Promise<RunOutcome | void>,
  logger: Logger,
): Job {
  const log = logger.child({ job: name });
  let current: Promise<void> | null = null;

  const execute = async (slot: Date): Promise<void> => {
    if (current) {
      log.warn({ slot: slot.toISOString() }, 'previous run still in progress; skipping this one');
      return;
    }
    const t0 = performance.now();
    log.info({ slot: slot.toISOString() }, 'run started');
    current = run(slot).then(
      (outcome) =>
        log.info(
          { slot: slot.toISOString(), ms: Math.round(performance.now() - t0), ...outcome },
          'run finished',
        ),
      (err: unknown) =>
        log.error({ err, slot: slot.toISOString(), ms: Math.round(performance.now() - t0) }, 'run failed'),
    );
    try {
      await current;
    } finally {
      current = null;
    }
  };

  // croner keeps a process-wide registry of names; several bots in one process (tests) need distinct ones.
  const cronName = `${name}#${++jobCounter}`;
  const cron = new Cron(pattern, { name: cronName, timezone: 'UTC', protect: true }, async (self: Cron) => {
    // currentRun is the scheduled time, not when the timer happened to fire.
    const slot = self.currentRun() ?? new Date();
    slot.setMilliseconds(0);
    await execute(slot);
  });

  return {
    name,
    trigger: (slot) => execute(slot ?? new Date()),
    nextRun: () => cron.nextRun(),
    async stop(graceMs) {
      cron.stop();
      const running = current;
      if (!running) return;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          log.warn({ graceMs }, 'abandoning a run still in progress at shutdown');
          resolve();
        }, graceMs);
      });
      await Promise.race([running, timeout]);
      clearTimeout(timer);
    },
  };
}
