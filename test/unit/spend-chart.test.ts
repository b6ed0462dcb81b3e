import { describe, expect, it } from 'vitest';
import {
  renderSpendChart,
  renderSpendChartAsync,
  type SpendBars,
  spendChartSvg,
} from '../../src/adapters/chart/spend-chart.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const DAY = 86_400_000;
const day = (i: number) => new Date(Date.UTC(2026, 10, 1) + i * DAY).toISOString().slice(0, 10);

/** Width and height from the PNG's IHDR chunk. */
const size = (png: Buffer) => ({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) });

const bars = (label: string, amounts: number[], observed?: boolean[]): SpendBars => ({
  label,
  days: amounts.map((amount, i) => ({ day: day(i), amount, observed: observed?.[i] ?? true })),
});

/** The bars an SVG draws in `color` (legend swatches are 6 units tall, so not counted). */
const barsIn = (svg: string, color: string) =>
  [...svg.matchAll(/<rect ([^>]*)\/>/g)].filter(
    (m) => m[1]!.includes(`fill="${color}"`) && !m[1]!.includes('height="12"'),
  );

describe('spend-per-day bar chart', () => {
  it('GIVEN a week of two accounts THEN it is a PNG of 800x400, bars stacked in each account’s colour, the peak day labelled with its total', async () => {
    const series = [bars('Kimi', [1, 2, 0, 4.5, 1, 0, 3]), bars('Claude', [0.5, 0, 0, 2, 0, 0, 0])];
    const png = await renderSpendChartAsync(series, {
      title: 'Spend per UTC day, last 7 days (USD)',
      currency: 'USD',
    });
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(size(png)).toEqual({ width: 800, height: 400 });
    expect(png.length).toBeGreaterThan(5000);
    expect(renderSpendChart(series, { title: 'x', currency: 'USD' }).length).toBeGreaterThan(5000);
    const svg = spendChartSvg(series, { title: 'Spend', currency: 'USD' });
    expect(barsIn(svg, '#1f77b4')).toHaveLength(5);
    expect(barsIn(svg, '#ff7f0e')).toHaveLength(2);
    // The peak is 11-04: $4.50 + $2.00.
    expect(svg).toContain('font-weight="bold" fill="#212529" text-anchor="middle">$6.50</text>');
    expect(svg).toContain('>11-07</text>');
    expect(svg).toContain('>Claude</text>');
  });

  it('GIVEN nothing spent THEN the axis runs to $1 and the plot says "no spend"; GIVEN no series THEN "no data"', () => {
    const svg = spendChartSvg([bars('Kimi', [0, 0, 0])], { title: 'Spend', currency: 'USD' });
    expect(svg).toContain('>no spend</text>');
    expect(svg).toContain('>$1.00</text>');
    expect(barsIn(svg, '#1f77b4')).toHaveLength(0);
    expect(size(renderSpendChart([bars('Kimi', [0, 0, 0])], { title: 'Spend', currency: 'USD' }))).toEqual({
      width: 800,
      height: 400,
    });
    expect(spendChartSvg([], { title: 'Spend', currency: 'USD' })).toContain('>no data</text>');
  });

  it('GIVEN one huge day among cents THEN the scale fits the huge day, every day that spent still shows a bar at least a pixel tall, and an implausible amount is left out', () => {
    const amounts = [0.01, 0.02, 1e9, 0.01, 1e16, Number.NaN, -3];
    const svg = spendChartSvg([bars('Kimi', amounts)], { title: 'Spend', currency: 'USD' });
    const drawn = barsIn(svg, '#1f77b4');
    expect(drawn).toHaveLength(4);
    for (const m of drawn) expect(Number(/height="([\d.]+)"/.exec(m[1]!)?.[1])).toBeGreaterThanOrEqual(1);
    expect(svg).toContain('>$1,000,000,000.00</text>');
    expect(size(renderSpendChart([bars('Kimi', amounts)], { title: 'Spend', currency: 'USD' }))).toEqual({
      width: 800,
      height: 400,
    });
  });

  it('GIVEN 90 days of 30 accounts in yuan THEN day labels never touch, today is labelled, and days nobody had a reading are shaded', () => {
    const series = Array.from({ length: 30 }, (_, k) =>
      bars(
        `acct-${k}`,
        Array.from({ length: 90 }, (_, i) => ((i * 7 + k) % 11) / 3),
        Array.from({ length: 90 }, (_, i) => i > 2),
      ),
    );
    const svg = spendChartSvg(series, { title: 'Spend per UTC day, last 90 days (CNY)', currency: 'CNY' });
    const labels = [...svg.matchAll(/<text x="([\d.]+)"[^>]*text-anchor="middle">(\d\d-\d\d)<\/text>/g)];
    expect(labels.length).toBeGreaterThan(5);
    expect(labels[0]![2]).toBe(day(89).slice(5));
    const xs = labels.map((m) => Number(m[1])).sort((a, b) => a - b);
    for (let i = 1; i < xs.length; i++) expect(xs[i]! - xs[i - 1]!).toBeGreaterThan(50);
    expect(svg).toContain('¥');
    // Three shaded days and the legend's swatch for them.
    expect([...svg.matchAll(/fill="#eef0f3"/g)]).toHaveLength(4);
    expect(svg).toContain('>no readings</text>');
    expect(size(renderSpendChart(series, { title: 'x', currency: 'CNY' }))).toEqual({
      width: 800,
      height: 400,
    });
  });
});
