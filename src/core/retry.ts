import { setTimeout as sleep } from 'node:timers/promises';

/** Attempts in all (the first included) and the backoff between them: `baseDelayMs`, doubling, at most `maxDelayMs`. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** What a caller adds to a {@link RetryPolicy}. */
export interface RetryOptions {
  /** Once aborted, no wait goes on and no further attempt starts (the first one always does). */
  readonly signal?: AbortSignal | undefined;
  /** `false` for a failure that waiting will not fix (a 4xx): it is thrown at once. Default: every failure is retried. */
  readonly retryable?: (error: unknown) => boolean;
  /** A wait the failure asks for, in ms (HTTP `Retry-After`): kept when longer than the backoff, within `maxDelayMs`. */
  readonly retryAfterMs?: (error: unknown) => number | null;
  /** Told of each failure that will be retried, with the wait before the next attempt: for the log. */
  readonly onRetry?: (failure: {
    readonly error: unknown;
    readonly attempt: number;
    readonly delayMs: number;
  }) => void;
}

/** The wait after failed attempt `attempt` (from 1): `baseDelayMs × 2^(attempt − 1)`, at most `maxDelayMs`. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 52));
}

/**
 * A failed HTTP request worth retrying: no status (network error, timeout), 5xx, 429 (rate limited) or 408.
 * Any other status — a 4xx such as missing access or an unknown channel, or a redirect — will not get
 * better by waiting.
 */
export function isRetryableStatus(status: number | undefined): boolean {
  return status === undefined || status >= 500 || status === 429 || status === 408;
}

/**
 * The project's one retry loop: calls `fn(attempt)` until it resolves, at most `policy.attempts` times
 * (`Infinity`: until `signal` aborts), waiting {@link backoffMs} — or the longer wait the failure asks for —
 * between attempts. Rejects with the last failure itself (never a wrapper, never the abort reason) when it
 * is not retryable, when the attempts run out, or when `signal` aborts.
 */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  options: RetryOptions = {},
): Promise<T> {
  const { signal } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= policy.attempts || signal?.aborted || !(options.retryable?.(error) ?? true)) throw error;
      const asked = Math.min(policy.maxDelayMs, options.retryAfterMs?.(error) ?? 0);
      const delayMs = Math.max(backoffMs(policy, attempt), asked);
      options.onRetry?.({ error, attempt, delayMs });
      const waited = await sleep(delayMs, true, signal ? { signal } : {}).catch(() => false);
      if (!waited) throw error;
    }
  }
}
