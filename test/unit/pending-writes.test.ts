import { describe, expect, it } from 'vitest';
import { PendingWrites } from '../../src/core/pending-writes.js';
import { captureLogs } from '../support/log-capture.js';

/** A store the test switches on and off; it keeps what it accepted, in order. */
function switchable() {
  const written: number[] = [];
  const store = { up: true, written, attempts: 0 };
  const write = async (n: number) => {
    store.attempts++;
    if (!store.up) throw new Error('ECONNREFUSED');
    written.push(n);
  };
  return { store, write };
}

const SLOW_RETRY = { initialMs: 60_000, maxMs: 60_000 };

describe('PendingWrites (write-behind buffer)', () => {
  it('GIVEN the store down for a while THEN what it refused is written first, in order, once, when it answers', async () => {
    const { logger, text } = captureLogs();
    const { store, write } = switchable();
    const buffer = new PendingWrites({ name: 'numbers', write, capacity: 100, retry: SLOW_RETRY, logger });
    expect(await buffer.add([1, 2])).toBe(true);
    store.up = false;
    expect(await buffer.add([3])).toBe(false);
    expect(await buffer.add([4, 5])).toBe(false);
    expect(buffer.pending).toBe(3);
    store.up = true;
    expect(await buffer.add([6])).toBe(true);
    expect(store.written).toEqual([1, 2, 3, 4, 5, 6]);
    expect(buffer.pending).toBe(0);
    expect(text()).toContain('could not write numbers; 3 waiting in memory');
    expect(text()).toContain('store answers again: numbers waiting in memory written');
    await buffer.close();
  });

  it('GIVEN more waiting than the capacity THEN the oldest are dropped and the count is logged at error', async () => {
    const { logger, lines } = captureLogs();
    const { store, write } = switchable();
    store.up = false;
    const buffer = new PendingWrites({
      name: 'readings',
      write: (batch: number[]) => write(batch[0] ?? 0),
      size: (batch) => batch.length,
      capacity: 4,
      retry: SLOW_RETRY,
      logger,
    });
    for (let i = 1; i <= 4; i++) await buffer.add([[i * 10, i * 10 + 1]]);
    // Four batches of two readings, room for four readings: the two oldest batches went.
    expect(buffer.pending).toBe(4);
    expect(buffer.droppedTotal).toBe(4);
    const errors = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 50);
    expect(errors.map((e) => [e.dropped, e.droppedTotal])).toEqual([
      [2, 2],
      [2, 4],
    ]);
    store.up = true;
    await buffer.flush();
    expect(store.written).toEqual([30, 40]);
    await buffer.close();
  });

  it('GIVEN a write that reached the store but whose answer was lost THEN it is not written a second time', async () => {
    const { logger } = captureLogs('silent');
    const written: number[] = [];
    let loseAnswer = true;
    const buffer = new PendingWrites<number>({
      name: 'numbers',
      write: async (n) => {
        written.push(n);
        if (loseAnswer) {
          loseAnswer = false;
          throw new Error('Connection terminated unexpectedly');
        }
      },
      landed: async (n) => written.includes(n),
      capacity: 10,
      retry: SLOW_RETRY,
      logger,
    });
    expect(await buffer.add([7])).toBe(false);
    expect(await buffer.add([8])).toBe(true);
    expect(written).toEqual([7, 8]);
    await buffer.close();
  });

  it('GIVEN the store comes back with no new writes THEN the backoff timer writes what waits', async () => {
    const { logger } = captureLogs('silent');
    const { store, write } = switchable();
    store.up = false;
    const buffer = new PendingWrites({
      name: 'n',
      write,
      capacity: 10,
      retry: { initialMs: 20, maxMs: 40 },
      logger,
    });
    await buffer.add([1]);
    store.up = true;
    const deadline = Date.now() + 10_000;
    while (buffer.pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(store.written).toEqual([1]);
    await buffer.close();
  });

  it('GIVEN items still waiting at close THEN one last attempt is made and the loss is logged at error', async () => {
    const { logger, lines } = captureLogs();
    const { store, write } = switchable();
    store.up = false;
    const buffer = new PendingWrites({ name: 'readings', write, capacity: 10, retry: SLOW_RETRY, logger });
    await buffer.add([1, 2]);
    const before = store.attempts;
    expect(await buffer.close()).toBe(2);
    expect(store.attempts).toBe(before + 1);
    const last = JSON.parse(lines.at(-1) ?? '{}');
    expect([last.level, last.pending, last.msg]).toEqual([
      50,
      2,
      'stopping with readings never written: the store did not answer',
    ]);
  });
});
