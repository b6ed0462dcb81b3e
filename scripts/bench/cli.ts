/**
 * `npm run check` next to the seed's combined-balance-check.sh: the wall time of the bundled CLI as cron
 * would run it (`node --liftoff-only dist/check.cjs`: the `check` script's command, no npm wrapper) and of the script, against the same Moonshot
 * stand-in (in this process) and the same `claude_api_usage` table, in interleaved runs after warm-up.
 * Every run gets a minimal environment, as from cron. The unbundled tsc output is timed too, for
 * reference. `SEED_SCRIPTS` points at the seed's scripts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ms,
  PG_HOST,
  scratchDatabase,
  startMoonshotStub,
  stats,
  type Timed,
  timeProcess,
} from './support.js';
import type { BenchRow } from './types.js';

const RUNS = 20;
const WARMUP = 2;
const CLI = join(import.meta.dirname, '../../check.cjs');
const CLI_UNBUNDLED = join(import.meta.dirname, '../../src/entry/check.js');
const SEED = join(process.env.SEED_SCRIPTS ?? '/work/shared/seed/scripts', 'combined-balance-check.sh');
const KEY = 'sk-bench-key';

/** The Node flags of the `check` script in package.json (`node <flags> dist/check.cjs`), as cron runs it. */
function checkFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const words = (pkg.scripts.check ?? '').trim().split(/\s+/);
  const at = words.indexOf('dist/check.cjs');
  if (words[0] !== 'node' || at < 0)
    throw new Error(`package.json's check script is not "node … dist/check.cjs"`);
  return words.slice(1, at);
}
const FLAGS = checkFlags();
const CLI_LABEL = ['node', ...FLAGS, 'dist/check.cjs'].join(' ');

interface Subject {
  readonly key: 'cli' | 'seed' | 'unbundled' | 'extra-ca';
  readonly label: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

function expectOk(subject: Subject, r: Timed): void {
  // Both print Kimi's 12.34 and exit 0 (every balance above $5) when everything worked.
  if (r.code !== 0 || !r.stdout.includes('12.34')) {
    throw new Error(`${subject.label} exited ${r.code}:\n${r.stdout}${r.stderr}`.slice(0, 2000));
  }
}

/** Processes a run creates (forks, not threads), counted with strace; `null` when strace is unavailable. */
async function processesCreated(subject: Subject, dir: string): Promise<number | null> {
  const out = join(dir, `strace-${subject.label.replace(/\W+/g, '-')}.txt`);
  const trace = ['-f', '-qq', '-e', 'trace=clone,clone3,fork,vfork', '-o', out];
  const args = [...trace, subject.command, ...subject.args];
  const r = await timeProcess('strace', args, subject.env).catch(() => null);
  if (r === null || r.code !== 0) return null;
  const lines = (await readFile(out, 'utf8')).split('\n');
  return lines.filter((l) => /^\d+\s+(clone3?|v?fork)\(/.test(l) && !l.includes('CLONE_THREAD')).length;
}

export async function run(): Promise<BenchRow[]> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing; run \`npm run build\` (npm run bench does)`);
  const dir = await mkdtemp(join(tmpdir(), 'cw-bench-cli-'));
  const moonshot = await startMoonshotStub();
  const db = await scratchDatabase(
    'cw_bench',
    `CREATE TABLE claude_api_usage (available_balance numeric, updated_at timestamptz);
     INSERT INTO claude_api_usage VALUES (8.07, now());`,
  );
  try {
    const seedLogs = join(dir, 'seed-logs');
    // The seed appends to these without creating them.
    await mkdir(join(seedLogs, 'claude'), { recursive: true });
    await mkdir(join(seedLogs, 'moonshot'), { recursive: true });
    const base = {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      // Not the project's .env: the benchmark measures these settings only.
      ENV_FILE: join(dir, '.env'),
      MOONSHOT_BASE_URL: moonshot.url,
      MOONSHOT_API_KEY: KEY,
    };
    const cliEnv = {
      ...base,
      DATA_DIR: join(dir, 'data'),
      BALANCE_LOG_DIR: join(dir, 'logs'),
      CLAUDE_DB_URL: db.url,
    };
    const subjects: Subject[] = [
      { key: 'cli', label: CLI_LABEL, command: process.execPath, args: [...FLAGS, CLI], env: cliEnv },
    ];
    if (existsSync(SEED)) {
      subjects.push({
        key: 'seed',
        label: 'combined-balance-check.sh',
        command: 'bash',
        args: [SEED],
        env: {
          ...base,
          SUPABASE_DB_HOST: PG_HOST,
          SUPABASE_DB_PASSWORD: 'postgres',
          PGDATABASE: db.name,
          SEED_LOG_DIR: seedLogs,
        },
      });
    }
    const extraCa = process.env.NODE_EXTRA_CA_CERTS;
    if (extraCa) {
      // Node 20 parses these certificates while it starts, before any of our code: cron's environment
      // decides whether a run pays for it.
      subjects.push({
        key: 'extra-ca',
        label: `${CLI_LABEL} (NODE_EXTRA_CA_CERTS)`,
        command: process.execPath,
        args: [...FLAGS, CLI],
        env: { ...cliEnv, NODE_EXTRA_CA_CERTS: extraCa },
      });
    }
    if (existsSync(CLI_UNBUNDLED)) {
      subjects.push({
        key: 'unbundled',
        label: 'node dist/src/entry/check.js',
        command: process.execPath,
        args: [CLI_UNBUNDLED],
        env: cliEnv,
      });
    }

    // Warm-up: page cache, the CLI's code cache and its migrated SQLite file, the database's caches.
    for (const s of subjects)
      for (let i = 0; i < WARMUP; i++) expectOk(s, await timeProcess(s.command, s.args, s.env));
    // Interleaved, alternating the order, so a burst of load elsewhere hits every subject alike.
    const samples = subjects.map((): number[] => []);
    for (let i = 0; i < RUNS; i++) {
      const order = subjects.map((_, j) => j);
      if (i % 2 === 1) order.reverse();
      for (const j of order) {
        const s = subjects[j]!;
        const r = await timeProcess(s.command, s.args, s.env);
        expectOk(s, r);
        samples[j]!.push(r.ms);
      }
    }
    const of = (key: Subject['key']) => {
      const j = subjects.findIndex((s) => s.key === key);
      return j < 0 ? undefined : stats(samples[j]!);
    };
    const cli = of('cli')!;
    const seed = of('seed');
    const unbundled = of('unbundled');
    const rows: BenchRow[] = [];
    const value = (s: { median: number; p90: number }) => `${ms(s.median)} (p90 ${ms(s.p90)})`;
    rows.push({
      metric: `\`${CLI_LABEL}\` wall time, median of ${RUNS}`,
      value: value(cli),
      target: seed ? `≤ seed median (${ms(seed.median)})` : '≤ seed median (seed script not found)',
      pass: seed !== undefined && cli.median <= seed.median,
    });
    if (seed) {
      rows.push({
        metric: `seed \`combined-balance-check.sh\` wall time, median of ${RUNS}`,
        value: value(seed),
        target: '—',
        pass: true,
      });
    }
    const withCa = of('extra-ca');
    if (withCa) {
      rows.push({
        metric: `\`${CLI_LABEL}\` with this environment's NODE_EXTRA_CA_CERTS, median of ${RUNS}`,
        value: value(withCa),
        target: '—',
        pass: true,
      });
    }
    if (unbundled) {
      rows.push({
        metric: `\`node dist/src/entry/check.js\` (tsc output, unbundled), median of ${RUNS}`,
        value: value(unbundled),
        target: '—',
        pass: true,
      });
    }
    for (const s of subjects.filter((x) => x.key === 'cli' || x.key === 'seed')) {
      const n = await processesCreated(s, dir);
      rows.push({
        metric: `processes a \`${s.label}\` run creates`,
        value: n === null ? 'n/a (no strace)' : String(n),
        target: '—',
        pass: true,
      });
    }
    return rows;
  } finally {
    await moonshot.close();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  }
}
