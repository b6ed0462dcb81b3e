import { inflateSync, crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  BACKGROUND,
  type ChartOptions,
  type ChartSeries,
  formatTickValue,
  layoutBalanceChart,
  niceTicks,
  renderBalanceChart,
} from '../../src/chart/balance-chart.js';
import { crc32, encodePng, PNG_SIGNATURE } from '../../src/chart/png.js';
import { measureText, parseColor, Raster, type Rgb } from '../../src/chart/raster.js';

interface DecodedPng {
  width: number;
  height: number;
  colorType: number;
  channels: number;
  chunkTypes: string[];
  /** Unfiltered samples, `width * channels` per row. */
  pixels: Buffer;
}

/** A deliberately small decoder: 8-bit RGB/RGBA, no interlace, filter type 0 on every row. */
function decodePng(png: Buffer): DecodedPng {
  expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
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
    const stored = png.readUInt32BE(offset + 8 + length);
    // zlib's CRC is an implementation independent of the encoder's table.
    expect(stored, `CRC of ${type}`).toBe(zlibCrc32(png.subarray(offset + 4, offset + 8 + length)));
    chunkTypes.push(type);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      expect(body[8]).toBe(8);
      colorType = body[9]!;
      expect([body[10], body[11], body[12]]).toEqual([0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(body);
    offset += 12 + length;
  }
  const channels = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  expect(raw.length).toBe((stride + 1) * height);
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (stride + 1)], `filter type of row ${y}`).toBe(0);
    raw.copy(pixels, y * stride, y * (stride + 1) + 1, (y + 1) * (stride + 1));
  }
  return { width, height, colorType, channels, chunkTypes, pixels };
}

function pixelAt(image: DecodedPng, x: number, y: number): Rgb {
  const i = (y * image.width + x) * image.channels;
  return [image.pixels[i]!, image.pixels[i + 1]!, image.pixels[i + 2]!];
}

function same(a: Rgb, b: Rgb): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

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

function countColor(
  image: DecodedPng,
  color: Rgb,
  region?: { x0: number; y0: number; x1: number; y1: number },
) {
  const { x0 = 0, y0 = 0, x1 = image.width, y1 = image.height } = region ?? {};
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (same(pixelAt(image, x, y), color)) n++;
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

const OPTIONS: ChartOptions = { title: 'Balance history', currencySymbol: '$' };

describe('PNG encoder', () => {
  it('computes the standard CRC-32 check value and agrees with zlib on arbitrary bytes', () => {
    expect(crc32(Buffer.from('123456789', 'latin1'))).toBe(0xcbf43926);
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 131 + 7) % 256);
    expect(crc32(bytes)).toBe(zlibCrc32(bytes));
    expect(crc32(bytes.subarray(500), crc32(bytes.subarray(0, 500)))).toBe(crc32(bytes));
  });

  it('encodes a 2x2 RGB image to the exact signature, IHDR, pixel rows and IEND bytes', () => {
    const png = encodePng({
      width: 2,
      height: 2,
      channels: 3,
      data: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]),
    });
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    // length 13, "IHDR", 2x2, depth 8, colour type 2 (RGB), deflate, filter method 0, no interlace, CRC.
    expect(png.subarray(8, 33).toString('hex')).toBe(
      '0000000d49484452000000020000000208020000' + '00fdd49a73',
    );
    expect(png.subarray(png.length - 12).toString('hex')).toBe('0000000049454e44ae426082');

    const idatLength = png.readUInt32BE(33);
    expect(png.toString('latin1', 37, 41)).toBe('IDAT');
    const raw = inflateSync(png.subarray(41, 41 + idatLength));
    expect([...raw]).toEqual([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255]);
    expect(png.length).toBe(33 + 12 + idatLength + 12);
  });

  it('marks 4-channel images as RGBA and keeps the alpha samples', () => {
    const png = encodePng({
      width: 1,
      height: 2,
      channels: 4,
      data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
    });
    const image = decodePng(png);
    expect(image.colorType).toBe(6);
    expect([...image.pixels]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('rejects pixel data whose length does not match the size', () => {
    expect(() => encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(11) })).toThrow(
      RangeError,
    );
    expect(() => encodePng({ width: 0, height: 2, channels: 3, data: new Uint8Array(0) })).toThrow(
      RangeError,
    );
  });
});

describe('raster', () => {
  it('parses #rrggbb and #rgb colours and rejects other text', () => {
    expect(parseColor('#1f77B4')).toEqual([0x1f, 0x77, 0xb4]);
    expect(parseColor('#fa0')).toEqual([0xff, 0xaa, 0x00]);
    expect(() => parseColor('red')).toThrow(RangeError);
  });

  it('has a glyph for every character the chart needs, distinct from the fallback', () => {
    const draw = (text: string) => {
      const r = new Raster(20, 12);
      r.text(text, 1, 1, [0, 0, 0]);
      return Buffer.from(r.data).toString('hex');
    };
    const fallback = draw('\u2603');
    expect(fallback).toBe(draw('?'));
    const needed = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz$¥.,:-+%/()<>~';
    const missing = [...needed].filter((c) => c !== '?' && draw(c) === fallback);
    expect(missing).toEqual([]);
    expect(draw(' ')).toBe(draw(''));
    // Letter O and digit 0 share a shape, as in most sans-serif fonts; every other glyph is unique.
    expect(draw('O')).toBe(draw('0'));
    const withoutO = [...needed].filter((c) => c !== 'O');
    expect(new Set(withoutO.map(draw)).size).toBe(withoutO.length);
  });

  it('scales text by an integer factor and measures it consistently', () => {
    expect(measureText('', 2)).toBe(0);
    expect(measureText('$12.50', 2)).toBe(2 * measureText('$12.50', 1));
    const r = new Raster(100, 30);
    const ink: Rgb = [10, 20, 30];
    const width = r.text('12', 2, 3, ink, 2);
    expect(width).toBe(measureText('12', 2));
    const inked: number[] = [];
    for (let y = 0; y < 30; y++) for (let x = 0; x < 100; x++) if (same(r.getPixel(x, y), ink)) inked.push(x);
    expect(Math.min(...inked)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...inked)).toBe(2 + width - 1);
  });

  it('leaves gaps in a dashed line and none in a solid one', () => {
    const ink: Rgb = [200, 0, 0];
    const solid = new Raster(100, 10);
    solid.line({ x: 5, y: 5.5 }, { x: 95, y: 5.5 }, ink, { width: 2 });
    const dashed = new Raster(100, 10);
    dashed.line({ x: 5, y: 5.5 }, { x: 95, y: 5.5 }, ink, { width: 2, dash: [6, 4] });
    const row = (r: Raster) => Array.from({ length: 80 }, (_, i) => same(r.getPixel(10 + i, 5), ink));
    expect(row(solid).every(Boolean)).toBe(true);
    const pattern = row(dashed);
    expect(pattern.filter(Boolean).length).toBeGreaterThan(30);
    expect(pattern.filter((on) => !on).length).toBeGreaterThan(15);
  });

  it('does not draw outside the clip rectangle', () => {
    const r = new Raster(50, 50);
    r.setClip({ left: 10, top: 10, right: 40, bottom: 40 });
    r.line({ x: 0, y: 25 }, { x: 50, y: 25 }, [0, 0, 0], { width: 3 });
    r.fillRect(0, 0, 50, 5, [0, 0, 0]);
    expect(r.getPixel(5, 25)).toEqual([255, 255, 255]);
    expect(r.getPixel(45, 25)).toEqual([255, 255, 255]);
    expect(r.getPixel(25, 25)).toEqual([0, 0, 0]);
    expect(r.getPixel(25, 2)).toEqual([255, 255, 255]);
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
      expect(new Set(ticks.map((t) => formatTickValue(t, '$'))).size).toBe(ticks.length);
    }
  });

  it('formats tick values with the currency symbol, two decimals and thousands separators', () => {
    expect(formatTickValue(12.5, '$')).toBe('$12.50');
    expect(formatTickValue(0, '¥')).toBe('¥0.00');
    expect(formatTickValue(-0.25, '$')).toBe('-$0.25');
    expect(formatTickValue(-0.001, '$')).toBe('$0.00');
    expect(formatTickValue(1_234_567.891, '¥')).toBe('¥1,234,567.89');
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
      expect(pixelAt(image, x, y), `corner ${x},${y}`).toEqual(BACKGROUND);
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
    expect(pixelAt(image, middle, layout.yToRow(40))).toEqual(parseColor(RED));
    expect(pixelAt(image, middle, layout.yToRow(10))).toEqual(parseColor(BLUE));
    const halfway = layout.yToRow(25);
    expect(pixelAt(image, middle, halfway)).not.toEqual(parseColor(RED));
    expect(pixelAt(image, middle, halfway)).not.toEqual(parseColor(BLUE));
  });

  it('gives series without a colour distinct default colours, also shown in the legend', () => {
    const series: ChartSeries[] = ['a', 'b', 'c'].map((label, k) => ({
      label,
      points: hourly(10, () => 10 + k * 10),
    }));
    const layout = layoutBalanceChart(series, OPTIONS);
    expect(new Set(layout.colors.map((c) => c.join(','))).size).toBe(3);
    const image = decodePng(renderBalanceChart(series, OPTIONS));
    for (const color of layout.colors) {
      // Legend swatches sit above the plot area.
      expect(
        countColor(image, color, { x0: 0, y0: 0, x1: image.width, y1: layout.plot.top }),
      ).toBeGreaterThan(10);
    }
  });

  it('draws the threshold as a dashed line in the series colour on the row its value maps to', () => {
    const series: ChartSeries[] = [
      { label: 'Claude', color: RED, points: hourly(48, (i) => 80 - i * 0.5), threshold: 20 },
    ];
    const layout = layoutBalanceChart(series, OPTIONS);
    const image = decodePng(renderBalanceChart(series, OPTIONS));
    const red = parseColor(RED);
    const row = layout.yToRow(20);
    const { left, right } = layout.plot;
    const pattern = runs(image, row, left + 1, right, (c) => same(c, red));
    const onPixels = pattern.filter((r) => r.on).reduce((n, r) => n + r.length, 0);
    expect(onPixels).toBeGreaterThan((right - left) * 0.4);
    // Dashes: many separate red runs with gaps of background (or grid) between them.
    expect(pattern.filter((r) => r.on).length).toBeGreaterThan(20);
    const gaps = pattern.filter((r) => !r.on && r.length >= 3);
    expect(gaps.length).toBeGreaterThan(20);
    // Nowhere near the threshold row between it and the data is the line repeated.
    expect(
      countColor(image, red, { x0: left + 1, y0: layout.yToRow(28), x1: right, y1: layout.yToRow(28) + 1 }),
    ).toBe(0);
  });

  it('labels the threshold with its value next to the line', () => {
    const series: ChartSeries[] = [
      { label: 'Claude', color: RED, points: hourly(48, () => 80), threshold: 5 },
    ];
    const layout = layoutBalanceChart(series, OPTIONS);
    const image = decodePng(renderBalanceChart(series, OPTIONS));
    const red = parseColor(RED);
    const row = layout.yToRow(5);
    const band = 11 * layout.textScale;
    const { left, right } = layout.plot;
    const above = countColor(image, red, { x0: left + 1, y0: row - band, x1: right, y1: row - 1 });
    const below = countColor(image, red, { x0: left + 1, y0: row + 1, x1: right, y1: row + band });
    // `threshold $5.00` at the chart's text scale has well over 100 inked pixels; the line itself is excluded.
    expect(above + below).toBeGreaterThan(100);
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
    const layout = layoutBalanceChart(series, { ...OPTIONS, currencySymbol: '¥' });
    expect(layout.to).toBeGreaterThan(layout.from);
    expect(layout.yMin).toBeLessThan(123.45);
    expect(layout.yMax).toBeGreaterThan(123.45);
    const image = decodePng(renderBalanceChart(series, { ...OPTIONS, currencySymbol: '¥' }));
    const x = Math.floor(layout.xToPixel(T0));
    expect(pixelAt(image, x, layout.yToRow(123.45))).toEqual(parseColor(RED));
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
      const blankCentre = countColor(image, BACKGROUND, centre);
      expect(blankCentre).toBeLessThan(120 * 30);
      expect(blankCentre).toBeGreaterThan(120 * 30 * 0.5);
      const inner = { x0: left + 2, y0: top + 2, x1: right - 1, y1: cy - 20 };
      expect(countColor(image, BACKGROUND, inner)).toBe((inner.x1 - inner.x0) * (inner.y1 - inner.y0));
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
    const red = parseColor(RED);
    let nearSpike = 0;
    for (let dx = -2; dx <= 2; dx++) if (same(pixelAt(image, x + dx, spikeRow), red)) nearSpike++;
    expect(nearSpike).toBeGreaterThan(0);
  });

  it('clips lines to the requested time window', () => {
    const series: ChartSeries[] = [{ label: 'a', color: RED, points: hourly(96, () => 10) }];
    const options = { ...OPTIONS, from: new Date(T0 + 24 * HOUR), to: new Date(T0 + 48 * HOUR) };
    const layout = layoutBalanceChart(series, options);
    const image = decodePng(renderBalanceChart(series, options));
    const row = layout.yToRow(10);
    const red = parseColor(RED);
    expect(pixelAt(image, layout.plot.left + 5, row)).toEqual(red);
    expect(countColor(image, red, { x0: 0, y0: row - 3, x1: layout.plot.left, y1: row + 4 })).toBe(0);
    expect(
      countColor(image, red, { x0: layout.plot.right + 5, y0: row - 3, x1: image.width, y1: row + 4 }),
    ).toBe(0);
  });

  it('rejects sizes too small to draw on and windows that end before they start', () => {
    const series: ChartSeries[] = [{ label: 'a', points: hourly(3, () => 1) }];
    expect(() => renderBalanceChart(series, { ...OPTIONS, width: 50 })).toThrow(RangeError);
    expect(() => renderBalanceChart(series, { ...OPTIONS, height: 10.5 })).toThrow(RangeError);
    expect(() => renderBalanceChart(series, { ...OPTIONS, from: new Date(T0), to: new Date(T0) })).toThrow(
      RangeError,
    );
  });

  it('keeps a blank margin of 10 text-scale pixels on every side, legend and right-most time label included', () => {
    // The window ends on midnight, so a time label is centred on the right end of the axis (issue 10).
    const options = { ...OPTIONS, from: new Date(T0), to: new Date(T0 + 2 * DAY) };
    const series = [
      { label: 'Claude', points: hourly(48, (i) => 12 - i * 0.1), threshold: 5 },
      { label: 'Kimi', points: hourly(48, (i) => 20 - i * 0.2), threshold: 8 },
    ];
    expect(layoutBalanceChart(series, options).xTicks.at(-1)?.at).toBe(T0 + 2 * DAY);
    const image = decodePng(renderBalanceChart(series, options));
    const margin = 10 * layoutBalanceChart(series, options).textScale;
    const inked = (x: number, y: number) => !same(pixelAt(image, x, y), BACKGROUND);
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
    // The legend's last label ends exactly at the margin: right-aligned, not short of it.
    const legendRows = { x0: image.width - margin - 1, y0: 0, x1: image.width - margin, y1: 60 };
    expect(countColor(image, parseColor('#212529'), legendRows)).toBeGreaterThan(0);
  });
});
