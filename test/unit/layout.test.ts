import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * `src/` shows the architecture (docs/design.md › Layout): `core/` is what every entry point shares,
 * `adapters/<kind>/` talk to the outside (providers, storage, Discord, alert channels, HTTP, the chart),
 * `entry/` are the processes (the bot, its jobs, the CLIs). These rules keep the folders honest: a
 * type-only import creates no run-time coupling, a value import does.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Static and dynamic relative imports of one file, as paths relative to `src/`. */
function importsOf(file: string, text: string): Edge[] {
  const from = relative(SRC, file);
  const target = (spec: string) => relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts');
  const edges: Edge[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?\sfrom\s+'(\.[^']+)'/gms)) {
    edges.push({ from, to: target(m[2] as string), typeOnly: m[1] !== undefined });
  }
  for (const m of text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)) {
    edges.push({ from, to: target(m[1] as string), typeOnly: false });
  }
  return edges;
}

/** `core`, `entry`, or `adapters/<kind>`. */
function area(path: string): string {
  const [top, kind] = path.split('/');
  return top === 'adapters' ? `adapters/${kind}` : (top as string);
}

const files = sourceFiles(SRC);
const edges = files.flatMap((f) => importsOf(f, readFileSync(f, 'utf8')));

/** Value imports across areas that the design allows, each with its reason. */
const ALLOWED_VALUE_EDGES: Record<string, string> = {
  'core/accounts.ts -> adapters/providers/registry.ts':
    'the account model resolves providers from the one registry',
  'adapters/discord/commands/balance-history.ts -> adapters/chart/balance-chart.ts':
    '/balance-history draws the chart',
  'adapters/discord/commands/balance-history.ts -> adapters/chart/series.ts':
    '/balance-history draws the chart',
  'adapters/discord/commands/balance-history.ts -> adapters/chart/spend-chart.ts':
    '/balance-history draws the spend-per-day chart',
  'adapters/http/status.ts -> adapters/chart/balance-chart.ts': 'the status page draws the chart',
  'adapters/http/status.ts -> adapters/chart/series.ts': 'the status page draws the chart',
};

describe('src/ layout', () => {
  it('GIVEN any file in src/ THEN it sits in core/, adapters/<kind>/ or entry/', () => {
    const misplaced = files
      .map((f) => relative(SRC, f))
      .filter((p) => !/^(core|entry)\//.test(p) && !/^adapters\/[a-z-]+\//.test(p));
    expect(files.length).toBeGreaterThan(50);
    expect(misplaced).toEqual([]);
  });

  it('GIVEN the import graph THEN it was read (sanity: known edges are found, type-only ones marked)', () => {
    const find = (from: string, to: string) => edges.find((e) => e.from === from && e.to === to);
    expect(find('entry/main.ts', 'entry/bot.ts')?.typeOnly).toBe(false);
    expect(find('core/service.ts', 'adapters/storage/history.ts')?.typeOnly).toBe(true);
    expect(find('adapters/http/status.ts', 'adapters/chart/series.ts')?.typeOnly).toBe(false);
  });

  it('GIVEN core/ and adapters/ THEN neither imports a value from entry/ (the processes depend on them, never the reverse)', () => {
    const bad = edges.filter((e) => area(e.from) !== 'entry' && area(e.to) === 'entry' && !e.typeOnly);
    expect(bad).toEqual([]);
  });

  it('GIVEN core/ THEN it imports values only from core/ (adapters are passed in), with the listed exceptions', () => {
    const bad = edges
      .filter((e) => area(e.from) === 'core' && area(e.to) !== 'core' && !e.typeOnly)
      .map((e) => `${e.from} -> ${e.to}`)
      .filter((k) => !(k in ALLOWED_VALUE_EDGES));
    expect(bad).toEqual([]);
  });

  it('GIVEN one adapter THEN it imports no value from another adapter, with the listed exceptions', () => {
    const bad = edges
      .filter((e) => area(e.from).startsWith('adapters/') && area(e.to).startsWith('adapters/'))
      .filter((e) => area(e.from) !== area(e.to) && !e.typeOnly)
      .map((e) => `${e.from} -> ${e.to}`)
      .filter((k) => !(k in ALLOWED_VALUE_EDGES));
    expect(bad).toEqual([]);
  });

  it('GIVEN a provider module THEN it touches only core/ and adapters/providers/ (not storage, Discord or HTTP), even for types', () => {
    const bad = edges.filter(
      (e) => area(e.from) === 'adapters/providers' && !['core', 'adapters/providers'].includes(area(e.to)),
    );
    expect(bad).toEqual([]);
  });

  it('GIVEN packages only some set-ups need (pg, nodemailer, undici) THEN no file imports them statically, so a bot without them never loads them', () => {
    const lazy = ['pg', 'nodemailer', 'undici'];
    const pattern = /^(?:import|export)\s+(type\s+)?[^;]*?\sfrom\s+'([^'.][^']*)'/gms;
    const bad = files.flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(pattern)]
        .filter((m) => m[1] === undefined && lazy.includes(m[2] as string))
        .map((m) => `${relative(SRC, f)} -> ${m[2]}`),
    );
    const loaded = files.filter((f) => /\bimport\(\s*'pg'\s*\)/.test(readFileSync(f, 'utf8')));
    // Sanity: the rule reads the files (pg is loaded, dynamically, by the store and the Claude module).
    expect(loaded.map((f) => relative(SRC, f)).sort()).toEqual([
      'adapters/providers/claude.ts',
      'adapters/storage/db.ts',
    ]);
    expect(bad).toEqual([]);
  });
});
