import { describe, expect, it } from 'vitest';
import {
  type ChartSeries,
  renderBalanceChart,
  renderBalanceChartAsync,
} from '../../src/adapters/chart/balance-chart.js';

const T0 = Date.UTC(2026, 2, 1);
const HOUR = 3_600_000;

describe('renderBalanceChartAsync', () => {
  it('GIVEN a chart with a series, threshold and projection THEN the PNG drawn off the event loop is the one drawn on it', async () => {
    const series: ChartSeries[] = [
      {
        label: 'Kimi',
        points: Array.from({ length: 200 }, (_, i) => ({
          at: new Date(T0 + i * HOUR),
          value: 50 - i * 0.2 + (i % 7),
        })),
        threshold: 5,
        projection: [
          { at: new Date(T0 + 199 * HOUR), value: 16 },
          { at: new Date(T0 + 260 * HOUR), value: 5 },
        ],
      },
    ];
    const options = {
      title: 'Balance',
      currency: 'USD' as const,
      from: new Date(T0),
      to: new Date(T0 + 260 * HOUR),
    };
    const png = await renderBalanceChartAsync(series, options);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.equals(renderBalanceChart(series, options))).toBe(true);
  });

  it('GIVEN options the chart refuses THEN the promise rejects as the synchronous call throws', async () => {
    const options = { title: 'Balance', currency: 'USD' as const, from: new Date(T0), to: new Date(T0) };
    await expect(renderBalanceChartAsync([], options)).rejects.toThrow(RangeError);
  });
});
