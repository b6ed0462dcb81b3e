import { describe, expect, it } from 'vitest';
import { MAX_REPLAY, Telemetry } from '../../src/adapters/http/telemetry.js';
import type { Summary } from '../../src/core/service.js';
import type { SummaryPostEvent } from '../../src/entry/jobs/summary.js';

const summary = { statuses: [] } as unknown as Summary;
const post = (n: number): SummaryPostEvent => ({
  ok: n % 2 === 0,
  slot: new Date(n * 3_600_000),
  at: new Date(n * 3_600_000 + 1000),
  reason: n % 2 === 0 ? null : 'HTTP 503',
});

describe('Telemetry: events before /metrics first subscribes are replayed to it', () => {
  it('GIVEN rounds and posts before any observer WHEN one subscribes THEN it gets them in order, then live ones', () => {
    const t = new Telemetry();
    t.checked(summary, 1500);
    t.checked(summary, 250);
    t.summaryPosted(post(1));
    const seconds: number[] = [];
    const posts: SummaryPostEvent[] = [];
    t.onCheckDuration((s) => seconds.push(s));
    t.onPost((p) => posts.push(p));
    expect(seconds).toEqual([1.5, 0.25]);
    expect(posts).toEqual([post(1)]);
    t.checked(summary, 4000);
    t.summaryPosted(post(2));
    expect(seconds).toEqual([1.5, 0.25, 4]);
    expect(posts).toEqual([post(1), post(2)]);
    // A second observer sees only what comes after it: the replay is spent.
    const later: number[] = [];
    t.onCheckDuration((s) => later.push(s));
    t.checked(summary, 10);
    expect(later).toEqual([0.01]);
    expect(seconds.at(-1)).toBe(0.01);
  });

  it('GIVEN more rounds than MAX_REPLAY before the first scrape THEN the oldest are dropped, the newest kept', () => {
    const t = new Telemetry();
    for (let i = 0; i < MAX_REPLAY + 5; i++) t.checked(summary, i);
    const seconds: number[] = [];
    t.onCheckDuration((s) => seconds.push(s));
    expect(seconds).toHaveLength(MAX_REPLAY);
    expect(seconds[0]).toBe(5 / 1000);
    expect(seconds.at(-1)).toBe((MAX_REPLAY + 4) / 1000);
  });
});
