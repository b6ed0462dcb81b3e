import type { Currency } from '../../core/money.js';
import {
  AXIS_COLOR,
  BACKGROUND,
  chartFonts,
  chartMoney,
  DEFAULT_SERIES_COLORS,
  svgElement as el,
  GRID_COLOR,
  LABEL_COLOR,
  legendRows,
  MAX_PLOTTED_VALUE,
  niceTicks,
  normalizeColor,
  rasterize,
  rasterizeAsync,
  TEXT_COLOR,
} from './balance-chart.js';
import { FONT_FAMILY } from './font.js';

/** One account's bars: what it spent each day, on the same days as every other series of the chart. */
export interface SpendBars {
  label: string;
  /** `#rrggbb` or `#rgb`; the balance chart's default colour for the same position when absent. */
  color?: string;
  /** Oldest first, `day` as `YYYY-MM-DD`; `observed: false` when the day has nothing its figure rests on. */
  days: { day: string; amount: number; observed?: boolean }[];
}

export interface SpendChartOptions {
  title: string;
  currency: Currency;
  /** Pixels; default 800. */
  width?: number;
  /** Pixels; default 400. */
  height?: number;
}

/** Days where no account had a reading: a faint column, so "no readings" never looks like "nothing spent". */
const UNOBSERVED_COLOR = '#eef0f3';

/** A value drawn: finite, not negative (spend never is), below the implausible bound; anything else is 0. */
const drawable = (v: number): number => (Number.isFinite(v) && v > 0 && v < MAX_PLOTTED_VALUE ? v : 0);

/**
 * Spend per day as stacked bars, one colour per account (in the balance chart's order, so an account has the
 * same colour in both images), as an SVG in DejaVu Sans: the title and legend as on the balance chart, a money
 * axis from 0 with 4–6 round values, a bar per UTC day labelled `MM-DD` (every k-th day when they would not fit,
 * always today's), the day with the most spend labelled with its total above its bar, and days where no
 * account had a reading shaded. All zero: the axis to $1 and "no spend" in the plot.
 */
export function spendChartSvg(series: readonly SpendBars[], options: SpendChartOptions): string {
  const width = options.width ?? 800;
  const height = options.height ?? 400;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 160 || height < 100) {
    throw new RangeError(`chart size must be whole pixels of at least 160x100, got ${width}x${height}`);
  }
  const { regular, bold } = chartFonts();
  const s = Math.max(1, Math.min(width / 400, height / 200));
  const fontSize = 8 * s;
  const titleSize = 10.5 * s;
  const cap = regular.capHeight * fontSize;
  const margin = Math.round(10 * s);
  const colors = series.map((x, i) =>
    normalizeColor(x.color ?? DEFAULT_SERIES_COLORS[i % DEFAULT_SERIES_COLORS.length]!),
  );
  const days = series[0]?.days.map((d) => d.day) ?? [];
  const n = days.length;
  const totals = days.map((_, i) => series.reduce((sum, x) => sum + drawable(x.days[i]?.amount ?? 0), 0));
  const observed = days.map((_, i) => series.some((x) => x.days[i]?.observed !== false));
  let peak = -1;
  totals.forEach((t, i) => {
    if (t > 0 && (peak < 0 || t > totals[peak]!)) peak = i;
  });
  const money = (v: number) => chartMoney(v, options.currency);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${FONT_FAMILY}" font-kerning="none">`,
    el('rect', { width: '100%', height: '100%', fill: BACKGROUND }),
  ];
  const titleBaseline = margin + Math.ceil(bold.ascender * titleSize);
  out.push(
    el(
      'text',
      { x: margin, y: titleBaseline, 'font-size': titleSize, 'font-weight': 'bold', fill: TEXT_COLOR },
      options.title,
    ),
  );
  // Legend: on the title's line when it fits, else in right-aligned rows below it.
  // Shaded days get a legend entry of their own.
  const labels = [...series.map((x) => x.label), ...(observed.every(Boolean) ? [] : ['no readings'])];
  const swatches = [...colors, UNOBSERVED_COLOR];
  const { legend, headerBottom } = legendRows(labels, {
    title: options.title,
    titleBaseline,
    width,
    margin,
    scale: s,
    fontSize,
    titleSize,
  });
  for (const row of legend) {
    let x = width - margin;
    for (const i of [...row.items].reverse()) {
      const text = labels[i] ?? '';
      out.push(
        el(
          'text',
          { x, y: row.baseline, 'font-size': fontSize, fill: TEXT_COLOR, 'text-anchor': 'end' },
          text,
        ),
      );
      x -= regular.measure(text, fontSize) + 16 * s;
      const shaded = i >= series.length;
      out.push(
        el('rect', {
          x,
          y: Math.round(row.baseline - cap / 2 - 3 * s),
          width: 12 * s,
          height: 6 * s,
          fill: swatches[i],
          stroke: shaded ? AXIS_COLOR : undefined,
        }),
      );
      x -= 10 * s;
    }
  }

  const max = Math.max(0, ...totals);
  const yTicks = niceTicks(0, max > 0 ? max * 1.04 : 1);
  const yMax = yTicks[yTicks.length - 1]!;
  const tick = 3 * s;
  const yLabelWidth = Math.max(...yTicks.map((v) => regular.measure(money(v), fontSize)));
  const plotLeft = Math.ceil(margin + yLabelWidth + tick + 3 * s);
  const plotRight = width - margin - 1;
  const xLabelBaseline = height - margin - Math.ceil(0.03 * fontSize);
  // Room above the bars for the peak's label.
  const plotTop = Math.ceil(headerBottom + 6 * s + cap / 2 + cap + 4 * s);
  const plotBottom = Math.floor(xLabelBaseline - cap - tick - 3 * s);
  if (plotRight - plotLeft < 20 || plotBottom - plotTop < 20) {
    throw new RangeError(`chart ${width}x${height} is too small for its title and legend`);
  }
  const yToPixel = (v: number) => plotBottom + 1 - (v / yMax) * (plotBottom + 1 - plotTop);
  const slot = n > 0 ? (plotRight + 1 - plotLeft) / n : 0;
  const barWidth = Math.max(1, slot * 0.72);
  const barLeft = (i: number) => plotLeft + i * slot + (slot - barWidth) / 2;

  const grid: string[] = [];
  const axis = [`M${plotLeft + 0.5} ${plotTop}V${plotBottom + 1}`];
  for (const v of yTicks) {
    const y = Math.floor(yToPixel(v)) + 0.5;
    if (v > 0) grid.push(`M${plotLeft} ${y}H${plotRight + 1}`);
    axis.push(`M${plotLeft - tick} ${y}H${plotLeft}`);
    out.push(
      el(
        'text',
        {
          x: plotLeft - tick - 3 * s,
          y: y + cap / 2,
          'font-size': fontSize,
          fill: LABEL_COLOR,
          'text-anchor': 'end',
        },
        money(v),
      ),
    );
  }
  for (let i = 0; i < n; i++) {
    if (observed[i]) continue;
    out.push(
      el('rect', {
        x: plotLeft + i * slot,
        y: plotTop,
        width: slot,
        height: plotBottom + 1 - plotTop,
        fill: UNOBSERVED_COLOR,
      }),
    );
  }
  out.push(el('path', { d: grid.join(''), stroke: GRID_COLOR, fill: 'none' }));

  // Bars, stacked in series order from the axis up; a day's stack is at least a pixel tall when it spent anything.
  for (let i = 0; i < n; i++) {
    if (totals[i]! <= 0) continue;
    let base = 0;
    const stackTop = Math.min(yToPixel(totals[i]!), plotBottom);
    for (let k = 0; k < series.length; k++) {
      const v = drawable(series[k]!.days[i]?.amount ?? 0);
      if (v <= 0) continue;
      const bottom = yToPixel(base);
      base += v;
      const top = k === series.length - 1 || base >= totals[i]! ? stackTop : yToPixel(base);
      out.push(
        el('rect', {
          x: barLeft(i),
          y: top,
          width: barWidth,
          height: Math.max(0, bottom - top),
          fill: colors[k],
        }),
      );
    }
  }
  // The x axis over the bars' feet.
  axis.push(`M${plotLeft} ${plotBottom + 1.5}H${plotRight + 1}`);

  // Day labels: every k-th day so that they never touch, counted back from today so today is always labelled.
  const labelWidth = regular.measure('00-00', fontSize) + 8 * s;
  const every = slot > 0 ? Math.max(1, Math.ceil(labelWidth / slot)) : 1;
  for (let i = n - 1; i >= 0; i -= every) {
    const x = Math.floor(barLeft(i) + barWidth / 2) + 0.5;
    axis.push(`M${x} ${plotBottom + 1}V${plotBottom + 1 + tick}`);
    out.push(
      el(
        'text',
        { x, y: xLabelBaseline, 'font-size': fontSize, fill: LABEL_COLOR, 'text-anchor': 'middle' },
        days[i]!.slice(5),
      ),
    );
  }
  if (
    margin + regular.measure('UTC', fontSize) + 4 * s <=
    barLeft(n - 1 - every * Math.floor((n - 1) / every)) - labelWidth / 2
  ) {
    out.push(el('text', { x: margin, y: xLabelBaseline, 'font-size': fontSize, fill: LABEL_COLOR }, 'UTC'));
  }
  out.push(el('path', { d: axis.join(''), stroke: AXIS_COLOR, fill: 'none' }));

  if (peak >= 0) {
    const text = money(totals[peak]!);
    const w = bold.measure(text, fontSize);
    const centre = barLeft(peak) + barWidth / 2;
    const x = Math.min(Math.max(centre, plotLeft + w / 2 + 2 * s), plotRight - w / 2 - 2 * s);
    out.push(
      el(
        'text',
        {
          x,
          y: Math.min(yToPixel(totals[peak]!), plotBottom) - 3 * s,
          'font-size': fontSize,
          'font-weight': 'bold',
          fill: TEXT_COLOR,
          'text-anchor': 'middle',
        },
        text,
      ),
    );
  } else {
    out.push(
      el(
        'text',
        {
          x: (plotLeft + plotRight + 1) / 2,
          y: (plotTop + plotBottom + 1 + regular.capHeight * titleSize) / 2,
          'font-size': titleSize,
          fill: LABEL_COLOR,
          'text-anchor': 'middle',
        },
        n === 0 ? 'no data' : 'no spend',
      ),
    );
  }
  out.push('</svg>');
  return out.join('\n');
}

/** {@link spendChartSvg} as a PNG. */
export function renderSpendChart(series: readonly SpendBars[], options: SpendChartOptions): Buffer {
  return rasterize(spendChartSvg(series, options));
}

/** {@link renderSpendChart} rasterised on libuv's thread pool, as `renderBalanceChartAsync` is. */
export function renderSpendChartAsync(
  series: readonly SpendBars[],
  options: SpendChartOptions,
): Promise<Buffer> {
  return rasterizeAsync(spendChartSvg(series, options));
}
