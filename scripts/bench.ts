/**
 * `npm run bench` — measures creditwatch against local stand-ins only (127.0.0.1) and prints one
 * markdown table, ready for README.md. Every module in scripts/bench/ that exports
 * `run(): Promise<BenchRow[]>` is a section named after its file; `--only cli,parallel` runs some.
 * A missed target is a FAIL row, not a failed run (benchmarks are not tests): the exit code is 1 only
 * when a section could not be measured at all.
 */
import { readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchRow } from './bench/types.js';

/** Sections known to come first, in this order; any other runs after them, alphabetically. */
const ORDER = ['cli', 'parallel', 'discord', 'history'];
const DIR = join(import.meta.dirname, 'bench');

/** Every module in scripts/bench/, by name; the helpers among them export no `run` and are skipped. */
function modules(): string[] {
  const names = readdirSync(DIR)
    .filter((f) => f.endsWith('.js'))
    .map((f) => basename(f, '.js'));
  const rank = (name: string) => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length);
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** The section's `run`, `null` for a helper; imported on demand, so a broken one spoils only its own row. */
async function load(name: string): Promise<(() => Promise<BenchRow[]>) | null> {
  const mod = (await import(pathToFileURL(join(DIR, `${name}.js`)).href)) as { run?: unknown };
  return typeof mod.run === 'function' ? (mod.run as () => Promise<BenchRow[]>) : null;
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function table(results: readonly { section: string; rows: readonly BenchRow[] }[]): string {
  const lines = ['| Section | Metric | Value | Target | Result |', '| --- | --- | --- | --- | --- |'];
  for (const { section, rows } of results) {
    for (const r of rows) {
      // A row without a target only informs.
      const result = r.target === '—' || r.target === '' ? '—' : r.pass ? 'PASS' : '**FAIL**';
      lines.push(`| ${section} | ${cell(r.metric)} | ${cell(r.value)} | ${cell(r.target)} | ${result} |`);
    }
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { only: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
  });
  const names = modules();
  if (values.help) {
    console.log(`usage: npm run bench -- [--only name[,name…]]   (modules in ${DIR}: ${names.join(', ')})`);
    return 0;
  }
  const only = (values.only ?? []).flatMap((o) => o.split(',')).filter((o) => o !== '');
  const unknown = only.filter((o) => !names.includes(o));
  if (unknown.length > 0) {
    console.error(`unknown section ${unknown.join(', ')}; modules in ${DIR}: ${names.join(', ')}`);
    return 1;
  }

  const results: { section: string; rows: BenchRow[] }[] = [];
  let broken = false;
  for (const name of only.length > 0 ? only : names) {
    const started = performance.now();
    try {
      const run = await load(name);
      if (run === null) {
        if (only.includes(name)) throw new Error(`${name} exports no run()`);
        continue;
      }
      console.error(`▶ ${name} …`);
      results.push({ section: name, rows: await run() });
      console.error(`  ${name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      broken = true;
      console.error(`  ${name} could not run:\n${(err as Error).stack ?? String(err)}`);
      const first = String((err as Error).message ?? err).split('\n')[0] ?? '';
      results.push({
        section: name,
        rows: [{ metric: 'could not run', value: first, target: 'runs', pass: false }],
      });
    }
  }

  const loadAvg = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const host = `${process.platform} ${process.arch} · ${cpus().length} CPUs · load ${loadAvg}`;
  console.log(`\nNode ${process.version} · ${host} · ${new Date().toISOString()}\n`);
  console.log(table(results));
  const failed = results.flatMap((r) => r.rows).filter((r) => r.target !== '—' && r.target !== '' && !r.pass);
  console.log(
    failed.length === 0 ? '\nEvery target met.' : `\n${failed.length} target(s) missed (FAIL rows).`,
  );
  return broken ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  },
);
