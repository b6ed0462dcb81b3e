import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  createQueryId,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  IdentifierNode,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  RawNode,
  SelectQueryNode,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';

/** How to open the embedded database. */
export interface SqliteThreadOptions {
  /** The database file. */
  readonly path: string;
  /** How long a statement waits for another connection's lock (SQLite's busy timeout), in ms. */
  readonly busyTimeoutMs: number;
}

/** The pragmas both modes set: WAL (the CLI and a running bot share the file), and the busy timeout. */
function pragmas(busyTimeoutMs: number): string[] {
  return ['journal_mode = WAL', 'synchronous = NORMAL', `busy_timeout = ${Math.trunc(busyTimeoutMs)}`];
}

/** Opens the database on this thread (for one-shot CLIs): better-sqlite3 as Kysely's `SqliteDialect` takes it. */
export function openSqliteInline(options: SqliteThreadOptions): SQLite.Database {
  const db = new SQLite(options.path, { timeout: options.busyTimeoutMs });
  for (const p of pragmas(options.busyTimeoutMs)) db.pragma(p);
  return db;
}

/**
 * An error SQLite raised in the database thread, rebuilt on the caller's side with the same message and
 * SQLite code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT_UNIQUE`, …), as better-sqlite3's own `SqliteError` has them.
 */
export class SqliteThreadError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined, name: string) {
    super(message);
    this.name = name;
    this.code = code;
  }
}

/** What the thread is started with (`workerData`). */
interface ThreadData {
  readonly modulePath: string;
  readonly rowsPerMessage: number;
  readonly path: string;
  readonly busyTimeoutMs: number;
  readonly pragmas: readonly string[];
}

type ThreadRequest =
  | { readonly id: number; readonly sql: string; readonly parameters: readonly unknown[] }
  /** The next rows of a result sent in parts. */
  | { readonly id: number; readonly next: true }
  | { readonly id: number; readonly close: true };

interface ThreadFailure {
  readonly message: string;
  readonly code: string | undefined;
  readonly name: string;
}

type ThreadReply =
  | { readonly id: number; readonly ready: true }
  | { readonly id: number; readonly closed: true }
  /** Rows, at most {@link ROWS_PER_MESSAGE}; `more` when the caller should ask for the next part. */
  | { readonly id: number; readonly rows: Record<string, unknown>[]; readonly more: boolean }
  | { readonly id: number; readonly changes: number; readonly lastInsertRowid: number | bigint }
  | { readonly id: number; readonly error: ThreadFailure };

/**
 * The database thread's whole program. It runs as an eval'd CommonJS worker (`Function.prototype.toString`
 * of this function), so it must not use anything from this module's scope: no imports, only `require`
 * and `workerData`. That way the same code runs from tsc's output, under vitest (TypeScript source, no
 * worker file to find) and from the esbuild bundle of the CLI.
 */
function sqliteThreadMain(): void {
  const threads = require('node:worker_threads') as typeof import('node:worker_threads');
  const data = threads.workerData as ThreadData;
  const port = threads.parentPort!;
  const Database = require(data.modulePath) as typeof import('better-sqlite3');
  const failure = (err: unknown): ThreadFailure => {
    const e = err as { message?: unknown; code?: unknown; name?: unknown } | null;
    return {
      message: typeof e?.message === 'string' ? e.message : String(err),
      code: typeof e?.code === 'string' ? e.code : undefined,
      name: typeof e?.name === 'string' ? e.name : 'Error',
    };
  };
  let db: import('better-sqlite3').Database;
  try {
    db = new Database(data.path, { timeout: data.busyTimeoutMs });
    for (const p of data.pragmas) db.pragma(p);
  } catch (err) {
    // Nothing listens afterwards, so the thread ends once this is sent.
    port.postMessage({ id: 0, error: failure(err) } satisfies ThreadReply);
    return;
  }
  port.postMessage({ id: 0, ready: true } satisfies ThreadReply);
  // The rest of a big result, by request id, until the caller has asked for all of it.
  const unsent = new Map<number, Record<string, unknown>[]>();
  const sendRows = (id: number, rows: Record<string, unknown>[]) => {
    const more = rows.length > data.rowsPerMessage;
    if (more) unsent.set(id, rows.slice(data.rowsPerMessage));
    else unsent.delete(id);
    port.postMessage({
      id,
      rows: more ? rows.slice(0, data.rowsPerMessage) : rows,
      more,
    } satisfies ThreadReply);
  };
  port.on('message', (req: ThreadRequest) => {
    if ('next' in req) {
      sendRows(req.id, unsent.get(req.id) ?? []);
      return;
    }
    if ('close' in req) {
      try {
        db.close();
        port.postMessage({ id: req.id, closed: true } satisfies ThreadReply);
      } catch (err) {
        port.postMessage({ id: req.id, error: failure(err) } satisfies ThreadReply);
      }
      port.close();
      return;
    }
    try {
      // Buffers arrive as plain Uint8Arrays after the copy between threads; bind them as Buffers again.
      const parameters = req.parameters.map((p) =>
        p instanceof Uint8Array && !Buffer.isBuffer(p)
          ? Buffer.from(p.buffer, p.byteOffset, p.byteLength)
          : p,
      );
      const stmt = db.prepare(req.sql);
      if (stmt.reader) {
        sendRows(req.id, stmt.all(parameters) as Record<string, unknown>[]);
      } else {
        const { changes, lastInsertRowid } = stmt.run(parameters);
        port.postMessage({ id: req.id, changes, lastInsertRowid } satisfies ThreadReply);
      }
    } catch (err) {
      port.postMessage({ id: req.id, error: failure(err) } satisfies ThreadReply);
    }
  });
}

/** better-sqlite3's entry file, for the thread to `require` (an eval'd worker resolves from the cwd). */
function betterSqlitePath(): string {
  return createRequire(import.meta.url).resolve('better-sqlite3');
}

/**
 * Rows per message from the thread. Copying rows between threads costs this thread about as much as
 * reading them did; in parts, with the event loop free between them, a year of readings never holds it
 * up for long (scripts/bench/deadlines.ts measures it).
 */
const ROWS_PER_MESSAGE = 500;

interface Pending {
  readonly resolve: (reply: ThreadReply) => void;
  readonly reject: (err: Error) => void;
  /** Made when the request was sent, so a failure's stack shows who asked. */
  readonly origin: Error;
  /** The parts of a result received so far. */
  readonly rows: Record<string, unknown>[];
}

/**
 * One better-sqlite3 connection in a worker thread. Requests are answered in order; while one waits for
 * a lock (the busy timeout) or reads many rows, this thread's event loop keeps running. The worker holds
 * the process open only while a request is outstanding.
 */
class SqliteThread {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set once the thread has stopped (closed, or died): every later request fails with it. */
  private stopped: Error | null = null;
  private readonly exited: Promise<void>;

  private constructor(private readonly worker: Worker) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (reply: ThreadReply) => this.settle(reply));
    // Without these listeners a thread's crash would be an unhandled 'error' event: the whole bot down.
    worker.on('error', (err) =>
      this.stop(new Error(`the SQLite thread failed: ${err.message}`, { cause: err })),
    );
    worker.on('messageerror', (err) =>
      this.stop(new Error('the SQLite thread sent an unreadable reply', { cause: err })),
    );
    worker.on('exit', (code) => this.stop(new Error(`the SQLite thread stopped (exit code ${code})`)));
  }

  /** Starts the thread and opens the database in it; rejects with SQLite's error when it cannot open. */
  static async start(options: SqliteThreadOptions): Promise<SqliteThread> {
    const workerData: ThreadData = {
      modulePath: betterSqlitePath(),
      path: options.path,
      busyTimeoutMs: options.busyTimeoutMs,
      rowsPerMessage: ROWS_PER_MESSAGE,
      pragmas: pragmas(options.busyTimeoutMs),
    };
    const worker = new Worker(`(${sqliteThreadMain.toString()})()`, {
      eval: true,
      workerData,
      // The thread's logs would be nobody's: it writes nothing, and its errors come back as replies.
      stdout: false,
      stderr: false,
    });
    const thread = new SqliteThread(worker);
    try {
      await thread.send(0, null);
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    return thread;
  }

  /** Runs one statement: rows for a reader, changes and the last rowid otherwise. */
  async execute(sql: string, parameters: readonly unknown[]): Promise<QueryResult<unknown>> {
    const reply = await this.send(this.nextId++, { sql, parameters });
    if ('rows' in reply) return { rows: reply.rows };
    if ('changes' in reply) {
      return { numAffectedRows: BigInt(reply.changes), insertId: BigInt(reply.lastInsertRowid), rows: [] };
    }
    throw new Error('the SQLite thread answered a query with something else');
  }

  /** Closes the database (after every request sent before) and ends the thread. */
  async close(): Promise<void> {
    if (this.stopped === null) {
      try {
        await this.send(this.nextId++, { close: true });
      } catch {
        // Already stopping or stopped; terminate below either way.
      }
    }
    // The thread ends by itself after closing; a thread stuck in a statement is ended from here.
    const timer = setTimeout(() => void this.worker.terminate(), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  private send(
    id: number,
    body: { sql: string; parameters: readonly unknown[] } | { close: true } | null,
  ): Promise<ThreadReply> {
    const origin = new Error();
    return new Promise<ThreadReply>((resolve, reject) => {
      if (this.stopped) {
        reject(this.stopped);
        return;
      }
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject, origin, rows: [] });
      if (body === null) return; // id 0: the thread's ready message.
      try {
        this.worker.postMessage({ id, ...body } as ThreadRequest);
      } catch (err) {
        // A parameter that cannot be copied to the thread (a function, a symbol).
        this.forget(id);
        reject(err as Error);
      }
    });
  }

  private settle(reply: ThreadReply): void {
    if ('rows' in reply) {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      for (const row of reply.rows) {
        // BLOBs come back as plain Uint8Arrays; better-sqlite3 gives Buffers, and so do we.
        for (const key in row) {
          const v = row[key];
          if (v instanceof Uint8Array && !Buffer.isBuffer(v))
            row[key] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
        }
        waiter.rows.push(row);
      }
      if (reply.more) {
        // Ask for the next part only after timers and I/O had their turn.
        setImmediate(() => {
          if (this.stopped === null)
            this.worker.postMessage({ id: reply.id, next: true } satisfies ThreadRequest);
        });
        return;
      }
      this.forget(reply.id);
      waiter.resolve({ id: reply.id, rows: waiter.rows, more: false });
      return;
    }
    const waiter = this.forget(reply.id);
    if (!waiter) return;
    if ('error' in reply) {
      const err = new SqliteThreadError(reply.error.message, reply.error.code, reply.error.name);
      err.stack = `${err.name}: ${err.message}${waiter.origin.stack?.replace(/^Error\n/, '\n') ?? ''}`;
      waiter.reject(err);
    } else {
      waiter.resolve(reply);
    }
  }

  private forget(id: number): Pending | undefined {
    const waiter = this.pending.get(id);
    this.pending.delete(id);
    // An idle database thread must not keep a finished CLI run (or a test) alive.
    if (this.pending.size === 0) this.worker.unref();
    return waiter;
  }

  private stop(reason: Error): void {
    this.stopped ??= reason;
    for (const [id, waiter] of this.pending) {
      this.forget(id);
      waiter.reject(this.stopped);
    }
  }
}

/** Kysely's single-connection rule for SQLite: one user of the connection at a time, the rest wait in turn. */
class ConnectionMutex {
  private held: Promise<void> | null = null;
  private release: (() => void) | null = null;

  async lock(): Promise<void> {
    while (this.held) await this.held;
    this.held = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  unlock(): void {
    const release = this.release;
    this.held = null;
    this.release = null;
    release?.();
  }
}

class SqliteThreadConnection implements DatabaseConnection {
  constructor(private readonly thread: SqliteThread) {}

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return this.thread.execute(compiledQuery.sql, compiledQuery.parameters) as Promise<QueryResult<R>>;
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    // Rows come over from the thread in one message; streaming then only hands them out one by one.
    if (!SelectQueryNode.is(compiledQuery.query)) {
      throw new Error('the SQLite driver only supports streaming of select queries');
    }
    const { rows } = await this.executeQuery<R>(compiledQuery);
    for (const row of rows) yield { rows: [row] };
  }
}

class SqliteThreadDriver implements Driver {
  private readonly mutex = new ConnectionMutex();
  private thread: SqliteThread | null = null;
  private connection: SqliteThreadConnection | null = null;

  constructor(private readonly options: SqliteThreadOptions) {}

  async init(): Promise<void> {
    this.thread = await SqliteThread.start(this.options);
    this.connection = new SqliteThreadConnection(this.thread);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    // SQLite has one connection here; a transaction keeps it until commit or rollback.
    await this.mutex.lock();
    return this.connection!;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    await connection.executeQuery(compile(savepointCommand('savepoint', name), createQueryId()));
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ) {
    await connection.executeQuery(compile(savepointCommand('rollback to', name), createQueryId()));
  }

  async releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ) {
    await connection.executeQuery(compile(savepointCommand('release', name), createQueryId()));
  }

  async releaseConnection(): Promise<void> {
    this.mutex.unlock();
  }

  async destroy(): Promise<void> {
    await this.thread?.close();
  }
}

/** `savepoint "name"`, the name quoted as an identifier by the compiler. */
function savepointCommand(command: string, name: string): RawNode {
  return RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(name)]);
}

/**
 * Kysely's SQLite dialect with better-sqlite3 in a worker thread. better-sqlite3 is synchronous: on the
 * main thread, a statement waiting for another process's write lock (up to the busy timeout) or reading
 * many rows stops every timer, every Discord heartbeat and every interaction reply until it returns. Here
 * it waits in its own thread. Same SQL, same results (numbers, text, Buffers, `insertId` as a bigint),
 * same errors (message and SQLite code) as Kysely's `SqliteDialect`.
 */
export class SqliteThreadDialect implements Dialect {
  constructor(private readonly options: SqliteThreadOptions) {}

  createDriver(): Driver {
    return new SqliteThreadDriver(this.options);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter() {
    return new SqliteAdapter();
  }

  createIntrospector(db: Kysely<unknown>) {
    return new SqliteIntrospector(db);
  }
}
