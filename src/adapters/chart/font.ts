import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The family the chart names in its SVG; resvg finds it only in the files below (no system fonts). */
export const FONT_FAMILY = 'DejaVu Sans';

/**
 * DejaVu Sans, regular and bold, from the `dejavu-fonts-ttf` package wherever npm installed it: resolved
 * from this module, so the same from `src/`, `dist/src/` and a bundle built with `import.meta.url` kept.
 */
export function fontFiles(): { readonly regular: string; readonly bold: string } {
  const dir = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return { regular: join(dir, 'DejaVuSans.ttf'), bold: join(dir, 'DejaVuSans-Bold.ttf') };
}

/** Horizontal metrics of one font file, enough to lay text out before resvg draws it. */
export interface FontMetrics {
  /** Width of `text` at `size` pixels, as drawn without kerning (the chart turns kerning off). */
  measure(text: string, size: number): number;
  /** Height of a capital letter above the baseline, as a fraction of the font size. */
  readonly capHeight: number;
  /** Height of `l` and `(`, which reach above the capitals, as a fraction of the font size. */
  readonly ascender: number;
}

/**
 * Reads advance widths from a TrueType file's `cmap` (format 4, Unicode BMP), `hmtx`, `hhea` and `head`
 * tables, and heights from `OS/2` or the outlines. The chart needs them to place labels, the legend and the
 * axis before resvg draws them in the same font, so the layout matches the pixels.
 */
export function readFontMetrics(file: string): FontMetrics {
  const font = readFileSync(file);
  const tables = new Map<string, number>();
  for (let i = 0; i < font.readUInt16BE(4); i++) {
    const record = 12 + 16 * i;
    tables.set(font.toString('latin1', record, record + 4), font.readUInt32BE(record + 8));
  }
  const table = (tag: string) => {
    const offset = tables.get(tag);
    if (offset === undefined) throw new Error(`${file}: no ${tag} table`);
    return offset;
  };
  const unitsPerEm = font.readUInt16BE(table('head') + 18);
  const hMetrics = font.readUInt16BE(table('hhea') + 34);
  const hmtx = table('hmtx');

  const cmap = table('cmap');
  let sub = -1;
  for (let i = 0; i < font.readUInt16BE(cmap + 2); i++) {
    const record = cmap + 4 + 8 * i;
    const platform = font.readUInt16BE(record);
    const encoding = font.readUInt16BE(record + 2);
    const at = cmap + font.readUInt32BE(record + 4);
    if (platform === 3 && encoding === 1 && font.readUInt16BE(at) === 4) sub = at;
  }
  if (sub < 0) throw new Error(`${file}: no Unicode BMP cmap`);
  const segments = font.readUInt16BE(sub + 6) / 2;
  const ends = sub + 14;
  const starts = ends + 2 * segments + 2;
  const deltas = starts + 2 * segments;
  const rangeOffsets = deltas + 2 * segments;

  const glyphOf = (code: number): number => {
    for (let s = 0; s < segments; s++) {
      if (code > font.readUInt16BE(ends + 2 * s)) continue;
      const start = font.readUInt16BE(starts + 2 * s);
      if (code < start) return 0;
      const delta = font.readUInt16BE(deltas + 2 * s);
      const rangeOffset = font.readUInt16BE(rangeOffsets + 2 * s);
      if (rangeOffset === 0) return (code + delta) & 0xffff;
      const glyph = font.readUInt16BE(rangeOffsets + 2 * s + rangeOffset + 2 * (code - start));
      return glyph === 0 ? 0 : (glyph + delta) & 0xffff;
    }
    return 0;
  };
  const widths = new Map<number, number>();
  const advance = (code: number): number => {
    let width = widths.get(code);
    if (width === undefined) {
      const glyph = Math.min(glyphOf(code), hMetrics - 1);
      width = font.readUInt16BE(hmtx + 4 * glyph) / unitsPerEm;
      widths.set(code, width);
    }
    return width;
  };
  /** Top of a character's outline above the baseline, in font units (`loca` and `glyf`). */
  const outlineTop = (code: number): number => {
    const glyph = glyphOf(code);
    const loca = table('loca');
    const long = font.readInt16BE(table('head') + 50) === 1;
    const at = long ? font.readUInt32BE(loca + 4 * glyph) : 2 * font.readUInt16BE(loca + 2 * glyph);
    return font.readInt16BE(table('glyf') + at + 8);
  };
  // OS/2 has the cap height from version 2 on; DejaVu's OS/2 is version 1, so it comes from the `H` outline.
  const os2 = table('OS/2');
  const capUnits = font.readUInt16BE(os2) >= 2 ? font.readInt16BE(os2 + 88) : outlineTop(0x48);
  return {
    ascender: Math.max(outlineTop(0x6c), outlineTop(0x28)) / unitsPerEm,
    capHeight: capUnits / unitsPerEm,
    measure(text, size) {
      let em = 0;
      for (const ch of text) {
        const code = ch.codePointAt(0) ?? 0;
        // Outside the BMP the format-4 table has no entry; resvg falls back to the missing glyph too.
        em += advance(code > 0xffff ? 0 : code);
      }
      return em * size;
    },
  };
}
