import { inflateSync, crc32 as zlibCrc32 } from 'node:zlib';
import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import {
  BACKGROUND,
  balanceChartSvg,
  type ChartOptions,
  type ChartSeries,
  layoutBalanceChart,
  niceTicks,
  renderBalanceChart,
  TEXT_COLOR,
} from '../../src/adapters/chart/balance-chart.js';
import { FONT_FAMILY, fontFiles, readFontMetrics } from '../../src/adapters/chart/font.js';
import { utcClock } from '../../src/core/format.js';
import { formatMoney } from '../../src/core/money.js';

type Rgb = readonly [number, number, number];

interface DecodedPng {
  width: number;
  height: number;
  chunkTypes: string[];
  /** RGB(A) samples, `width * channels` per row, filters undone. */
  pixels: Buffer;
  channels: number;
}

/** Undoes one PNG row filter (None, Sub, Up, Average, Paeth) in place. */
function unfilter(type: number, row: Buffer, previous: Buffer, bpp: number): void {
  for (let i = 0; i < row.length; i++) {
    const left = i >= bpp ? row[i - bpp]! : 0;
    const up = previous[i] ?? 0;
    const upLeft = i >= bpp ? (previous[i - bpp] ?? 0) : 0;
    let add = 0;
    if (type === 1) add = left;
    else if (type === 2) add = up;
    else if (type === 3) add = Math.floor((left + up) / 2);
    else if (type === 4) {
      const p = left + up - upLeft;
      const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
      add = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
    } else expect(type, 'filter type').toBe(0);
    row[i] = (row[i]! + add) & 0xff;
  }
}

/** A decoder independent of resvg: 8-bit RGB/RGBA, no interlace; every chunk CRC checked with zlib's CRC. */
function decodePng(png: Buffer): DecodedPng {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  const chunkTypes: string[] = [];
  const idat: Buffer[] = [];
  let width = 0;
  let height = 0;
  let colorType = -1;
  let offset = 8;
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    expect(png.readUInt32BE(offset + 8 + length), `CRC of ${type}`).toBe(
      zlibCrc32(png.subarray(offset + 4, offset + 8 + length)),
    );
    chunkTypes.push(type);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      expect(body[8], 'bit depth').toBe(8);
      colorType = body[9]!;
      expect(body[12], 'interlace').toBe(0);
    }
    if (type === 'IDAT') idat.push(body);
    offset += 12 + length;
  }
  expect([2, 6]).toContain(colorType);
  const channels = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  expect(raw.length).toBe((stride + 1) * height);
  const pixels = Buffer.alloc(stride * height);
  let previous = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const row = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    unfilter(raw[y * (stride + 1)]!, row, previous, channels);
    row.copy(pixels, y * stride);
    previous = row;
  }
  if (channels === 4) {
    // An opaque image: Discord shows it on its own background, which must not show through.
    let translucent = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 255) translucent++;
    expect(translucent, 'pixels that are not opaque').toBe(0);
  }
  return { width, height, chunkTypes, pixels, channels };
}

function pixelAt(image: DecodedPng, x: number, y: number): Rgb {
  const i = (y * image.width + x) * image.channels;
  return [image.pixels[i]!, image.pixels[i + 1]!, image.pixels[i + 2]!];
}

function rgb(hex: string): Rgb {
  return [1, 3, 5].map((k) => Number.parseInt(hex.slice(k, k + 2), 16)) as unknown as Rgb;
}

/** Within `tolerance` on every channel: lines and text are antialiased, so only their cores hit the colour. */
function near(a: Rgb, b: Rgb, tolerance = 0): boolean {
  return (
    Math.abs(a[0] - b[0]) <= tolerance &&
    Math.abs(a[1] - b[1]) <= tolerance &&
    Math.abs(a[2] - b[2]) <= tolerance
  );
}

const WHITE = rgb(BACKGROUND);

/** Lengths of alternating runs along a row segment where `test` holds (true runs) or not (false runs). */
function runs(image: DecodedPng, y: number, x0: number, x1: number, test: (c: Rgb) => boolean) {
  const out: { on: boolean; length: number }[] = [];
  for (let x = x0; x < x1; x++) {
    const on = test(pixelAt(image, x, y));
    const last = out[out.length - 1];
    if (last && last.on === on) last.length++;
    else out.push({ on, length: 1 });
  }
  return out;
}

function count(
  image: DecodedPng,
  test: (c: Rgb) => boolean,
  region?: { x0: number; y0: number; x1: number; y1: number },
) {
  const { x0 = 0, y0 = 0, x1 = image.width, y1 = image.height } = region ?? {};
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (test(pixelAt(image, x, y))) n++;
  return n;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2025, 5, 3, 0, 0);
const RED = '#d62728';
const BLUE = '#1f77b4';

function hourly(count: number, value: (i: number) => number, start = T0): { at: Date; value: number }[] {
  return Array.from({ length: count }, (_, i) => ({ at: new Date(start + i * HOUR), value: value(i) }));
}

const OPTIONS: ChartOptions = { title: 'Balance history', currency: 'USD' };

describe('font', () => {
  it('finds DejaVu Sans in the installed package and reads its metrics', () => {
    const { regular, bold } = fontFiles();
    expect(regular).toMatch(/dejavu-fonts-ttf[\\/]ttf[\\/]DejaVuSans\.ttf$/);
    const metrics = readFontMetrics(regular);
    expect(metrics.measure('', 16)).toBe(0);
    // Digits share one advance in DejaVu Sans (0.636 em), so amounts line up.
    expect(metrics.measure('0', 1000)).toBeCloseTo(636.23, 1);
    expect(metrics.measure('0123456789', 10)).toBeCloseTo(10 * metrics.measure('8', 10), 9);
    expect(metrics.measure('W', 10)).toBeGreaterThan(metrics.measure('i', 10) * 2);
    expect(metrics.capHeight).toBeCloseTo(0.729, 3);
    expect(metrics.ascender).toBeGreaterThan(metrics.capHeight);
    expect(readFontMetrics(bold).measure('Balance', 20)).toBeGreaterThan(metrics.measure('Balance', 20));
  });

  it('measures text as wide as resvg draws it', () => {
    const { regular, bold } = fontFiles();
    const metrics = readFontMetrics(regular);
    for (const sample of ['threshold $1234.50', 'Balance, last 7d (USD)', '¥900.00', 'MWmwil']) {
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="60"><text x="10" y="40" font-family="${FONT_FAMILY}" font-size="16" font-kerning="none">${sample}</text></svg>`;
      const box = new Resvg(svg, { font: { fontFiles: [regular, bold], loadSystemFonts: false } }).getBBox();
      // The ink box lies inside the advance box, short of it by the side bearings of the end glyphs.
      expect(box?.width, sample).toBeLessThanOrEqual(metrics.measure(sample, 16) + 0.5);
      expect(box?.width, sample).toBeGreaterThan(metrics.measure(sample, 16) - 4);
    }
  });
});

describe('axis helpers', () => {
  it('picks 4 to 6 evenly spaced ticks that cover the range, whatever its size', () => {
    for (const [min, max] of [
      [0, 1],
      [4.5, 5.5],
      [0, 0.05],
      [12.34, 12.39],
      [0, 47.3],
      [3.2, 97.1],
      [980, 1520],
      [-3, 7],
      [0, 123_456.78],
    ] as const) {
      const ticks = niceTicks(min, max);
      expect(ticks.length, `${min}..${max}`).toBeGreaterThanOrEqual(4);
      expect(ticks.length, `${min}..${max}`).toBeLessThanOrEqual(6);
      expect(ticks[0]!).toBeLessThanOrEqual(min);
      expect(ticks[ticks.length - 1]!).toBeGreaterThanOrEqual(max);
      const step = ticks[1]! - ticks[0]!;
      expect(step).toBeGreaterThanOrEqual(0.01 - 1e-9);
      ticks.forEach((t, i) => {
        expect(t).toBeCloseTo(ticks[0]! + i * step, 9);
      });
      expect(new Set(ticks.map((t) => formatMoney(t, 'USD', { grouped: true }))).size).toBe(ticks.length);
    }
  });

  it('labels the money axis and the threshold with the shared money formatter, in the chart currency', () => {
    const series: ChartSeries[] = [{ label: 'Kimi', points: hourly(24, (i) => 1250 - i), threshold: 1000 }];
    for (const currency of ['USD', 'CNY'] as const) {
      const options = { ...OPTIONS, currency };
      const layout = layoutBalanceChart(series, options);
      const svg = balanceChartSvg(series, options);
      for (const value of layout.yTicks)
        expect(svg).toContain(`>${formatMoney(value, currency, { grouped: true })}</text>`);
      expect(svg).toContain(`>threshold ${formatMoney(1000, currency, { grouped: true })}</text>`);
    }
    expect(balanceChartSvg(series, { ...OPTIONS, currency: 'CNY' })).toContain('>threshold ¥1,000.00<');
  });

  it('labels time ticks MM-DD for multi-day spans and HH:MM for spans up to 36 h, in UTC', () => {
    const savedTz = process.env.TZ;
    // A zone far from UTC, so that local-time formatting would show different dates and hours.
    process.env.TZ = 'Pacific/Kiritimati';
    try {
      const week = layoutBalanceChart([{ label: 'a', points: hourly(7 * 24, (i) => 50 - i * 0.1) }], OPTIONS);
      const weekLabels = week.xTicks.map((t) => t.label);
      expect(weekLabels.length).toBeGreaterThanOrEqual(3);
      for (const label of weekLabels) expect(label).toMatch(/^\d\d-\d\d$/);
      expect(weekLabels).toContain('06-05');
      for (const t of week.xTicks) expect(t.at % DAY).toBe(0);

      const day = layoutBalanceChart([{ label: 'a', points: hourly(36, (i) => 50 - i) }], OPTIONS);
      const dayLabels = day.xTicks.map((t) => t.label);
      expect(dayLabels.length).toBeGreaterThanOrEqual(3);
      for (const label of dayLabels) expect(label).toMatch(/^\d\d:\d\d$/);
      expect(dayLabels).toContain('12:00');
      // The labels come from the shared UTC formatter, and the chart says once that they are UTC.
      for (const t of day.xTicks) expect(t.label).toBe(utcClock(new Date(t.at)));
      expect(balanceChartSvg([{ label: 'a', points: hourly(36, (i) => 50 - i) }], OPTIONS)).toContain(
        '>UTC</text>',
      );
    } finally {
      if (savedTz === undefined) delete process.env.TZ;
      else process.env.TZ = savedTz;
    }
  });
});

describe('renderBalanceChart', () => {
  it('writes a PNG with the requested size and valid chunk CRCs', () => {
    const series: ChartSeries[] = [{ label: 'Claude', points: hourly(48, (i) => 30 - i * 0.2) }];
    const image = decodePng(renderBalanceChart(series, { ...OPTIONS, width: 640, height: 320 }));
    expect([image.width, image.height]).toEqual([640, 320]);
    expect(image.chunkTypes[0]).toBe('IHDR');
    expect(image.chunkTypes[image.chunkTypes.length - 1]).toBe('IEND');
    expect(image.chunkTypes).toContain('IDAT');

    const defaults = decodePng(renderBalanceChart(series, OPTIONS));
    expect([defaults.width, defaults.height]).toEqual([800, 400]);
  });

  it('paints the background colour in all four corners', () => {
    const series: ChartSeries[] = [
      { label: 'Claude', points: hourly(100, (i) => 100 - i), threshold: 20, projection: [] },
    ];
    const image = decodePng(renderBalanceChart(series, OPTIONS));
    for (const [x, y] of [
      [0, 0],
      [image.width - 1, 0],
      [0, image.height - 1],
      [image.width - 1, image.height - 1],
    ] as const) {
      expect(pixelAt(image, x, y), `corner ${x},${y}`).toEqual(WHITE);
    }
  });

  it('draws each series in its colour where its points map', () => {
    const series: ChartSeries[] = [
      { label: 'Claude', color: RED, points: hourly(48, () => 40) },
      { label: 'Kimi', color: BLUE, points: hourly(48, () => 10) },
    ];
    const layout = layoutBalanceChart(series, OPTIONS);
    const image = decodePng(renderBalanceChart(series, OPTIONS));
    const middle = Math.round((layout.plot.left + layout.plot.right) / 2);
    expect(pixelAt(image, middle, layout.yToRow(40))).toEqual(rgb(RED));
    expect(pixelAt(image, middle, layout.yToRow(10))).toEqual(rgb(BLUE));
    const halfway = layout.yToRow(25);
    expect(pixelAt(image, middle, halfway)).toEqual(WHITE);
  });

  it('gives series without a colour distinct default colours, also shown in the legend', () => {
    const series: ChartSeries[] = ['a', 'b', 'c'].map((label, k) => ({
      label,
      points: hourly(10, () => 10 + k * 10),
    }));
    const layout = layoutBalanceChart(series, OPTIONS);
    expect(new Set(layout.colors).size).toBe(3);
    const image = decodePng(renderBalanceChart(series, OPTIONS));
    for (const color of layout.colors) {
      // Legend swatches sit above the plot area.
      expect(
        count(image, (c) => near(c, rgb(color)), { x0: 0, y0: 0, x1: image.width, y1: layout.plot.top }),
      ).toBeGreaterThan(10);
    }
  });

  it('draws the threshold as a dashed line in the series colour on the row its value maps to', () => {
    const series: ChartSeries[] = [
      { label: 'Claude', color: RED, points: hourly(48, (i) => 80 - i * 0.5), threshold: 20 },
    ];
    const layout = layoutBalanceChart(series, OPTIONS);
    const image = decodePng(renderBalanceChart(series, OPTIONS));
    const red = rgb(RED);
    const row = layout.yToRow(20);
    const { left, right } = layout.plot;
    const pattern = runs(image, row, left + 1, right, (c) => near(c, red));
    const onPixels = pattern.filter((r) => r.on).reduce((n, r) => n + r.length, 0);
    expect(onPixels).toBeGreaterThan((right - left) * 0.4);
    // Dashes: many separate red runs with gaps of background (or grid) between them.
    expect(pattern.filter((r) => r.on).length).toBeGreaterThan(20);
    const gaps = pattern.filter((r) => !r.on && r.length >= 3);
    expect(gaps.length).toBeGreaterThan(20);
    // Nowhere near the threshold row between it and the data is the line repeated.
    expect(
      count(image, (c) => near(c, red), {
        x0: left + 1,
        y0: layout.yToRow(28),
        x1: right,
        y1: layout.yToRow(28) + 1,
      }),
    ).toBe(0);
  });

  it('labels the threshold with its value next to the line', () => {
    const series: ChartSeries[] = [
      { label: 'Claude', color: RED, points: hourly(48, () => 80), threshold: 5 },
    ];
    const layout = layoutBalanceChart(series, OPTIONS);
    const image = decodePng(renderBalanceChart(series, OPTIONS));
    const row = layout.yToRow(5);
    const band = 2 * layout.fontSize;
    const { left, right } = layout.plot;
    // Text in a darker shade of the series colour: clearly red, antialiased into the white.
    const reddish = (c: Rgb) => c[0] > c[1] + 60 && c[0] > c[2] + 60;
    const above = count(image, reddish, { x0: left + 1, y0: row - band, x1: right, y1: row - 2 });
    const below = count(image, reddish, { x0: left + 1, y0: row + 1, x1: right, y1: row + band });
    // `threshold $5.00` at the chart's text size has well over 100 inked pixels; the line itself is excluded.
    expect(above + below).toBeGreaterThan(100);
    expect(balanceChartSvg(series, OPTIONS)).toContain('>threshold $5.00</text>');
  });

  it('draws the projection as a dashed continuation after the last point', () => {
    const last = T0 + 23 * HOUR;
    const series: ChartSeries[] = [
      {
        label: 'Claude',
        color: BLUE,
        points: hourly(24, () => 30),
        projection: [{ at: new Date(last + 24 * HOUR), value: 30 }],
      },
    ];
    const layout = layoutBalanceChart(series, OPTIONS);
    expect(layout.to).toBe(last + 24 * HOUR);
    const image = decodePng(renderBalanceChart(series, OPTIONS));
    const row = layout.yToRow(30);
    const isInk = (c: Rgb) => c[0] < 200 && c[2] > c[0] + 40;
    // The solid history has no gaps; the projection after the marker at `last` does.
    const history = runs(image, row, layout.plot.left + 2, Math.floor(layout.xToPixel(last)) - 10, isInk);
    expect(history).toEqual([expect.objectContaining({ on: true })]);
    const projection = runs(image, row, Math.ceil(layout.xToPixel(last)) + 10, layout.plot.right - 2, isInk);
    expect(projection.filter((r) => r.on).length).toBeGreaterThan(10);
    expect(projection.filter((r) => !r.on).length).toBeGreaterThan(10);
  });

  it('spans the y axis over points, thresholds and projections with some padding', () => {
    const series: ChartSeries[] = [
      { label: 'a', points: hourly(24, (i) => 20 + i), threshold: 60 },
      { label: 'b', points: hourly(24, () => 15), projection: [{ at: new Date(T0 + 40 * HOUR), value: 3 }] },
    ];
    const layout = layoutBalanceChart(series, OPTIONS);
    expect(layout.yMax).toBeGreaterThan(60);
    expect(layout.yMin).toBeLessThan(3);
    expect(layout.yMin).toBeGreaterThanOrEqual(0);
    expect(layout.yTicks.length).toBeGreaterThanOrEqual(4);
    expect(layout.yTicks.length).toBeLessThanOrEqual(6);
    expect(layout.yToPixel(layout.yMax)).toBeLessThan(layout.yToPixel(60));
    expect(layout.yToRow(layout.yMax)).toBe(layout.plot.top);
    expect(layout.yToRow(layout.yMin)).toBe(layout.plot.bottom);
  });

  it('keeps the axis at zero when a projection runs out, and draws it down to the axis', () => {
    const series: ChartSeries[] = [
      {
        label: 'Claude',
        color: RED,
        points: hourly(24, (i) => 10 - i * 0.1),
        projection: [{ at: new Date(T0 + 72 * HOUR), value: 0 }],
      },
    ];
    const layout = layoutBalanceChart(series, OPTIONS);
    expect(layout.yMin).toBe(0);
    const image = decodePng(renderBalanceChart(series, OPTIONS));
    const end = Math.floor(layout.xToPixel(T0 + 72 * HOUR));
    const region = { x0: end - 12, y0: layout.plot.bottom - 4, x1: end + 1, y1: layout.plot.bottom + 2 };
    const tinted = (c: Rgb) => c[0] > 180 && c[1] < 150;
    let found = false;
    for (let y = region.y0; y < region.y1; y++) {
      for (let x = region.x0; x < region.x1; x++) found ||= tinted(pixelAt(image, x, y));
    }
    expect(found).toBe(true);
  });

  it('handles a single point by giving both axes a non-zero span around it', () => {
    const series: ChartSeries[] = [
      { label: 'Kimi', color: RED, points: [{ at: new Date(T0), value: 123.45 }] },
    ];
    const layout = layoutBalanceChart(series, { ...OPTIONS, currency: 'CNY' });
    expect(layout.to).toBeGreaterThan(layout.from);
    expect(layout.yMin).toBeLessThan(123.45);
    expect(layout.yMax).toBeGreaterThan(123.45);
    const image = decodePng(renderBalanceChart(series, { ...OPTIONS, currency: 'CNY' }));
    const x = Math.floor(layout.xToPixel(T0));
    // The last point's dot marks it even without a line.
    expect(pixelAt(image, x, layout.yToRow(123.45))).toEqual(rgb(RED));
  });

  it('avoids a zero y range when every value is equal', () => {
    const layout = layoutBalanceChart([{ label: 'a', points: hourly(30, () => 20), threshold: 20 }], OPTIONS);
    expect(layout.yMax - layout.yMin).toBeGreaterThan(0);
    expect(layout.yToPixel(20)).toBeGreaterThan(layout.plot.top + 10);
    expect(layout.yToPixel(20)).toBeLessThan(layout.plot.bottom - 10);
    const zero = layoutBalanceChart([{ label: 'a', points: hourly(30, () => 0) }], OPTIONS);
    expect(zero.yMin).toBe(0);
    expect(zero.yMax).toBeGreaterThan(0);
  });

  it('renders an empty chart that says "no data" for an empty series list or series without points', () => {
    for (const series of [[], [{ label: 'Claude', points: [] }]] as ChartSeries[][]) {
      const layout = layoutBalanceChart(series, OPTIONS);
      expect(layout.empty).toBe(true);
      const image = decodePng(renderBalanceChart(series, OPTIONS));
      expect([image.width, image.height]).toEqual([800, 400]);
      const { left, right, top, bottom } = layout.plot;
      const cx = Math.round((left + right) / 2);
      const cy = Math.round((top + bottom) / 2);
      // The message sits in the middle of the frame; everything else inside the frame is blank.
      const centre = { x0: cx - 60, y0: cy - 15, x1: cx + 60, y1: cy + 15 };
      const blankCentre = count(image, (c) => near(c, WHITE), centre);
      expect(blankCentre).toBeLessThan(120 * 30);
      expect(blankCentre).toBeGreaterThan(120 * 30 * 0.5);
      const inner = { x0: left + 2, y0: top + 2, x1: right - 1, y1: cy - 20 };
      expect(count(image, (c) => near(c, WHITE), inner)).toBe((inner.x1 - inner.x0) * (inner.y1 - inner.y0));
      expect(balanceChartSvg(series, OPTIONS)).toContain('>no data</text>');
    }
  });

  it('keeps the extremes of dense data visible after decimation', () => {
    const count = 17_500;
    const step = (30 * DAY) / count;
    const points = Array.from({ length: count }, (_, i) => ({
      at: new Date(T0 + i * step),
      value: i === 9_001 ? 5 : 50 + Math.sin(i / 50),
    }));
    const series: ChartSeries[] = [{ label: 'dense', color: RED, points }];
    const layout = layoutBalanceChart(series, OPTIONS);
    const image = decodePng(renderBalanceChart(series, OPTIONS));
    const x = Math.floor(layout.xToPixel(T0 + 9_001 * step));
    const spikeRow = layout.yToRow(5);
    const red = rgb(RED);
    let nearSpike = 0;
    for (let dx = -2; dx <= 2; dx++) if (near(pixelAt(image, x + dx, spikeRow), red, 40)) nearSpike++;
    expect(nearSpike).toBeGreaterThan(0);
  });

  it('clips lines to the requested time window', () => {
    const series: ChartSeries[] = [{ label: 'a', color: RED, points: hourly(96, () => 10) }];
    const options = { ...OPTIONS, from: new Date(T0 + 24 * HOUR), to: new Date(T0 + 48 * HOUR) };
    const layout = layoutBalanceChart(series, options);
    const image = decodePng(renderBalanceChart(series, options));
    const row = layout.yToRow(10);
    const red = rgb(RED);
    const tinted = (c: Rgb) => !near(c, WHITE, 8) && c[0] > c[2];
    expect(pixelAt(image, layout.plot.left + 5, row)).toEqual(red);
    expect(count(image, tinted, { x0: 0, y0: row - 3, x1: layout.plot.left, y1: row + 4 })).toBe(0);
    expect(
      count(image, tinted, { x0: layout.plot.right + 5, y0: row - 3, x1: image.width, y1: row + 4 }),
    ).toBe(0);
  });

  it('writes titles and labels as text, never as markup, and refuses colours that are not #rgb or #rrggbb', () => {
    const series: ChartSeries[] = [{ label: '<Kimi & "co">', points: hourly(3, () => 1) }];
    const svg = balanceChartSvg(series, { ...OPTIONS, title: `</text><script>alert('x')</script>` });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&#60;Kimi &#38; &#34;co&#34;&#62;</text>');
    expect(decodePng(renderBalanceChart(series, OPTIONS)).width).toBe(800);
    for (const color of ['red', '#12345', '#1f77b4" onload="x', 'url(#a)']) {
      expect(() => balanceChartSvg([{ ...series[0]!, color }], OPTIONS), color).toThrow(RangeError);
    }
    expect(layoutBalanceChart([{ ...series[0]!, color: '#F0a' }], OPTIONS).colors).toEqual(['#ff00aa']);
  });

  it('rejects sizes too small to draw on and windows that end before they start', () => {
    const series: ChartSeries[] = [{ label: 'a', points: hourly(3, () => 1) }];
    expect(() => renderBalanceChart(series, { ...OPTIONS, width: 50 })).toThrow(RangeError);
    expect(() => renderBalanceChart(series, { ...OPTIONS, height: 10.5 })).toThrow(RangeError);
    expect(() => renderBalanceChart(series, { ...OPTIONS, from: new Date(T0), to: new Date(T0) })).toThrow(
      RangeError,
    );
  });

  it('keeps a blank margin of 10 scale pixels on every side, legend and right-most time label included', () => {
    // The window ends on midnight, so a time label is centred on the right end of the axis (issue 10).
    const options = { ...OPTIONS, from: new Date(T0), to: new Date(T0 + 2 * DAY) };
    const series = [
      { label: 'Claude', points: hourly(48, (i) => 12 - i * 0.1), threshold: 5 },
      { label: 'Kimi', points: hourly(48, (i) => 20 - i * 0.2), threshold: 8 },
    ];
    expect(layoutBalanceChart(series, options).xTicks.at(-1)?.at).toBe(T0 + 2 * DAY);
    const image = decodePng(renderBalanceChart(series, options));
    const { margin, scale } = layoutBalanceChart(series, options);
    expect(margin).toBe(10 * scale);
    const inked = (x: number, y: number) => !near(pixelAt(image, x, y), WHITE);
    let inkInMargin = 0;
    let inkInside = 0;
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const border = x < margin || y < margin || x >= image.width - margin || y >= image.height - margin;
        if (!inked(x, y)) continue;
        if (border) inkInMargin++;
        else inkInside++;
      }
    }
    expect(inkInside).toBeGreaterThan(1000);
    expect(inkInMargin).toBe(0);
    // The legend's last label ends at the margin (its last glyph's side bearing short of it): right-aligned.
    const legendEdge = { x0: image.width - margin - 3, y0: 0, x1: image.width - margin, y1: 60 };
    expect(count(image, (c) => near(c, rgb(TEXT_COLOR), 60), legendEdge)).toBeGreaterThan(0);
  });
});
