import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';

/** Another process holding an SQLite database's write lock, as a second bot or a CLI run mid-write would. */
export interface SqliteLockHolder {
  /** Resolves when the lock has been released (the holder committed and exited). */
  readonly released: Promise<void>;
  /** `Date.now()` when the lock was taken. */
  readonly lockedAt: number;
  /** Ends the holder at once (its transaction is rolled back by SQLite). Safe to call twice. */
  stop(): Promise<void>;
}

// The holder's program: take the write lock (BEGIN IMMEDIATE), say so, keep it for the time asked, commit.
const HOLDER = `
const [modulePath, file, holdMs] = process.argv.slice(1);
const Database = require(modulePath);
const db = new Database(file, { timeout: 10000 });
db.pragma('journal_mode = WAL');
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\\n');
setTimeout(() => {
  db.exec('COMMIT');
  db.close();
  process.stdout.write('released\\n');
}, Number(holdMs));
`;

/**
 * Starts a child process that takes the write lock of the SQLite database at `file` and keeps it for
 * `holdMs`; resolves once the lock is held.
 */
export async function holdSqliteWriteLock(file: string, holdMs: number): Promise<SqliteLockHolder> {
  const modulePath = createRequire(import.meta.url).resolve('better-sqlite3');
  const child: ChildProcess = spawn(process.execPath, ['-e', HOLDER, modulePath, file, String(holdMs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const locked = new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('locked\n')) resolve(Date.now());
    });
    void exited.then((code) => reject(new Error(`the lock holder exited (${code}) before locking: ${err}`)));
  });
  const lockedAt = await locked;
  return {
    lockedAt,
    released: exited.then(() => undefined),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
