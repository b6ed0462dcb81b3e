import { createRequire } from 'node:module';
import { utcClock, utcMonthDay } from '../../core/format.js';
import { type Currency, formatMoney } from '../../core/money.js';
import { FONT_FAMILY, type FontMetrics, fontFiles, readFontMetrics } from './font.js';

/** One line on the chart. */
export interface ChartSeries {
  label: string;
  /** `#rrggbb` or `#rgb`; a distinct default colour is picked by position when absent. */
  color?: string;
  points: { at: Date; value: number }[];
  /** Drawn as a dashed horizontal line in the series colour, labelled `threshold $5.00`. */
  threshold?: number;
  /** Drawn dashed, continuing from the last point. */
  projection?: { at: Date; value: number }[];
}

/** What the whole chart looks like. */
export interface ChartOptions {
  title: string;
  /** Money labels use this currency's symbol, as every other message does. */
  currency: Currency;
  /** Pixels; default 800. */
  width?: number;
  /** Pixels; default 400. */
  height?: number;
  /** Left edge of the time axis; default the earliest point. */
  from?: Date;
  /** Right edge of the time axis; default the latest point or projection. */
  to?: Date;
}

/** Where things land on the canvas; exposed so that tests and callers can find a value's pixel. */
export interface ChartLayout {
  readonly width: number;
  readonly height: number;
  /** 1 at 400×200 and below, 2 at the default 800×400: text, strokes and gaps grow with it. */
  readonly scale: number;
  /** Pixel size of axis, legend and threshold text; the title is larger. */
  readonly fontSize: number;
  /** Blank border around everything drawn, in pixels. */
  readonly margin: number;
  /** True when there is nothing to plot and the chart only says "no data". */
  readonly empty: boolean;
  /** Columns of the y axis (`left`) and of `to` (`right`), rows of the top tick (`top`) and of the x axis (`bottom`). */
  readonly plot: {
    readonly left: number;
    readonly top: number;
    readonly right: number;
    readonly bottom: number;
  };
  /** Time span of the x axis, epoch milliseconds. */
  readonly from: number;
  readonly to: number;
  /** Value span of the y axis: the lowest and highest tick. */
  readonly yMin: number;
  readonly yMax: number;
  readonly yTicks: readonly number[];
  readonly xTicks: readonly { readonly at: number; readonly label: string }[];
  /** Resolved line colour of each series, by index, as `#rrggbb`. */
  readonly colors: readonly string[];
  /** Continuous x coordinate of a time (pixel `c` spans `[c, c+1)`). */
  xToPixel(at: number): number;
  /** Continuous y coordinate of a value. */
  yToPixel(value: number): number;
  /** The pixel row a value's crisp horizontal line is drawn on. */
  yToRow(value: number): number;
}

/** Distinct, print-safe defaults (d3's category10), used in order for series without a colour. */
export const DEFAULT_SERIES_COLORS: readonly string[] = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

/**
 * Chart background. Opaque white: Discord shows the image on #313338 (dark theme) or #ffffff (light), and a
 * white card keeps every series colour and the grey labels at the same contrast on both.
 */
export const BACKGROUND = '#ffffff';
/** Title and legend text. */
export const TEXT_COLOR = '#212529';
/** Axis labels, grid and axes. */
export const LABEL_COLOR = '#4b5057';
export const GRID_COLOR = '#e8eaed';
export const AXIS_COLOR = '#a0a5ac';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MINUTE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 480, 720, 1440].map((m) => m * 60_000);
const DAY_STEPS = [1, 2, 3, 7, 14, 28, 56, 91, 182, 364].map((d) => d * DAY);

/**
 * Values at or beyond this size are left out, like NaN: no real balance is that large (the providers refuse
 * such readings as "implausible amount"), and one of them would flatten every real reading onto the axis.
 */
export const MAX_PLOTTED_VALUE = 1e15;

/** Points in time order, as two columns: a year of 5-minute readings is 10⁵ points, too many for objects. */
interface Track {
  readonly at: Float64Array;
  readonly value: Float64Array;
}
interface Point {
  readonly x: number;
  readonly y: number;
}
interface Rect {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

function plottable(value: number): boolean {
  return Number.isFinite(value) && Math.abs(value) < MAX_PLOTTED_VALUE;
}

/** The plottable points of `points` (finite time, value below {@link MAX_PLOTTED_VALUE}), sorted by time. */
function track(points: readonly { at: Date; value: number }[] | undefined): Track {
  const list = points ?? [];
  let at = new Float64Array(list.length);
  let value = new Float64Array(list.length);
  let n = 0;
  let sorted = true;
  for (const p of list) {
    const t = p.at.getTime();
    if (!Number.isFinite(t) || !plottable(p.value)) continue;
    if (n > 0 && t < at[n - 1]!) sorted = false;
    at[n] = t;
    value[n] = p.value;
    n++;
  }
  at = at.subarray(0, n);
  value = value.subarray(0, n);
  if (sorted) return { at, value };
  // Stable: readings at the same time keep their order.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => at[a]! - at[b]! || a - b);
  return { at: Float64Array.from(order, (i) => at[i]!), value: Float64Array.from(order, (i) => value[i]!) };
}

/** The projection drawn from the last point on: that point, then the projected points not before it. */
function continuation(points: Track, projection: Track): Track {
  const n = points.at.length;
  if (n === 0) return projection;
  const lastAt = points.at[n - 1]!;
  const keep = projection.at.findIndex((t) => t >= lastAt);
  const from = keep < 0 ? projection.at.length : keep;
  const at = new Float64Array(1 + projection.at.length - from);
  const value = new Float64Array(at.length);
  at[0] = lastAt;
  value[0] = points.value[n - 1]!;
  at.set(projection.at.subarray(from), 1);
  value.set(projection.value.subarray(from), 1);
  return { at, value };
}

/**
 * 4–6 evenly spaced ticks from a 1/2/2.5/5 × 10ⁿ step whose first tick is ≤ `min` and last ≥ `max`,
 * choosing the tightest such span. Steps never go below 0.01 so that 2-decimal labels stay distinct.
 */
export function niceTicks(min: number, max: number): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || max < min) {
    throw new RangeError(`niceTicks needs finite min <= max, got ${min} and ${max}`);
  }
  const span = Math.max(max - min, 0.04);
  const top = Math.floor(Math.log10(span));
  let best: { lo: number; step: number; count: number } | undefined;
  for (let e = top - 2; e <= top + 1; e++) {
    for (const mantissa of [1, 2, 2.5, 5]) {
      const step = mantissa * 10 ** e;
      if (step < 0.01 - 1e-12) continue;
      const lo = Math.floor(min / step + 1e-9) * step;
      const hi = Math.ceil(max / step - 1e-9) * step;
      const count = Math.round((hi - lo) / step) + 1;
      if (count < 4 || count > 6) continue;
      const width = hi - lo;
      const bestWidth = best ? (best.count - 1) * best.step : Number.POSITIVE_INFINITY;
      const better =
        width < bestWidth - 1e-9 ||
        (Math.abs(width - bestWidth) <= 1e-9 && Math.abs(count - 5) < Math.abs((best?.count ?? 0) - 5));
      if (better) best = { lo, step, count };
    }
  }
  // A step in [span/4, span/2) always exists in the 1-2-2.5-5 sequence and gives 4–6 ticks, so this is a guard.
  const { lo, step, count } = best ?? { lo: min, step: span / 4, count: 5 };
  return Array.from({ length: count }, (_, i) => Number((lo + i * step).toFixed(10)));
}

/** A plotted value as money, through the one formatter every message uses; thousands grouped. */
export function chartMoney(value: number, currency: Currency): string {
  return formatMoney(value, currency, { grouped: true });
}

/** UTC tick labels from the shared formatters: `20:59` up to 36 h, `11-27` beyond. */
function timeTicks(from: number, to: number, maxTicks: number): { at: number; label: string }[] {
  const hourly = to - from <= 36 * HOUR;
  const steps = hourly ? MINUTE_STEPS : DAY_STEPS;
  const fits = (step: number) => Math.floor(to / step) - Math.ceil(from / step) + 1 <= maxTicks;
  // Beyond the longest step (a span of centuries), whole multiples of it keep the tick count bounded.
  const longest = steps[steps.length - 1]!;
  const step =
    steps.find(fits) ?? longest * Math.max(1, Math.ceil((to - from) / longest / Math.max(1, maxTicks - 1)));
  const ticks: { at: number; label: string }[] = [];
  for (let at = Math.ceil(from / step) * step; at <= to; at += step) {
    ticks.push({ at, label: hourly ? utcClock(new Date(at)) : utcMonthDay(new Date(at)) });
  }
  return ticks;
}

let fonts: { regular: FontMetrics; bold: FontMetrics } | undefined;
/** The chart fonts' metrics (regular and bold), read once from the TTF files. */
export function chartFonts() {
  if (fonts === undefined) {
    const files = fontFiles();
    fonts = { regular: readFontMetrics(files.regular), bold: readFontMetrics(files.bold) };
  }
  return fonts;
}

/** `#rrggbb` darkened by `amount` (0–1) towards black, for text in a series colour on white. */
function darken(hex: string, amount: number): string {
  const channel = (k: number) => Math.round(Number.parseInt(hex.slice(k, k + 2), 16) * (1 - amount));
  return `#${[1, 3, 5].map((k) => channel(k).toString(16).padStart(2, '0')).join('')}`;
}

/** `#rgb` or `#rrggbb` as lower-case `#rrggbb`; anything else is refused. */
export function normalizeColor(hex: string): string {
  const m = /^#(?:([0-9a-f])([0-9a-f])([0-9a-f])|([0-9a-f]{6}))$/i.exec(hex);
  if (!m) throw new RangeError(`not a #rrggbb colour: ${JSON.stringify(hex).slice(0, 20)}`);
  return (m[4] !== undefined ? `#${m[4]}` : `#${m[1]}${m[1]}${m[2]}${m[2]}${m[3]}${m[3]}`).toLowerCase();
}

interface Prepared {
  readonly points: Track;
  readonly projection: Track;
  readonly threshold: number | undefined;
}

/** Legend rows of a chart: each row's baseline and the indices of the labels on it (drawn right-aligned). */
export interface LegendRow {
  readonly baseline: number;
  readonly items: readonly number[];
}

/**
 * The one legend layout of both charts: the labels on the title's line when title and legend fit side by side,
 * else in rows under the title, each filled left to right. An entry is a 12-unit colour bar, a 4-unit gap and
 * the label; entries are 10 units apart. `headerBottom` is where the header ends.
 */
export function legendRows(
  labels: readonly string[],
  at: {
    readonly title: string;
    readonly titleBaseline: number;
    readonly width: number;
    readonly margin: number;
    readonly scale: number;
    readonly fontSize: number;
    readonly titleSize: number;
  },
): { readonly legend: LegendRow[]; readonly headerBottom: number } {
  const { regular, bold } = chartFonts();
  const { scale: s, fontSize, titleSize } = at;
  const cap = regular.capHeight * fontSize;
  const itemWidths = labels.map((label) => 16 * s + regular.measure(label, fontSize));
  const available = at.width - 2 * at.margin;
  const oneLine = itemWidths.reduce((sum, w, i) => sum + w + (i > 0 ? 10 * s : 0), 0);
  let headerBottom = at.titleBaseline + Math.ceil(0.24 * titleSize);
  const legend: LegendRow[] = [];
  if (labels.length > 0 && bold.measure(at.title, titleSize) + 16 * s + oneLine <= available) {
    legend.push({ baseline: at.titleBaseline, items: labels.map((_, i) => i) });
    return { legend, headerBottom };
  }
  const rows: number[][] = [];
  let used = 0;
  itemWidths.forEach((w, i) => {
    const last = rows[rows.length - 1];
    if (last === undefined || used + 10 * s + w > available) {
      rows.push([i]);
      used = w;
    } else {
      last.push(i);
      used += 10 * s + w;
    }
  });
  for (const items of rows) {
    headerBottom += Math.ceil(4 * s + cap);
    legend.push({ baseline: headerBottom, items });
    headerBottom += Math.ceil(0.24 * fontSize);
  }
  return { legend, headerBottom };
}

interface FullLayout extends ChartLayout {
  readonly prepared: readonly Prepared[];
  readonly titleSize: number;
  /** Baseline of the title. */
  readonly titleBaseline: number;
  /** Each legend row: its baseline and the series indices on it, drawn right-aligned. */
  readonly legend: readonly LegendRow[];
  /** Baseline of the time labels. */
  readonly xLabelBaseline: number;
}

function computeLayout(series: readonly ChartSeries[], options: ChartOptions): FullLayout {
  const width = options.width ?? 800;
  const height = options.height ?? 400;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 160 || height < 100) {
    throw new RangeError(`chart size must be whole pixels of at least 160x100, got ${width}x${height}`);
  }
  const from0 = options.from?.getTime();
  const to0 = options.to?.getTime();
  if (from0 !== undefined && to0 !== undefined && !(from0 < to0)) {
    throw new RangeError('chart `from` must be before `to`');
  }
  const { regular, bold } = chartFonts();
  const s = Math.max(1, Math.min(width / 400, height / 200));
  const fontSize = 8 * s;
  const titleSize = 10.5 * s;
  const cap = regular.capHeight * fontSize;
  // Discord shows the image scaled down with rounded corners: a narrower margin puts the title and the
  // legend against the edge (issue 10).
  const margin = Math.round(10 * s);
  const colors = series.map((x, i) =>
    normalizeColor(x.color ?? DEFAULT_SERIES_COLORS[i % DEFAULT_SERIES_COLORS.length]!),
  );
  const prepared: Prepared[] = series.map((x) => ({
    points: track(x.points),
    projection: track(x.projection),
    threshold: x.threshold !== undefined && plottable(x.threshold) ? x.threshold : undefined,
  }));

  // Header: the title on the left; the legend to its right when both fit on one line, else in rows below.
  const titleBaseline = margin + Math.ceil(bold.ascender * titleSize);
  const { legend, headerBottom } = legendRows(
    series.map((x) => x.label),
    { title: options.title, titleBaseline, width, margin, scale: s, fontSize, titleSize },
  );

  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const p of prepared) {
    for (const { at } of [p.points, p.projection]) {
      // Tracks are sorted by time, so their ends bound them.
      if (at.length === 0) continue;
      first = Math.min(first, at[0]!);
      last = Math.max(last, at[at.length - 1]!);
    }
  }
  const empty = first > last;
  let from = from0 ?? (empty ? (to0 ?? 0) - DAY : first);
  let to = to0 ?? (empty ? from + DAY : last);
  if (!(to > from)) {
    // A single instant, or data entirely on the wrong side of the one bound the caller fixed.
    if (from0 !== undefined) to = from0 + DAY;
    else if (to0 !== undefined) from = to0 - DAY;
    else {
      from -= HOUR / 2;
      to += HOUR / 2;
    }
  }

  // Only what is visible decides the value range, so a zoomed-in window is not flattened by old extremes.
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const p of prepared) {
    for (const { at, value } of [p.points, p.projection]) {
      for (let k = 0; k < at.length; k++) {
        if (at[k]! < from || at[k]! > to) continue;
        if (value[k]! < lo) lo = value[k]!;
        if (value[k]! > hi) hi = value[k]!;
      }
    }
    if (p.threshold !== undefined) {
      lo = Math.min(lo, p.threshold);
      hi = Math.max(hi, p.threshold);
    }
  }
  let yTicks: number[] = [];
  let yMin = 0;
  let yMax = 1;
  if (!empty) {
    if (lo > hi) {
      // Every point lies outside the requested window.
      lo = 0;
      hi = 1;
    }
    const floorAtZero = lo >= 0;
    // A range too narrow for its magnitude (equal values, or cents on a huge balance) is widened: ticks
    // closer together than the float spacing of their values would collapse into one.
    if (hi - lo < Math.max(0.05, Math.max(Math.abs(lo), Math.abs(hi)) * 1e-9)) {
      const spread = Math.max(Math.abs(hi) * 0.1, Math.abs(lo) * 0.1, 0.5);
      lo -= spread;
      hi += spread;
    }
    const pad = (hi - lo) * 0.06;
    lo -= pad;
    hi += pad;
    // Balances cannot go below zero: a projection that runs out should end on the axis, not above -$1.
    if (floorAtZero) lo = Math.max(0, lo);
    yTicks = niceTicks(lo, hi);
    yMin = yTicks[0]!;
    yMax = yTicks[yTicks.length - 1]!;
  }

  const tick = 3 * s;
  const yLabelWidth = Math.max(
    0,
    ...yTicks.map((v) => regular.measure(chartMoney(v, options.currency), fontSize)),
  );
  const xLabelWidth = regular.measure('00-00', fontSize);
  const plotLeft = Math.ceil(margin + yLabelWidth + tick + 3 * s);
  // A time label centred on the right end of the axis must still keep the margin.
  const plotRight = width - 1 - margin - Math.ceil(xLabelWidth / 2);
  // Digits reach a little below the baseline; the bottom margin stays blank.
  const xLabelBaseline = height - margin - Math.ceil(0.03 * fontSize);
  const plotTop = Math.ceil(headerBottom + 6 * s + cap / 2);
  const plotBottom = Math.floor(xLabelBaseline - cap - tick - 3 * s);
  if (plotRight - plotLeft < 20 || plotBottom - plotTop < 20) {
    throw new RangeError(`chart ${width}x${height} is too small for its title and legend`);
  }

  const maxXTicks = Math.max(2, Math.floor((plotRight - plotLeft) / (xLabelWidth + 10 * s)) + 1);
  const xTicks = empty ? [] : timeTicks(from, to, maxXTicks);

  const xToPixel = (at: number) => plotLeft + 0.5 + ((at - from) / (to - from)) * (plotRight - plotLeft);
  const yToPixel = (value: number) =>
    plotBottom + 0.5 - ((value - yMin) / (yMax - yMin)) * (plotBottom - plotTop);
  return {
    width,
    height,
    scale: s,
    fontSize,
    margin,
    empty,
    plot: { left: plotLeft, top: plotTop, right: plotRight, bottom: plotBottom },
    from,
    to,
    yMin,
    yMax,
    yTicks,
    xTicks,
    colors,
    xToPixel,
    yToPixel,
    yToRow: (value: number) => Math.floor(yToPixel(value)),
    prepared,
    titleSize,
    titleBaseline,
    legend,
    xLabelBaseline,
  };
}

/** Where each value of `series` lands on a chart rendered with the same arguments. */
export function layoutBalanceChart(series: ChartSeries[], options: ChartOptions): ChartLayout {
  return computeLayout(series, options);
}

/**
 * Keeps, per pixel column, the first, lowest, highest and last point in time order (M4 decimation). The line
 * drawn through them looks the same as the full one but costs a few segments per column, not thousands.
 */
function decimate({ at, value }: Track, layout: ChartLayout): Point[] {
  // One point either side of the window keeps the line running to the plot edge.
  let start = 0;
  while (start + 1 < at.length && at[start + 1]! < layout.from) start++;
  let end = at.length - 1;
  while (end - 1 >= 0 && at[end - 1]! > layout.to) end--;

  const out: Point[] = [];
  const point = (i: number) => ({ x: layout.xToPixel(at[i]!), y: layout.yToPixel(value[i]!) });
  // Indices of the current column's first, lowest, highest and last point.
  let column = Number.NaN;
  let first = 0;
  let low = 0;
  let high = 0;
  let last = -1;
  const flush = () => {
    if (last < 0) return;
    let previous = -1;
    for (const i of [first, low, high, last].sort((a, b) => a - b)) {
      if (i !== previous) out.push(point(i));
      previous = i;
    }
  };
  for (let i = start; i <= end; i++) {
    const c = Math.floor(layout.xToPixel(at[i]!));
    if (c !== column) {
      flush();
      column = c;
      first = low = high = i;
    }
    if (value[i]! < value[low]!) low = i;
    if (value[i]! > value[high]!) high = i;
    last = i;
  }
  flush();
  return out;
}

/**
 * The part of segment `a`–`b` inside `r` (Liang–Barsky), or undefined. Lines are cut to the plot before
 * they reach the SVG: a projection millennia ahead would otherwise be a dashed line of 10¹² pixels.
 */
function clipSegment(a: Point, b: Point, r: Rect): [Point, Point] | undefined {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  let t0 = 0;
  let t1 = 1;
  // Each edge in turn: p is the direction across it, q the distance inside it.
  const edge = (p: number, q: number): boolean => {
    if (p === 0) return q >= 0;
    const t = q / p;
    if (p < 0) t0 = Math.max(t0, t);
    else t1 = Math.min(t1, t);
    return t0 <= t1;
  };
  if (
    !(
      edge(-dx, a.x - r.left) &&
      edge(dx, r.right - a.x) &&
      edge(-dy, a.y - r.top) &&
      edge(dy, r.bottom - a.y)
    )
  ) {
    return undefined;
  }
  return [
    { x: a.x + t0 * dx, y: a.y + t0 * dy },
    { x: a.x + t1 * dx, y: a.y + t1 * dy },
  ];
}

/** True when segment `a`–`b` passes through `r`; a bounding-box test first, as most segments are far off. */
function crosses(a: Point, b: Point, r: Rect): boolean {
  if (Math.max(a.x, b.x) < r.left || Math.min(a.x, b.x) > r.right) return false;
  if (Math.max(a.y, b.y) < r.top || Math.min(a.y, b.y) > r.bottom) return false;
  return clipSegment(a, b, r) !== undefined;
}

/** The visible runs of a polyline inside `r`, each as a list of points. */
function clipPolyline(points: readonly Point[], r: Rect): Point[][] {
  if (points.length === 1) {
    const p = points[0]!;
    return p.x >= r.left && p.x <= r.right && p.y >= r.top && p.y <= r.bottom ? [[p]] : [];
  }
  const runs: Point[][] = [];
  let run: Point[] = [];
  for (let i = 1; i < points.length; i++) {
    const cut = clipSegment(points[i - 1]!, points[i]!, r);
    if (!cut) continue;
    const previous = run[run.length - 1];
    if (previous && previous.x === cut[0].x && previous.y === cut[0].y) run.push(cut[1]);
    else {
      if (run.length > 0) runs.push(run);
      run = [cut[0], cut[1]];
    }
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

const num = (n: number) => String(Math.round(n * 100) / 100);

function pathData(runs: readonly Point[][]): string {
  return runs
    .map((run) => run.map((p, k) => `${k === 0 ? 'M' : 'L'}${num(p.x)} ${num(p.y)}`).join(''))
    .join('');
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An SVG element; numbers are rounded to 0.01 px, text is escaped, `undefined` attributes are left out. */
export function svgElement(
  tag: string,
  attrs: Record<string, string | number | undefined>,
  content?: string,
): string {
  const list = Object.entries(attrs)
    .flatMap(([k, v]) => (v === undefined ? [] : [`${k}="${typeof v === 'number' ? num(v) : escapeXml(v)}"`]))
    .join(' ');
  return content === undefined ? `<${tag} ${list}/>` : `<${tag} ${list}>${escapeXml(content)}</${tag}>`;
}

function overlaps(a: Rect, b: Rect): boolean {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

/** The chart as an SVG document, drawn in DejaVu Sans; {@link renderBalanceChart} rasterises it. */
export function balanceChartSvg(series: ChartSeries[], options: ChartOptions): string {
  const layout = computeLayout(series, options);
  const { plot, scale: s, fontSize, colors } = layout;
  const { regular } = chartFonts();
  const cap = regular.capHeight * fontSize;
  const label = (x: number, y: number, content: string, anchor?: string, fill = LABEL_COLOR) =>
    svgElement('text', { x, y, 'font-size': fontSize, fill, 'text-anchor': anchor }, content);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}" font-family="${FONT_FAMILY}" font-kerning="none">`,
    svgElement('rect', { width: '100%', height: '100%', fill: BACKGROUND }),
    svgElement(
      'text',
      {
        x: layout.margin,
        y: layout.titleBaseline,
        'font-size': layout.titleSize,
        'font-weight': 'bold',
        fill: TEXT_COLOR,
      },
      options.title,
    ),
  ];
  for (const row of layout.legend) {
    let x = layout.width - layout.margin;
    for (const i of [...row.items].reverse()) {
      const text = series[i]?.label ?? '';
      out.push(label(x, row.baseline, text, 'end', TEXT_COLOR));
      x -= regular.measure(text, fontSize) + 16 * s;
      const y = Math.round(row.baseline - cap / 2 - s);
      out.push(svgElement('rect', { x, y, width: 12 * s, height: 2 * s, fill: colors[i] }));
      x -= 10 * s;
    }
  }

  const frame = {
    x: plot.left + 0.5,
    y: plot.top + 0.5,
    width: plot.right - plot.left,
    height: plot.bottom - plot.top,
  };
  if (layout.empty) {
    out.push(
      svgElement('rect', { ...frame, fill: 'none', stroke: AXIS_COLOR }),
      svgElement(
        'text',
        {
          x: (plot.left + plot.right + 1) / 2,
          y: (plot.top + plot.bottom + 1 + regular.capHeight * layout.titleSize) / 2,
          'font-size': layout.titleSize,
          fill: LABEL_COLOR,
          'text-anchor': 'middle',
        },
        'no data',
      ),
      '</svg>',
    );
    return out.join('\n');
  }

  const tick = 3 * s;
  const grid: string[] = [];
  const axis = [
    `M${frame.x} ${plot.top}V${plot.bottom + 1}M${plot.left} ${frame.y + frame.height}H${plot.right + 1}`,
  ];
  for (const value of layout.yTicks) {
    const y = layout.yToRow(value) + 0.5;
    grid.push(`M${plot.left} ${y}H${plot.right + 1}`);
    axis.push(`M${num(plot.left - tick)} ${y}H${plot.left}`);
    out.push(label(plot.left - tick - 3 * s, y + cap / 2, chartMoney(value, options.currency), 'end'));
  }
  let firstLabelLeft = Number.POSITIVE_INFINITY;
  for (const t of layout.xTicks) {
    const x = Math.floor(layout.xToPixel(t.at)) + 0.5;
    grid.push(`M${x} ${plot.top}V${plot.bottom}`);
    axis.push(`M${x} ${plot.bottom + 1}V${num(plot.bottom + 1 + tick)}`);
    out.push(label(x, layout.xLabelBaseline, t.label, 'middle'));
    firstLabelLeft = Math.min(firstLabelLeft, x - regular.measure(t.label, fontSize) / 2);
  }
  // Say once that the times are UTC, under the money labels, unless the first time label reaches there.
  if (layout.margin + regular.measure('UTC', fontSize) + 4 * s <= firstLabelLeft) {
    out.push(label(layout.margin, layout.xLabelBaseline, 'UTC'));
  }
  out.push(
    svgElement('path', { d: grid.join(''), stroke: GRID_COLOR, fill: 'none' }),
    svgElement('path', { d: axis.join(''), stroke: AXIS_COLOR, fill: 'none' }),
    `<clipPath id="plot">${svgElement('rect', { x: plot.left, y: plot.top - 2 * s, width: plot.right + 1 + 2 * s - plot.left, height: plot.bottom + 2 - plot.top + 2 * s })}</clipPath>`,
    '<g clip-path="url(#plot)" fill="none" stroke-linejoin="round" stroke-linecap="round">',
  );

  // Lines are cut a little outside the plot (so joins and the last point stay whole), then clipped to it.
  const m = 8 * s;
  const cut: Rect = {
    left: plot.left - m,
    top: plot.top - m,
    right: plot.right + m,
    bottom: plot.bottom + m,
  };
  /** What a threshold label should not hide: every segment drawn in the plot. */
  const drawn: [Point, Point][] = [];
  const line = (runs: readonly Point[][], attrs: Record<string, string | number>) => {
    for (const run of runs) for (let k = 1; k < run.length; k++) drawn.push([run[k - 1]!, run[k]!]);
    out.push(svgElement('path', { d: pathData(runs), ...attrs }));
  };
  const thick = Math.max(1, Math.round(s));
  layout.prepared.forEach((p, i) => {
    if (p.threshold === undefined) return;
    // Thick dashes grow upwards from the value's row, so the row itself always carries the colour.
    const y = layout.yToRow(p.threshold) + 1 - thick / 2;
    const dash = `${num(5 * s)} ${num(4 * s)}`;
    line(
      [
        [
          { x: plot.left + 1, y },
          { x: plot.right + 1, y },
        ],
      ],
      {
        stroke: colors[i]!,
        'stroke-width': thick,
        'stroke-dasharray': dash,
        'stroke-linecap': 'butt',
      },
    );
  });
  layout.prepared.forEach((p, i) => {
    const stroke = colors[i]!;
    if (p.projection.at.length > 0) {
      line(clipPolyline(decimate(continuation(p.points, p.projection), layout), cut), {
        stroke,
        'stroke-opacity': 0.9,
        'stroke-width': 1.5 * s,
        'stroke-dasharray': `${num(7 * s)} ${num(5 * s)}`,
        'stroke-linecap': 'butt',
      });
    }
    line(clipPolyline(decimate(p.points, layout), cut), { stroke, 'stroke-width': s + 0.5 });
    const n = p.points.at.length;
    const lastAt = p.points.at[n - 1] ?? Number.NaN;
    const y = layout.yToPixel(p.points.value[n - 1] ?? Number.NaN);
    if (lastAt >= layout.from && lastAt <= layout.to && y >= cut.top && y <= cut.bottom) {
      out.push(
        svgElement('circle', { cx: layout.xToPixel(lastAt), cy: y, r: 2 * s, fill: stroke, stroke: 'none' }),
      );
    }
  });
  out.push('</g>');

  // Threshold labels go beside their line, preferring the right edge, on the spot that crosses the fewest
  // lines; labels never cover each other.
  const placed: Rect[] = [];
  const inset = 2 * s;
  layout.prepared.forEach((p, i) => {
    if (p.threshold === undefined) return;
    const text = `threshold ${chartMoney(p.threshold, options.currency)}`;
    const w = regular.measure(text, fontSize) + 2 * inset;
    const h = cap + 2 * inset;
    const row = layout.yToRow(p.threshold);
    let best: { rect: Rect; hits: number } | undefined;
    for (let shift = 0; shift <= plot.right - plot.left - w - 4 * s && best?.hits !== 0; shift += 12 * s) {
      const left = plot.right - 2 * s - w - shift;
      for (const top of [row - s - h, row + 1]) {
        const rect = { left, top, right: left + w, bottom: top + h };
        if (top < plot.top || rect.bottom > plot.bottom || placed.some((q) => overlaps(q, rect))) continue;
        let hits = 0;
        for (const [a, b] of drawn) if (crosses(a, b, rect)) hits++;
        if (!best || hits < best.hits) best = { rect, hits };
        if (hits === 0) break;
      }
    }
    if (!best) return;
    const { left, top } = best.rect;
    placed.push(best.rect);
    out.push(
      svgElement('rect', { x: left, y: top, width: w, height: h, fill: BACKGROUND, 'fill-opacity': 0.85 }),
      // Light series colours (orange, olive) are too faint as text; a darker shade of the same hue reads.
      label(left + inset, top + h - inset, text, undefined, darken(colors[i]!, 0.25)),
    );
  });
  out.push('</svg>');
  return out.join('\n');
}

type ResvgModule = typeof import('@resvg/resvg-js');
let resvg: { readonly module: ResvgModule; readonly fontFiles: string[] } | undefined;

/**
 * Renders balance lines over time as a PNG: title, legend, y axis in the currency, x axis in UTC
 * (`HH:MM` for spans up to 36 h, `MM-DD` beyond), dashed thresholds with labels and dashed projections.
 * An empty series list, or series without points, gives a framed chart that says "no data".
 *
 * resvg (a native addon, ~5 MB of memory) is loaded on the first chart, not when the bot starts.
 */
export function renderBalanceChart(series: ChartSeries[], options: ChartOptions): Buffer {
  return rasterize(balanceChartSvg(series, options));
}

/** A chart's SVG as a PNG, drawn by resvg in the chart fonts (loaded on the first chart). */
export function rasterize(svg: string): Buffer {
  const r = loadResvg();
  return new r.module.Resvg(svg, resvgOptions(r)).render().asPng();
}

/** {@link rasterize} with the rasterising done on libuv's thread pool: the same PNG. */
export async function rasterizeAsync(svg: string): Promise<Buffer> {
  const r = loadResvg();
  return (await r.module.renderAsync(svg, resvgOptions(r))).asPng();
}

/**
 * {@link renderBalanceChart} with the rasterising (fonts, paths, pixels) done by resvg on libuv's thread pool
 * (`renderAsync`), so the event loop only builds the SVG and encodes the PNG: the bot's other interactions keep
 * answering while a chart is drawn. The same PNG.
 */
export async function renderBalanceChartAsync(series: ChartSeries[], options: ChartOptions): Promise<Buffer> {
  return rasterizeAsync(balanceChartSvg(series, options));
}

function loadResvg(): NonNullable<typeof resvg> {
  if (resvg === undefined) {
    const { regular, bold } = fontFiles();
    resvg = {
      module: createRequire(import.meta.url)('@resvg/resvg-js') as ResvgModule,
      fontFiles: [regular, bold],
    };
  }
  return resvg;
}

function resvgOptions(r: NonNullable<typeof resvg>) {
  return {
    font: { fontFiles: r.fontFiles, loadSystemFonts: false, defaultFontFamily: FONT_FAMILY },
    logLevel: 'off' as const,
  };
}
