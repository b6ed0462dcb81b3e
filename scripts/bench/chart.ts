/**
 * The `/balance-history` chart alone (issue 11): SVG built by `src/adapters/chart/balance-chart.ts`, drawn by resvg in
 * DejaVu Sans, encoded as PNG. A typical chart (7 days, two accounts, a reading every 10 minutes, thresholds
 * and projections) and a large one (a year, two accounts; hourly points as the history store hands a long
 * period to the chart, and raw 5-minute readings as the worst case). The first render also loads resvg and
 * reads the fonts, so it is reported on its own. Each row gives the wall time (the target) and the CPU time
 * the process spent, which a loaded machine does not inflate.
 */
import {
  type ChartOptions,
  type ChartSeries,
  renderBalanceChart,
} from '../../src/adapters/chart/balance-chart.js';
import { ms, stats } from './support.js';
import type { BenchRow } from './types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 10, 27, 14, 23);
const RUNS = 21;

/** A balance spending `perDay` with some noise and a monthly top-up, as a chart receives it. */
function account(label: string, days: number, step: number, start: number, perDay: number): ChartSeries {
  const points: { at: Date; value: number }[] = [];
  let value = start;
  let noise = 0x2545f491;
  for (let at = NOW - days * DAY; at <= NOW; at += step) {
    noise = (noise * 1103515245 + 12345) % 2 ** 31;
    value -= (perDay * step) / DAY / 2 + ((perDay * step) / DAY) * (noise / 2 ** 31);
    if (value < perDay) value += 30 * perDay;
    points.push({ at: new Date(at), value: Math.round(value * 100) / 100 });
  }
  const last = points[points.length - 1]!;
  const threshold = start / 5;
  return {
    label,
    points,
    threshold,
    projection: [last, { at: new Date(NOW + ((last.value - threshold) / perDay) * DAY), value: threshold }],
  };
}

function chart(days: number, step: number): { series: ChartSeries[]; options: ChartOptions; points: number } {
  const series = [account('Claude', days, step, 60, 2.5), account('Kimi', days, step, 30, 1.1)];
  return {
    series,
    options: {
      title: `Balance, last ${days} d (USD)`,
      currency: 'USD',
      from: new Date(NOW - days * DAY),
      to: new Date(NOW + days * DAY),
    },
    points: series.reduce((n, s) => n + s.points.length, 0),
  };
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const cases = [
    ['typical: 7 d, 2 accounts, every 10 min', chart(7, 10 * MIN)],
    ['1 year, 2 accounts, hourly points', chart(365, HOUR)],
    ['1 year, 2 accounts, raw 5-min readings', chart(365, 5 * MIN)],
  ] as const;
  for (const [label, { series, options, points }] of cases) {
    const times: number[] = [];
    // CPU time of the process too: on a loaded machine the wall time includes waiting for a core.
    const cpu: number[] = [];
    let bytes = 0;
    for (let i = 0; i <= RUNS; i++) {
      // Let the loop turn between renders, as separate commands would.
      await new Promise((resolve) => setImmediate(resolve));
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      bytes = renderBalanceChart(series, options).length;
      const c = process.cpuUsage(c0);
      times.push(performance.now() - t0);
      cpu.push((c.user + c.system) / 1000);
    }
    const s = stats(times.slice(1));
    if (rows.length === 0) {
      rows.push({
        metric: 'first chart of a process (loads resvg and reads the fonts), typical',
        value: ms(times[0]!),
        target: '—',
        pass: true,
      });
    }
    rows.push({
      metric: `render ${label} (${points.toLocaleString('en-US')} points) → ${(bytes / 1024).toFixed(0)} KiB PNG, median of ${RUNS}`,
      value: `${ms(s.median)} (p90 ${ms(s.p90)}; CPU ${ms(stats(cpu.slice(1)).median)})`,
      target: '< 100 ms',
      pass: s.median < 100,
    });
  }
  return rows;
}
