import { encodePng } from './png.js';

/** An opaque colour as `[r, g, b]`, each 0–255. */
export type Rgb = readonly [number, number, number];

/** Parses `#rrggbb` (or `#rgb`). Throws on anything else. */
export function parseColor(hex: string): Rgb {
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(hex);
  if (short) {
    return [
      Number.parseInt(short[1]!.repeat(2), 16),
      Number.parseInt(short[2]!.repeat(2), 16),
      Number.parseInt(short[3]!.repeat(2), 16),
    ];
  }
  const long = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!long) throw new RangeError(`not a #rrggbb colour: ${JSON.stringify(hex).slice(0, 20)}`);
  return [Number.parseInt(long[1]!, 16), Number.parseInt(long[2]!, 16), Number.parseInt(long[3]!, 16)];
}

/** `color` mixed towards `toward` by `amount` (0 = unchanged, 1 = `toward`). */
export function mixColor(color: Rgb, toward: Rgb, amount: number): Rgb {
  const t = Math.min(1, Math.max(0, amount));
  return [
    Math.round(color[0] + (toward[0] - color[0]) * t),
    Math.round(color[1] + (toward[1] - color[1]) * t),
    Math.round(color[2] + (toward[2] - color[2]) * t),
  ];
}

/** A point in continuous pixel coordinates: pixel `(px, py)` covers `[px, px+1) × [py, py+1)`. */
export interface Point {
  readonly x: number;
  readonly y: number;
}

/** How to stroke a line. */
export interface StrokeStyle {
  /** Line thickness in pixels; default 1. */
  readonly width?: number;
  /** `[on, off]` lengths in pixels for a dashed line; solid when absent. */
  readonly dash?: readonly [number, number];
  /** Smooth edges by partial coverage; default true. Plain lines use only the exact colour. */
  readonly antialias?: boolean;
}

/** An axis-aligned rectangle of whole pixels; `right` and `bottom` are exclusive. */
export interface Rect {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

// 5x7 bitmap font: rows 0–6 sit on the baseline, rows 7–8 are descenders. Widths vary so that narrow glyphs
// (i, l, punctuation) do not leave holes in words; digits all share width 5 so that numbers line up.
const GLYPHS: Readonly<Record<string, readonly string[]>> = {
  '0': ['.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  '1': ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  '2': ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'],
  '3': ['#####', '...#.', '..#..', '...#.', '....#', '#...#', '.###.'],
  '4': ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'],
  '5': ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.'],
  '6': ['..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.'],
  '7': ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'],
  '8': ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'],
  '9': ['.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..'],
  A: ['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  B: ['####.', '#...#', '#...#', '####.', '#...#', '#...#', '####.'],
  C: ['.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.'],
  D: ['###..', '#..#.', '#...#', '#...#', '#...#', '#..#.', '###..'],
  E: ['#####', '#....', '#....', '####.', '#....', '#....', '#####'],
  F: ['#####', '#....', '#....', '####.', '#....', '#....', '#....'],
  G: ['.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.####'],
  H: ['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  I: ['###', '.#.', '.#.', '.#.', '.#.', '.#.', '###'],
  J: ['..###', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..'],
  K: ['#...#', '#..#.', '#.#..', '##...', '#.#..', '#..#.', '#...#'],
  L: ['#....', '#....', '#....', '#....', '#....', '#....', '#####'],
  M: ['#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#'],
  N: ['#...#', '#...#', '##..#', '#.#.#', '#..##', '#...#', '#...#'],
  O: ['.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  P: ['####.', '#...#', '#...#', '####.', '#....', '#....', '#....'],
  Q: ['.###.', '#...#', '#...#', '#...#', '#.#.#', '#..#.', '.##.#'],
  R: ['####.', '#...#', '#...#', '####.', '#.#..', '#..#.', '#...#'],
  S: ['.####', '#....', '#....', '.###.', '....#', '....#', '####.'],
  T: ['#####', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..'],
  U: ['#...#', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  V: ['#...#', '#...#', '#...#', '#...#', '#...#', '.#.#.', '..#..'],
  W: ['#...#', '#...#', '#...#', '#.#.#', '#.#.#', '#.#.#', '.#.#.'],
  X: ['#...#', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '#...#'],
  Y: ['#...#', '#...#', '.#.#.', '..#..', '..#..', '..#..', '..#..'],
  Z: ['#####', '....#', '...#.', '..#..', '.#...', '#....', '#####'],
  a: ['.....', '.....', '.###.', '....#', '.####', '#...#', '.####'],
  b: ['#....', '#....', '#.##.', '##..#', '#...#', '#...#', '####.'],
  c: ['.....', '.....', '.###.', '#....', '#....', '#...#', '.###.'],
  d: ['....#', '....#', '.##.#', '#..##', '#...#', '#...#', '.####'],
  e: ['.....', '.....', '.###.', '#...#', '#####', '#....', '.###.'],
  f: ['..##', '.#..', '.#..', '###.', '.#..', '.#..', '.#..'],
  g: ['.....', '.....', '.####', '#...#', '#...#', '#...#', '.####', '....#', '.###.'],
  h: ['#....', '#....', '#.##.', '##..#', '#...#', '#...#', '#...#'],
  i: ['.#.', '...', '##.', '.#.', '.#.', '.#.', '###'],
  j: ['...#', '....', '..##', '...#', '...#', '...#', '...#', '#..#', '.##.'],
  k: ['#...', '#...', '#..#', '#.#.', '##..', '#.#.', '#..#'],
  l: ['##.', '.#.', '.#.', '.#.', '.#.', '.#.', '###'],
  m: ['.....', '.....', '##.#.', '#.#.#', '#.#.#', '#.#.#', '#.#.#'],
  n: ['.....', '.....', '#.##.', '##..#', '#...#', '#...#', '#...#'],
  o: ['.....', '.....', '.###.', '#...#', '#...#', '#...#', '.###.'],
  p: ['.....', '.....', '####.', '#...#', '#...#', '#...#', '####.', '#....', '#....'],
  q: ['.....', '.....', '.####', '#...#', '#...#', '#...#', '.####', '....#', '....#'],
  r: ['.....', '.....', '#.##.', '##..#', '#....', '#....', '#....'],
  s: ['.....', '.....', '.####', '#....', '.###.', '....#', '####.'],
  t: ['.#..', '.#..', '####', '.#..', '.#..', '.#..', '..##'],
  u: ['.....', '.....', '#...#', '#...#', '#...#', '#..##', '.##.#'],
  v: ['.....', '.....', '#...#', '#...#', '#...#', '.#.#.', '..#..'],
  w: ['.....', '.....', '#...#', '#...#', '#.#.#', '#.#.#', '.#.#.'],
  x: ['.....', '.....', '#...#', '.#.#.', '..#..', '.#.#.', '#...#'],
  y: ['.....', '.....', '#...#', '#...#', '#...#', '#...#', '.####', '....#', '.###.'],
  z: ['.....', '.....', '#####', '...#.', '..#..', '.#...', '#####'],
  $: ['..#..', '.####', '#.#..', '.###.', '..#.#', '####.', '..#..'],
  '¥': ['#...#', '.#.#.', '..#..', '#####', '..#..', '#####', '..#..'],
  '.': ['..', '..', '..', '..', '..', '##', '##'],
  ',': ['..', '..', '..', '..', '..', '##', '##', '.#', '#.'],
  ':': ['..', '##', '##', '..', '##', '##', '..'],
  '-': ['....', '....', '....', '####', '....', '....', '....'],
  '+': ['.....', '..#..', '..#..', '#####', '..#..', '..#..', '.....'],
  '%': ['##...', '##..#', '...#.', '..#..', '.#...', '#..##', '...##'],
  '/': ['....#', '....#', '...#.', '..#..', '.#...', '#....', '#....'],
  '(': ['..#', '.#.', '#..', '#..', '#..', '.#.', '..#'],
  ')': ['#..', '.#.', '..#', '..#', '..#', '.#.', '#..'],
  '<': ['...#', '..#.', '.#..', '#...', '.#..', '..#.', '...#'],
  '>': ['#...', '.#..', '..#.', '...#', '..#.', '.#..', '#...'],
  '~': ['.....', '.....', '.#...', '#.#.#', '...#.', '.....', '.....'],
  ' ': ['...', '...', '...', '...', '...', '...', '...'],
  '?': ['.###.', '#...#', '....#', '...#.', '..#..', '.....', '..#..'],
  '!': ['#', '#', '#', '#', '#', '.', '#'],
  _: ['.....', '.....', '.....', '.....', '.....', '.....', '#####'],
  '=': ['.....', '.....', '#####', '.....', '#####', '.....', '.....'],
  '#': ['.#.#.', '.#.#.', '#####', '.#.#.', '#####', '.#.#.', '.#.#.'],
  "'": ['#', '#', '.', '.', '.', '.', '.'],
};

/** Rows from the top of a capital letter to the baseline, at scale 1. */
export const FONT_CAP_HEIGHT = 7;
/** Rows a line of text occupies including descenders, at scale 1. */
export const FONT_LINE_HEIGHT = 9;

interface Glyph {
  readonly width: number;
  /** `[column, row]` of each set pixel. */
  readonly pixels: readonly (readonly [number, number])[];
}

const FONT: ReadonlyMap<string, Glyph> = new Map(
  Object.entries(GLYPHS).map(([char, rows]) => {
    const pixels: [number, number][] = [];
    rows.forEach((row, y) => {
      for (let x = 0; x < row.length; x++) if (row[x] === '#') pixels.push([x, y]);
    });
    return [char, { width: rows[0]?.length ?? 0, pixels }];
  }),
);

function glyphFor(char: string): Glyph {
  return FONT.get(char) ?? FONT.get('?')!;
}

/** Width in pixels of `text` drawn at integer `scale`, with one scaled pixel between glyphs. */
export function measureText(text: string, scale = 1): number {
  let width = 0;
  let count = 0;
  for (const char of text) {
    width += glyphFor(char).width;
    count++;
  }
  return count === 0 ? 0 : (width + count - 1) * scale;
}

/**
 * The part of segment `a`–`b` inside `rect` grown by `pad` on every side, as parameters `[t0, t1]` along it
 * (Liang–Barsky), or `null` when none of it is; also `null` for coordinates that are not finite.
 */
function clipSegment(a: Point, b: Point, rect: Rect, pad: number): [number, number] | null {
  if (![a.x, a.y, b.x, b.y].every(Number.isFinite)) return null;
  let t0 = 0;
  let t1 = 1;
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const edges: [number, number][] = [
    [-dx, a.x - (rect.left - pad)],
    [dx, rect.right + pad - a.x],
    [-dy, a.y - (rect.top - pad)],
    [dy, rect.bottom + pad - a.y],
  ];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return null;
      continue;
    }
    const t = q / p;
    if (p < 0) t0 = Math.max(t0, t);
    else t1 = Math.min(t1, t);
    if (t0 > t1) return null;
  }
  return [t0, t1];
}

/** An RGB raster with simple drawing operations; opaque, so it encodes as a 3-channel PNG. */
export class Raster {
  readonly width: number;
  readonly height: number;
  /** `width * height * 3` bytes, rows top to bottom. */
  readonly data: Uint8Array;
  private clip: Rect;
  // Per-stroke coverage, so that overlapping dashes, caps and joints of one stroke blend once, not twice.
  private mask: Float32Array | undefined;

  constructor(width: number, height: number, background: Rgb = [255, 255, 255]) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`invalid raster size ${width}x${height}`);
    }
    this.width = width;
    this.height = height;
    this.data = new Uint8Array(width * height * 3);
    this.clip = { left: 0, top: 0, right: width, bottom: height };
    this.fill(background);
  }

  /** Restricts every later drawing operation to `rect` (or to the whole raster when absent). */
  setClip(rect?: Rect): void {
    this.clip = rect
      ? {
          left: Math.max(0, Math.floor(rect.left)),
          top: Math.max(0, Math.floor(rect.top)),
          right: Math.min(this.width, Math.ceil(rect.right)),
          bottom: Math.min(this.height, Math.ceil(rect.bottom)),
        }
      : { left: 0, top: 0, right: this.width, bottom: this.height };
  }

  /** Paints every pixel, ignoring the clip. */
  fill(color: Rgb): void {
    const [r, g, b] = color;
    for (let i = 0; i < this.data.length; i += 3) {
      this.data[i] = r;
      this.data[i + 1] = g;
      this.data[i + 2] = b;
    }
  }

  /** The colour at pixel `(x, y)`. */
  getPixel(x: number, y: number): Rgb {
    const i = (y * this.width + x) * 3;
    return [this.data[i] ?? 0, this.data[i + 1] ?? 0, this.data[i + 2] ?? 0];
  }

  /** Mixes `color` over pixel `(x, y)` with opacity `alpha`; outside the clip it does nothing. */
  blendPixel(x: number, y: number, color: Rgb, alpha = 1): void {
    const c = this.clip;
    if (x < c.left || y < c.top || x >= c.right || y >= c.bottom || alpha <= 0) return;
    const i = (y * this.width + x) * 3;
    const d = this.data;
    if (alpha >= 1) {
      d[i] = color[0];
      d[i + 1] = color[1];
      d[i + 2] = color[2];
      return;
    }
    d[i] = Math.round(d[i]! + (color[0] - d[i]!) * alpha);
    d[i + 1] = Math.round(d[i + 1]! + (color[1] - d[i + 1]!) * alpha);
    d[i + 2] = Math.round(d[i + 2]! + (color[2] - d[i + 2]!) * alpha);
  }

  /** Fills the whole-pixel rectangle at `(x, y)` of size `w × h`, optionally translucent. */
  fillRect(x: number, y: number, w: number, h: number, color: Rgb, alpha = 1): void {
    const x0 = Math.max(this.clip.left, Math.round(x));
    const y0 = Math.max(this.clip.top, Math.round(y));
    const x1 = Math.min(this.clip.right, Math.round(x + w));
    const y1 = Math.min(this.clip.bottom, Math.round(y + h));
    for (let py = y0; py < y1; py++) {
      for (let px = x0; px < x1; px++) this.blendPixel(px, py, color, alpha);
    }
  }

  /** Outlines the whole-pixel rectangle at `(x, y)` of size `w × h` with a border `thickness` pixels wide. */
  strokeRect(x: number, y: number, w: number, h: number, color: Rgb, thickness = 1): void {
    this.fillRect(x, y, w, thickness, color);
    this.fillRect(x, y + h - thickness, w, thickness, color);
    this.fillRect(x, y, thickness, h, color);
    this.fillRect(x + w - thickness, y, thickness, h, color);
  }

  /** A crisp horizontal line over pixel columns `[x0, x1)`, rows `[y, y + thickness)`, optionally dashed. */
  hLine(
    x0: number,
    x1: number,
    y: number,
    color: Rgb,
    thickness = 1,
    dash?: readonly [number, number],
  ): void {
    if (!dash) {
      this.fillRect(x0, y, x1 - x0, thickness, color);
      return;
    }
    const [on, off] = dash;
    for (let x = x0; x < x1; x += on + off) this.fillRect(x, y, Math.min(on, x1 - x), thickness, color);
  }

  /** A crisp vertical line over pixel rows `[y0, y1)`, columns `[x, x + thickness)`, optionally dashed. */
  vLine(
    x: number,
    y0: number,
    y1: number,
    color: Rgb,
    thickness = 1,
    dash?: readonly [number, number],
  ): void {
    if (!dash) {
      this.fillRect(x, y0, thickness, y1 - y0, color);
      return;
    }
    const [on, off] = dash;
    for (let y = y0; y < y1; y += on + off) this.fillRect(x, y, thickness, Math.min(on, y1 - y), color);
  }

  /** Strokes the straight line from `a` to `b`. */
  line(a: Point, b: Point, color: Rgb, style: StrokeStyle = {}): void {
    this.polyline([a, b], color, style);
  }

  /**
   * Strokes the open path through `points` with round caps and joins. A dash pattern runs on across vertices,
   * so a path of many short segments still shows regular dashes.
   */
  polyline(points: readonly Point[], color: Rgb, style: StrokeStyle = {}): void {
    const halfWidth = Math.max(0.5, style.width ?? 1) / 2;
    const antialias = style.antialias ?? true;
    const mask = this.coverageMask();
    const bounds = { left: Number.POSITIVE_INFINITY, top: Number.POSITIVE_INFINITY, right: -1, bottom: -1 };
    const draw = (a: Point, b: Point) => this.coverSegment(mask, bounds, a, b, halfWidth, antialias);

    if (points.length === 1) draw(points[0]!, points[0]!);
    const dash = style.dash;
    if (!dash || dash[1] <= 0) {
      for (let i = 1; i < points.length; i++) draw(points[i - 1]!, points[i]!);
    } else {
      const [on, off] = [Math.max(0.5, dash[0]), dash[1]];
      let phase = 0; // distance into the current on+off period
      for (let i = 1; i < points.length; i++) {
        const a0 = points[i - 1]!;
        const b0 = points[i]!;
        const fullLength = Math.sqrt((b0.x - a0.x) ** 2 + (b0.y - a0.y) ** 2);
        // Dashes are walked only over the part of the segment that can reach the clip: a segment running
        // far off the canvas would otherwise cost one step per dash of its whole length (or never end, once
        // a dash is smaller than the float spacing of that length).
        const visible = clipSegment(a0, b0, this.clip, halfWidth + 1);
        if (!visible || !Number.isFinite(fullLength)) {
          if (Number.isFinite(fullLength)) phase = (phase + fullLength) % (on + off);
          continue;
        }
        const [t0, t1] = visible;
        const a = { x: a0.x + (b0.x - a0.x) * t0, y: a0.y + (b0.y - a0.y) * t0 };
        const b = { x: a0.x + (b0.x - a0.x) * t1, y: a0.y + (b0.y - a0.y) * t1 };
        phase = (phase + fullLength * t0) % (on + off);
        const length = Math.sqrt((b.x - a.x) ** 2 + (b.y - a.y) ** 2);
        let done = 0;
        while (done < length) {
          const inOn = phase < on;
          const step = Math.min(length - done, inOn ? on - phase : on + off - phase);
          if (inOn) {
            const t0 = done / length;
            const t1 = (done + step) / length;
            draw(
              { x: a.x + (b.x - a.x) * t0, y: a.y + (b.y - a.y) * t0 },
              { x: a.x + (b.x - a.x) * t1, y: a.y + (b.y - a.y) * t1 },
            );
          }
          done += step;
          phase = (phase + step) % (on + off);
        }
        phase = (phase + fullLength * (1 - t1)) % (on + off);
      }
    }
    this.compositeMask(mask, bounds, color);
  }

  /**
   * Draws `text` with its top-left corner at `(x, y)`, each font pixel a `scale × scale` block.
   * Returns the drawn width.
   */
  text(text: string, x: number, y: number, color: Rgb, scale = 1): number {
    const s = Math.max(1, Math.round(scale));
    let cursor = Math.round(x);
    const top = Math.round(y);
    for (const char of text) {
      const glyph = glyphFor(char);
      for (const [gx, gy] of glyph.pixels) this.fillRect(cursor + gx * s, top + gy * s, s, s, color);
      cursor += (glyph.width + 1) * s;
    }
    return measureText(text, s);
  }

  /** Encodes the raster as a PNG. */
  toPng(): Buffer {
    return encodePng({ width: this.width, height: this.height, channels: 3, data: this.data });
  }

  private coverageMask(): Float32Array {
    this.mask ??= new Float32Array(this.width * this.height);
    return this.mask;
  }

  private coverSegment(
    mask: Float32Array,
    bounds: { left: number; top: number; right: number; bottom: number },
    a: Point,
    b: Point,
    halfWidth: number,
    antialias: boolean,
  ): void {
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const lengthSq = dx * dx + dy * dy;
    const reach = halfWidth + 1;
    const c = this.clip;
    const xMajor = Math.abs(dx) >= Math.abs(dy);
    // Walk the major axis one pixel at a time and only test the few minor-axis pixels near the line there:
    // cost grows with length × width, not with the bounding box, which matters for long diagonals.
    const majorA = xMajor ? a.x : a.y;
    const majorB = xMajor ? b.x : b.y;
    const dMajor = xMajor ? dx : dy;
    const dMinor = xMajor ? dy : dx;
    const minorA = xMajor ? a.y : a.x;
    const slope = dMajor === 0 ? 0 : dMinor / dMajor;
    const spread = reach * (dMajor === 0 ? 1 : Math.sqrt(lengthSq) / Math.abs(dMajor)) + 1;
    const majorLo = Math.max(xMajor ? c.left : c.top, Math.floor(Math.min(majorA, majorB) - reach));
    const majorHi = Math.min((xMajor ? c.right : c.bottom) - 1, Math.ceil(Math.max(majorA, majorB) + reach));
    const minorClipLo = xMajor ? c.top : c.left;
    const minorClipHi = (xMajor ? c.bottom : c.right) - 1;
    const width = this.width;
    const outer = antialias ? halfWidth + 0.5 : halfWidth + 1e-9;
    const outerSq = outer * outer;

    for (let major = majorLo; major <= majorHi; major++) {
      const center = major + 0.5;
      const along = Math.min(Math.max(center, Math.min(majorA, majorB)), Math.max(majorA, majorB));
      const minorAt = minorA + (along - majorA) * slope;
      const minorLo = Math.max(minorClipLo, Math.floor(minorAt - spread));
      const minorHi = Math.min(minorClipHi, Math.ceil(minorAt + spread));
      for (let minor = minorLo; minor <= minorHi; minor++) {
        const px = xMajor ? major : minor;
        const py = xMajor ? minor : major;
        const cx = px + 0.5 - a.x;
        const cy = py + 0.5 - a.y;
        const t = lengthSq === 0 ? 0 : Math.min(1, Math.max(0, (cx * dx + cy * dy) / lengthSq));
        const ex = cx - t * dx;
        const ey = cy - t * dy;
        const distanceSq = ex * ex + ey * ey;
        if (distanceSq >= outerSq) continue;
        const coverage = antialias ? Math.min(1, halfWidth + 0.5 - Math.sqrt(distanceSq)) : 1;
        const i = py * width + px;
        if (coverage > mask[i]!) mask[i] = coverage;
        if (px < bounds.left) bounds.left = px;
        if (px > bounds.right) bounds.right = px;
        if (py < bounds.top) bounds.top = py;
        if (py > bounds.bottom) bounds.bottom = py;
      }
    }
  }

  private compositeMask(
    mask: Float32Array,
    bounds: { left: number; top: number; right: number; bottom: number },
    color: Rgb,
  ): void {
    for (let y = bounds.top; y <= bounds.bottom; y++) {
      for (let x = bounds.left; x <= bounds.right; x++) {
        const i = y * this.width + x;
        const coverage = mask[i]!;
        if (coverage > 0) {
          this.blendPixel(x, y, color, coverage);
          mask[i] = 0;
        }
      }
    }
  }
}
