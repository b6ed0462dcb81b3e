import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChartOptions, ChartSeries } from '../../src/adapters/chart/balance-chart.js';

// A render that never ends blocks the thread it runs on, and vitest's own timeout runs on that thread too.
// So every render runs in a worker thread, which the test can terminate when a render overruns its bound.
const BOUND_MS = 10_000;
/** The eight bytes every PNG file starts with. */
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface Rendered {
  readonly ok: boolean;
  readonly signature?: string;
  readonly width?: number;
  readonly height?: number;
  readonly error?: string;
}

let dir: string;
let worker: Worker | undefined;
let bundle: string;

function startWorker(): Worker {
  const source = `
    const { parentPort } = require('node:worker_threads');
    const loaded = import(${JSON.stringify(pathToFileURL(bundle).href)});
    parentPort.on('message', async ({ series, options }) => {
      const { renderBalanceChart } = await loaded;
      try {
        const png = renderBalanceChart(series, options);
        parentPort.postMessage({
          ok: true,
          signature: png.subarray(0, 8).toString('hex'),
          width: png.readUInt32BE(16),
          height: png.readUInt32BE(20),
        });
      } catch (err) {
        parentPort.postMessage({ ok: false, error: String(err && err.stack || err) });
      }
    });`;
  return new Worker(source, { eval: true });
}

/** Renders in the worker; rejects when the render takes longer than {@link BOUND_MS} (and replaces the worker). */
function renderBounded(series: ChartSeries[], options: ChartOptions): Promise<Rendered> {
  worker ??= startWorker();
  const w = worker;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      w.removeAllListeners('message');
      void w.terminate();
      worker = undefined;
      reject(new Error(`renderBalanceChart did not return within ${BOUND_MS} ms`));
    }, BOUND_MS);
    w.once('message', (m: Rendered) => {
      clearTimeout(timer);
      resolve(m);
    });
    w.postMessage({ series, options });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'creditwatch-chart-'));
  bundle = join(dir, 'chart.mjs');
  const entry = join(import.meta.dirname, '../../src/adapters/chart/balance-chart.ts');
  await build({
    entryPoints: [entry],
    // The bundle lives in a temp dir; resvg and the fonts are found from the source's place, as in the repo.
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(entry).href) },
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: bundle,
    logLevel: 'silent',
  });
});

afterAll(async () => {
  await worker?.terminate();
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 10, 1);
const HOUR = 3_600_000;

/** Values a balance chart may meet in stored history: ordinary ones and every extreme a double can hold. */
const value = fc.oneof(
  { weight: 3, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
  { weight: 3, arbitrary: fc.double() }, // any double: ±Infinity, NaN, ±1.7e308, subnormals, -0
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      1.7e308,
      1e300,
      1e15,
      1e15 + 0.01,
      2 ** 53,
      999_999_999_999_999.9,
      Number.MIN_VALUE,
      -Number.MIN_VALUE,
      1e-300,
      0,
      -0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ),
  },
);

/** Times from a few hours apart up to the whole range a Date can hold. */
const at = fc.oneof(
  fc.integer({ min: T0 - 100 * HOUR, max: T0 + 100 * HOUR }).map((t) => new Date(t)),
  fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }),
);

const points = fc.oneof(
  fc.array(fc.record({ at, value }), { minLength: 0, maxLength: 40 }),
  // A flat line (a range of zero width), possibly at an extreme value.
  fc
    .tuple(value, fc.integer({ min: 1, max: 50 }))
    .map(([v, n]) => Array.from({ length: n }, (_, i) => ({ at: new Date(T0 + i * HOUR), value: v }))),
  // A long ordinary history with one extreme reading inside it.
  fc.tuple(value, fc.integer({ min: 0, max: 1999 })).map(([v, k]) =>
    Array.from({ length: 2000 }, (_, i) => ({
      at: new Date(T0 + i * 60_000),
      value: i === k ? v : 10 - i / 1000,
    })),
  ),
);

const series: fc.Arbitrary<ChartSeries> = fc.record(
  {
    label: fc.constantFrom('Kimi', 'Claude'),
    points,
    threshold: value,
    projection: fc.array(fc.record({ at, value }), { maxLength: 3 }),
  },
  { requiredKeys: ['label', 'points'] },
);

const window = fc.option(
  fc
    .tuple(at, fc.integer({ min: 1, max: 1e12 }))
    .filter(([from, span]) => from.getTime() + span <= 8.64e15)
    .map(([from, span]) => ({ from, to: new Date(from.getTime() + span) })),
  { nil: undefined },
);

describe('balance chart under extreme input', () => {
  it('GIVEN the reading 1.7e308 stored in the history THEN the chart still comes back as a PNG', async () => {
    const r = await renderBounded(
      [
        {
          label: 'Kimi',
          points: [
            { at: new Date(T0), value: 10 },
            { at: new Date(T0 + HOUR), value: 1.7e308 },
          ],
          threshold: 5,
        },
      ],
      { title: 'Balance', currency: 'USD' },
    );
    expect(r).toMatchObject({ ok: true, signature: PNG_SIGNATURE.toString('hex'), width: 800, height: 400 });
  }, 30_000);

  it('GIVEN a projection that meets its threshold in the year 275,000 THEN its dashes stop at the canvas edge', async () => {
    // A tiny spend rate projects the threshold millennia ahead: the dashed segment is ~10¹² pixels long.
    const r = await renderBounded(
      [
        {
          label: 'Claude',
          points: [
            { at: new Date(T0), value: 10 },
            { at: new Date(T0 + HOUR), value: 9.99 },
          ],
          threshold: 5,
          projection: [
            { at: new Date(T0 + HOUR), value: 9.99 },
            { at: new Date(8.64e15), value: 5 },
          ],
        },
      ],
      { title: 'Balance', currency: 'USD', from: new Date(T0 - HOUR), to: new Date(T0 + 2 * HOUR) },
    );
    expect(r).toMatchObject({ ok: true, signature: PNG_SIGNATURE.toString('hex') });
  }, 30_000);

  it('GIVEN any finite or non-finite values, times, thresholds and windows THEN every render returns a PNG in bounded time', async () => {
    const run = fc.assert(
      fc.asyncProperty(
        fc.array(series, { minLength: 0, maxLength: 3 }),
        window,
        fc.constantFrom([320, 200], [800, 400], [480, 160]),
        async (list, win, [width, height]) => {
          const options: ChartOptions = { title: 'Balance', currency: 'USD', width, height, ...win };
          const r = await renderBounded(list, options);
          expect(r.error).toBeUndefined();
          expect(r).toMatchObject({ ok: true, signature: PNG_SIGNATURE.toString('hex'), width, height });
        },
      ),
      // A hang costs BOUND_MS per shrinking step, so report the first counterexample as found.
      { numRuns: 150, endOnFailure: true },
    );
    // A counterexample with a long history runs to megabytes; its head and the cause are what matter.
    await run.catch((err: Error) => {
      throw new Error(`${err.message.slice(0, 1500)} … ${String(err.cause).slice(0, 500)}`);
    });
  }, 240_000);
});
