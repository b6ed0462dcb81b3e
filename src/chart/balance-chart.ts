import {
  FONT_CAP_HEIGHT,
  FONT_LINE_HEIGHT,
  measureText,
  mixColor,
  type Point,
  parseColor,
  Raster,
  type Rect,
  type Rgb,
} from './raster.js';

/** One line on the chart. */
export interface ChartSeries {
  label: string;
  /** `#rrggbb`; a distinct default colour is picked by position when absent. */
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
  /** `$` or `¥`. */
  currencySymbol: string;
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
  /** Integer scale of axis and legend text; the title is one step larger. */
  readonly textScale: number;
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
  /** Resolved line colour of each series, by index. */
  readonly colors: readonly Rgb[];
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

/** Chart background; the test suite checks corners against it. */
export const BACKGROUND: Rgb = [255, 255, 255];
const TITLE_COLOR: Rgb = [33, 37, 41];
const LABEL_COLOR: Rgb = [85, 90, 96];
const GRID_COLOR: Rgb = [232, 234, 237];
const AXIS_COLOR: Rgb = [160, 165, 172];

/** Dash patterns, in multiples of the text scale. */
export const THRESHOLD_DASH: readonly [number, number] = [5, 4];
const PROJECTION_DASH: readonly [number, number] = [7, 5];

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MINUTE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 480, 720, 1440].map((m) => m * 60_000);
const DAY_STEPS = [1, 2, 3, 7, 14, 28, 56, 91, 182, 364].map((d) => d * DAY);

interface TimedValue {
  readonly at: number;
  readonly value: number;
}

/**
 * Values at or beyond this size are left out, like NaN: no real balance is that large (the providers refuse
 * such readings as "implausible amount"), and one of them would flatten every real reading onto the axis.
 * Inside the bound, value arithmetic stays far from overflow and float steps stay far below a pixel.
 */
export const MAX_PLOTTED_VALUE = 1e15;

function plottable(value: number): boolean {
  return Number.isFinite(value) && Math.abs(value) < MAX_PLOTTED_VALUE;
}

function cleanPoints(points: readonly { at: Date; value: number }[] | undefined): TimedValue[] {
  const out: TimedValue[] = [];
  for (const p of points ?? []) {
    const at = p.at.getTime();
    if (Number.isFinite(at) && plottable(p.value)) out.push({ at, value: p.value });
  }
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.at < out[i - 1]!.at) return out.sort((a, b) => a.at - b.at);
  }
  return out;
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

/** `$1,234.50`, `-$0.25`, `¥8.00`. */
export function formatTickValue(value: number, symbol: string): string {
  const fixed = Math.abs(value).toFixed(2);
  const [whole = '0', cents = '00'] = fixed.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const negative = value < 0 && fixed !== '0.00';
  return `${negative ? '-' : ''}${symbol}${grouped}.${cents}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

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
    const d = new Date(at);
    const label = hourly
      ? `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`
      : `${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
    ticks.push({ at, label });
  }
  return ticks;
}

interface Prepared {
  readonly points: TimedValue[];
  readonly projection: TimedValue[];
  readonly threshold: number | undefined;
}

function prepare(series: readonly ChartSeries[]): Prepared[] {
  return series.map((s) => ({
    points: cleanPoints(s.points),
    projection: cleanPoints(s.projection),
    threshold: s.threshold !== undefined && plottable(s.threshold) ? s.threshold : undefined,
  }));
}

function textScaleFor(width: number, height: number): number {
  return Math.max(1, Math.min(Math.floor(width / 400), Math.floor(height / 200)));
}

function legendRows(labels: readonly string[], scale: number, maxWidth: number): number[][] {
  const rows: number[][] = [];
  let current: number[] = [];
  let used = 0;
  labels.forEach((label, i) => {
    const w = legendItemWidth(label, scale);
    if (current.length > 0 && used + LEGEND_GAP * scale + w > maxWidth) {
      rows.push(current);
      current = [];
      used = 0;
    }
    used += (current.length > 0 ? LEGEND_GAP * scale : 0) + w;
    current.push(i);
  });
  if (current.length > 0) rows.push(current);
  return rows;
}

const LEGEND_SWATCH = 12;
/** Blank border around the chart, in multiples of the text scale. */
const OUTER_MARGIN = 10;
const LEGEND_GAP = 10;

function legendItemWidth(label: string, scale: number): number {
  return (LEGEND_SWATCH + 4) * scale + measureText(label, scale);
}

function rowsWidth(row: readonly number[], labels: readonly string[], scale: number): number {
  return row.reduce(
    (sum, i, k) => sum + legendItemWidth(labels[i] ?? '', scale) + (k > 0 ? LEGEND_GAP * scale : 0),
    0,
  );
}

interface FullLayout extends ChartLayout {
  readonly prepared: readonly Prepared[];
  readonly titleTop: number;
  /** Blank border around everything drawn, in pixels. */
  readonly margin: number;
  /** Each legend row: its top and the series indices on it, drawn right-aligned. */
  readonly legend: readonly { readonly top: number; readonly items: readonly number[] }[];
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

  const s = textScaleFor(width, height);
  // Discord shows the image scaled down with rounded corners: a narrower margin puts the title and the
  // legend against the edge (issue 10).
  const margin = OUTER_MARGIN * s;
  const colors = series.map((x, i) =>
    parseColor(x.color ?? DEFAULT_SERIES_COLORS[i % DEFAULT_SERIES_COLORS.length]!),
  );
  const prepared = prepare(series);

  // Header: title on the left; the legend to its right when both fit on one line, else on rows below.
  const titleTop = margin;
  const titleHeight = FONT_CAP_HEIGHT * (s + 1);
  const titleDescent = (FONT_LINE_HEIGHT - FONT_CAP_HEIGHT) * (s + 1);
  const labels = series.map((x) => x.label);
  const titleWidth = measureText(options.title, s + 1);
  const available = width - 2 * margin;
  const oneLine = legendRows(labels, s, Number.POSITIVE_INFINITY)[0] ?? [];
  const legend: { top: number; items: number[] }[] = [];
  let headerBottom = titleTop + titleHeight + titleDescent;
  if (labels.length > 0 && titleWidth + 16 * s + rowsWidth(oneLine, labels, s) <= available) {
    legend.push({ top: titleTop + Math.round((titleHeight - FONT_CAP_HEIGHT * s) / 2), items: oneLine });
  } else {
    for (const items of legendRows(labels, s, available)) {
      legend.push({ top: headerBottom + 2 * s, items });
      headerBottom += 2 * s + FONT_LINE_HEIGHT * s;
    }
  }

  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const p of prepared) {
    for (const list of [p.points, p.projection]) {
      // Lists are sorted by time, so their ends bound them.
      if (list.length === 0) continue;
      first = Math.min(first, list[0]!.at);
      last = Math.max(last, list[list.length - 1]!.at);
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
    for (const list of [p.points, p.projection]) {
      for (const q of list) {
        if (q.at < from || q.at > to) continue;
        if (q.value < lo) lo = q.value;
        if (q.value > hi) hi = q.value;
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

  const tickLength = 3 * s;
  const yLabelWidth = Math.max(
    0,
    ...yTicks.map((v) => measureText(formatTickValue(v, options.currencySymbol), s)),
  );
  const xLabelWidth = measureText('00-00', s);
  const plotLeft = margin + yLabelWidth + tickLength + 3 * s;
  // A time label centred on the right end of the axis must still keep the margin.
  const plotRight = width - 1 - margin - Math.ceil(xLabelWidth / 2);
  const plotTop = headerBottom + 9 * s;
  const plotBottom = height - 1 - margin - FONT_CAP_HEIGHT * s - tickLength - 3 * s;
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
    textScale: s,
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
    titleTop,
    margin,
    legend,
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
function decimate(points: readonly TimedValue[], layout: ChartLayout): Point[] {
  // One point either side of the window keeps the line running to the plot edge.
  let start = 0;
  while (start + 1 < points.length && points[start + 1]!.at < layout.from) start++;
  let end = points.length - 1;
  while (end - 1 >= 0 && points[end - 1]!.at > layout.to) end--;

  const out: Point[] = [];
  let column = Number.NaN;
  // Index and position of the current column's first, lowest-value, highest-value and last point.
  let firstI = 0;
  let firstX = 0;
  let firstY = 0;
  let lowI = 0;
  let lowX = 0;
  let lowY = 0;
  let highI = 0;
  let highX = 0;
  let highY = 0;
  let lastI = 0;
  let lastX = 0;
  let lastY = 0;
  const flush = () => {
    if (Number.isNaN(column)) return;
    out.push({ x: firstX, y: firstY });
    const low = { x: lowX, y: lowY };
    const high = { x: highX, y: highY };
    const lowInside = lowI !== firstI && lowI !== lastI;
    const highInside = highI !== firstI && highI !== lastI && highI !== lowI;
    if (lowInside && highInside) out.push(...(lowI < highI ? [low, high] : [high, low]));
    else if (lowInside) out.push(low);
    else if (highInside) out.push(high);
    if (lastI !== firstI) out.push({ x: lastX, y: lastY });
  };
  for (let i = start; i <= end; i++) {
    const p = points[i]!;
    const x = layout.xToPixel(p.at);
    const y = layout.yToPixel(p.value);
    const c = Math.floor(x);
    if (c !== column) {
      flush();
      column = c;
      firstI = lowI = highI = i;
      firstX = lowX = highX = x;
      firstY = lowY = highY = y;
    }
    if (y > lowY) {
      lowI = i;
      lowX = x;
      lowY = y;
    }
    if (y < highY) {
      highI = i;
      highX = x;
      highY = y;
    }
    lastI = i;
    lastX = x;
    lastY = y;
  }
  flush();
  return out;
}

/** Pixels in `rect` that are neither background nor grid, i.e. that a label there would hide. */
function countInk(raster: Raster, rect: Rect): number {
  let ink = 0;
  for (let y = Math.max(0, rect.top); y < Math.min(raster.height, rect.bottom); y++) {
    for (let x = Math.max(0, rect.left); x < Math.min(raster.width, rect.right); x++) {
      const i = (y * raster.width + x) * 3;
      const r = raster.data[i];
      const g = raster.data[i + 1];
      const b = raster.data[i + 2];
      const plain =
        (r === BACKGROUND[0] && g === BACKGROUND[1] && b === BACKGROUND[2]) ||
        (r === GRID_COLOR[0] && g === GRID_COLOR[1] && b === GRID_COLOR[2]);
      if (!plain) ink++;
    }
  }
  return ink;
}

function overlaps(a: Rect, b: Rect): boolean {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

function drawFrame(
  raster: Raster,
  layout: FullLayout,
  series: readonly ChartSeries[],
  options: ChartOptions,
) {
  const s = layout.textScale;
  const { plot } = layout;
  raster.text(options.title, layout.margin, layout.titleTop, TITLE_COLOR, s + 1);

  const labels = series.map((x) => x.label);
  for (const row of layout.legend) {
    let x = layout.width - layout.margin - rowsWidth(row.items, labels, s);
    for (const i of row.items) {
      const color = layout.colors[i]!;
      raster.fillRect(
        x,
        row.top + Math.floor((FONT_CAP_HEIGHT * s) / 2) - s,
        LEGEND_SWATCH * s,
        2 * s,
        color,
      );
      x += (LEGEND_SWATCH + 4) * s;
      x += raster.text(labels[i] ?? '', x, row.top, TITLE_COLOR, s) + LEGEND_GAP * s;
    }
  }

  if (layout.empty) {
    raster.strokeRect(
      plot.left,
      plot.top,
      plot.right - plot.left + 1,
      plot.bottom - plot.top + 1,
      AXIS_COLOR,
    );
    const message = 'no data';
    const w = measureText(message, s + 1);
    const x = Math.round((plot.left + plot.right - w) / 2);
    const y = Math.round((plot.top + plot.bottom - FONT_CAP_HEIGHT * (s + 1)) / 2);
    raster.text(message, x, y, LABEL_COLOR, s + 1);
    return;
  }

  const tickLength = 3 * s;
  for (const value of layout.yTicks) {
    const row = layout.yToRow(value);
    raster.hLine(plot.left, plot.right + 1, row, GRID_COLOR);
    raster.hLine(plot.left - tickLength, plot.left, row, AXIS_COLOR);
    const label = formatTickValue(value, options.currencySymbol);
    const w = measureText(label, s);
    const top = row - Math.floor((FONT_CAP_HEIGHT * s) / 2);
    raster.text(label, plot.left - tickLength - 3 * s - w, top, LABEL_COLOR, s);
  }
  for (const tick of layout.xTicks) {
    const column = Math.floor(layout.xToPixel(tick.at));
    raster.vLine(column, plot.top, plot.bottom, GRID_COLOR);
    raster.vLine(column, plot.bottom + 1, plot.bottom + 1 + tickLength, AXIS_COLOR);
    const w = measureText(tick.label, s);
    raster.text(tick.label, column - Math.floor(w / 2), plot.bottom + tickLength + 3 * s, LABEL_COLOR, s);
  }
  raster.vLine(plot.left, plot.top, plot.bottom + 1, AXIS_COLOR);
  raster.hLine(plot.left, plot.right + 1, plot.bottom, AXIS_COLOR);
}

/**
 * Renders balance lines over time as a PNG: title, legend, y axis in the currency, x axis in UTC
 * (`HH:MM` for spans up to 36 h, `MM-DD` beyond), dashed thresholds with labels and dashed projections.
 * An empty series list, or series without points, gives a framed chart that says "no data".
 */
export function renderBalanceChart(series: ChartSeries[], options: ChartOptions): Buffer {
  const layout = computeLayout(series, options);
  const raster = new Raster(layout.width, layout.height, BACKGROUND);
  drawFrame(raster, layout, series, options);
  if (layout.empty) return raster.toPng();

  const s = layout.textScale;
  const { plot } = layout;
  const { prepared } = layout;
  const plotClip: Rect = {
    left: plot.left,
    top: plot.top - 2 * s,
    right: plot.right + 2 * s,
    bottom: plot.bottom + 2,
  };
  const thresholdDash: [number, number] = [THRESHOLD_DASH[0] * s, THRESHOLD_DASH[1] * s];
  const projectionDash: [number, number] = [PROJECTION_DASH[0] * s, PROJECTION_DASH[1] * s];

  raster.setClip({ left: plot.left + 1, top: plot.top, right: plot.right + 1, bottom: plot.bottom });
  prepared.forEach((p, i) => {
    if (p.threshold === undefined) return;
    const row = layout.yToRow(p.threshold);
    // Thick dashes grow upwards from the value's row, so the row itself always carries the colour.
    raster.hLine(plot.left + 1, plot.right + 1, row - (s - 1), layout.colors[i]!, s, thresholdDash);
  });

  raster.setClip(plotClip);
  prepared.forEach((p, i) => {
    const color = layout.colors[i]!;
    const line = decimate(p.points, layout);
    const last = p.points[p.points.length - 1];
    if (p.projection.length > 0) {
      const start = last ? [last] : [];
      const path = decimate([...start, ...p.projection.filter((q) => !last || q.at >= last.at)], layout);
      raster.polyline(path, mixColor(color, BACKGROUND, 0.1), { width: 1.5 * s, dash: projectionDash });
    }
    if (line.length > 0) raster.polyline(line, color, { width: s + 0.5 });
    if (last && last.at >= layout.from && last.at <= layout.to) {
      raster.polyline([{ x: layout.xToPixel(last.at), y: layout.yToPixel(last.value) }], color, {
        width: 4 * s,
      });
    }
  });
  raster.setClip();

  // Threshold labels go beside their line, preferring the right edge, on the spot that hides the least of the
  // lines already drawn; labels never cover each other.
  const placed: Rect[] = [];
  prepared.forEach((p, i) => {
    if (p.threshold === undefined) return;
    const text = `threshold ${formatTickValue(p.threshold, options.currencySymbol)}`;
    const w = measureText(text, s);
    const h = FONT_CAP_HEIGHT * s;
    const row = layout.yToRow(p.threshold);
    const inset = 2 * s;
    let best: { rect: Rect; ink: number } | undefined;
    for (let shift = 0; shift <= plot.right - plot.left - w - 8 * s && best?.ink !== 0; shift += 12 * s) {
      const left = plot.right - 4 * s - w - shift;
      for (const top of [row - s - 2 * s - h, row + 1 + 2 * s]) {
        const rect = {
          left: left - inset,
          top: top - inset,
          right: left + w + inset,
          bottom: top + h + inset,
        };
        if (rect.top < plot.top || rect.bottom > plot.bottom || placed.some((q) => overlaps(q, rect)))
          continue;
        const ink = countInk(raster, rect);
        if (!best || ink < best.ink) best = { rect, ink };
        if (ink === 0) break;
      }
    }
    if (!best) return;
    const { rect } = best;
    placed.push(rect);
    raster.fillRect(rect.left, rect.top, rect.right - rect.left, rect.bottom - rect.top, BACKGROUND, 0.85);
    raster.text(text, rect.left + inset, rect.top + inset, layout.colors[i]!, s);
  });

  return raster.toPng();
}
