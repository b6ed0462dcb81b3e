import { describe, expect, it } from 'vitest';
import { backoffMs, isRetryableStatus, retry } from '../../src/core/retry.js';

const FAST = { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 };

/** A function failing with `errors` in turn, then resolving with `'done'`; it counts its calls. */
function flaky(errors: unknown[]) {
  const calls: number[] = [];
  const fn = async (attempt: number) => {
    calls.push(attempt);
    if (calls.length <= errors.length) throw errors[calls.length - 1];
    return 'done';
  };
  return { fn, calls };
}

describe('retry: the one retry policy', () => {
  it('GIVEN failures then a success THEN it retries, numbering the attempts, and resolves with the result', async () => {
    const { fn, calls } = flaky([new Error('a'), new Error('b')]);
    const told: [number, number][] = [];
    const out = await retry(fn, FAST, { onRetry: ({ attempt, delayMs }) => told.push([attempt, delayMs]) });
    expect(out).toBe('done');
    expect(calls).toEqual([1, 2, 3]);
    expect(told).toEqual([
      [1, 5],
      [2, 10],
    ]);
  });

  it('GIVEN every attempt failing THEN exactly `attempts` calls, and the last failure itself is thrown', async () => {
    const last = new Error('fourth');
    const { fn, calls } = flaky([new Error('1'), new Error('2'), new Error('3'), last, new Error('5')]);
    await expect(retry(fn, FAST)).rejects.toBe(last);
    expect(calls).toEqual([1, 2, 3, 4]);
  });

  it('GIVEN a failure that is not retryable THEN it is thrown after one call, with no wait', async () => {
    const refused = Object.assign(new Error('403'), { status: 403 });
    const { fn, calls } = flaky([refused]);
    let told = 0;
    await expect(
      retry(fn, FAST, {
        retryable: (e) => isRetryableStatus((e as { status?: number }).status),
        onRetry: () => told++,
      }),
    ).rejects.toBe(refused);
    expect(calls).toEqual([1]);
    expect(told).toBe(0);
  });

  it('GIVEN the signal aborts during a wait THEN the wait ends at once and the failure (not the reason) is thrown', async () => {
    const controller = new AbortController();
    const failure = new Error('503');
    const { fn, calls } = flaky([failure, failure]);
    const started = performance.now();
    const run = retry(
      fn,
      { attempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error('newer slot due')), 20);
    await expect(run).rejects.toBe(failure);
    expect(calls).toEqual([1]);
    expect(performance.now() - started).toBeLessThan(30_000);
  });

  it('GIVEN an aborted signal THEN the first attempt is still made, and no retry after it', async () => {
    const controller = new AbortController();
    controller.abort();
    const ok = flaky([]);
    await expect(retry(ok.fn, FAST, { signal: controller.signal })).resolves.toBe('done');
    const failing = flaky([new Error('x')]);
    await expect(retry(failing.fn, FAST, { signal: controller.signal })).rejects.toThrow('x');
    expect(failing.calls).toEqual([1]);
  });

  it('GIVEN a failure asking for a longer wait (Retry-After) THEN that wait is kept, within maxDelayMs', async () => {
    const delays: number[] = [];
    const ask = (ms: number) => Object.assign(new Error('429'), { ms });
    const { fn } = flaky([ask(15), ask(1), ask(500)]);
    await retry(fn, FAST, {
      retryAfterMs: (e) => (e as { ms: number }).ms,
      onRetry: ({ delayMs }) => delays.push(delayMs),
    });
    // 15 > backoff 5; 1 < backoff 10; 500 capped at 20.
    expect(delays).toEqual([15, 10, 20]);
  });

  it('GIVEN Infinity attempts THEN it keeps going until it succeeds', async () => {
    const { fn, calls } = flaky(Array.from({ length: 9 }, () => new Error('down')));
    await retry(fn, { attempts: Number.POSITIVE_INFINITY, baseDelayMs: 1, maxDelayMs: 2 });
    expect(calls).toHaveLength(10);
  });

  it('backoff doubles from the base up to the cap, even for very late attempts', () => {
    const p = { attempts: 5, baseDelayMs: 2000, maxDelayMs: 60_000 };
    expect([1, 2, 3, 4, 5, 6, 1000].map((a) => backoffMs(p, a))).toEqual([
      2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000,
    ]);
  });

  it('retryable statuses: none (network), 5xx, 408 and 429; never another 4xx or a redirect', () => {
    expect([undefined, 500, 502, 503, 599, 408, 429].map(isRetryableStatus)).toEqual(Array(7).fill(true));
    expect([400, 401, 403, 404, 407, 409, 499, 302, 200].map(isRetryableStatus)).toEqual(
      Array(9).fill(false),
    );
  });
});
