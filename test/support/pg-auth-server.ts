import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, createServer, type Socket } from 'node:net';

/**
 * A local server that speaks PostgreSQL's wire protocol just far enough to check a password: it answers
 * an SSLRequest with 'N', reads the startup message, runs a real SCRAM-SHA-256 exchange (what Postgres
 * asks for by default) and then refuses with the ErrorResponse Postgres sends, SQLSTATE 28P01
 * `password authentication failed for user "…"`. The "wrong password" tests need a server that
 * checks passwords; the test PostgreSQL runs with trust auth, and giving it a password role would
 * take root and a pg_hba.conf edit. It verifies the client's proof against `password`, so a test can
 * tell a wrong password from a client that skipped the exchange; it never lets anyone in.
 */
export interface PgAuthServer {
  readonly host: string;
  readonly port: number;
  /** One entry per startup message received, in order. */
  readonly attempts: readonly PgAuthAttempt[];
  close(): Promise<void>;
}

export interface PgAuthAttempt {
  readonly user: string;
  readonly database: string;
  /** Whether the client sent an SSLRequest first (answered 'N'). */
  readonly askedForTls: boolean;
  /** `true`/`false` once the client's SCRAM proof was checked against the server's password. */
  passwordMatched?: boolean;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
const ITERATIONS = 4096;

/** Starts the server on 127.0.0.1, port 0; `password` is the one it would accept. */
export async function startPgAuthServer(password = 'right-password'): Promise<PgAuthServer> {
  const attempts: PgAuthAttempt[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    serve(socket, password, attempts);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    attempts,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One connection: a small state machine fed by length-prefixed messages. */
function serve(socket: Socket, password: string, attempts: PgAuthAttempt[]): void {
  let buffer = Buffer.alloc(0);
  let phase: 'startup' | 'sasl-initial' | 'sasl-final' | 'done' = 'startup';
  let askedForTls = false;
  let attempt: PgAuthAttempt | undefined;
  let clientFirstBare = '';
  let serverFirst = '';
  let nonce = '';
  const salt = randomBytes(16);

  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      // Startup-phase messages have no type byte; later ones do.
      const typed = phase !== 'startup';
      const header = typed ? 5 : 4;
      if (buffer.length < header) return;
      const length = buffer.readInt32BE(typed ? 1 : 0);
      const total = (typed ? 1 : 0) + length;
      if (buffer.length < total) return;
      const body = buffer.subarray(header, total);
      buffer = buffer.subarray(total);
      if (phase === 'startup') {
        const code = body.readInt32BE(0);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          askedForTls = askedForTls || code === SSL_REQUEST;
          socket.write('N');
          continue;
        }
        if (code === CANCEL_REQUEST || code !== PROTOCOL_3) {
          socket.end();
          return;
        }
        const params = startupParameters(body.subarray(4));
        const user = params.get('user') ?? '';
        attempt = { user, database: params.get('database') ?? user, askedForTls };
        attempts.push(attempt);
        // AuthenticationSASL: the mechanisms, each NUL-terminated, then an empty one.
        socket.write(message('R', Buffer.concat([int32(10), Buffer.from('SCRAM-SHA-256\0\0')])));
        phase = 'sasl-initial';
      } else if (phase === 'sasl-initial') {
        // SASLInitialResponse: mechanism\0, int32 length, client-first-message ("n,,n=*,r=<nonce>").
        const end = body.indexOf(0);
        const clientFirst = body.subarray(end + 5).toString('utf8');
        clientFirstBare = clientFirst.replace(/^[^,]*,[^,]*,/, '');
        const clientNonce = /(?:^|,)r=([^,]+)/.exec(clientFirstBare)?.[1] ?? '';
        nonce = clientNonce + randomBytes(18).toString('base64');
        serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${ITERATIONS}`;
        socket.write(message('R', Buffer.concat([int32(11), Buffer.from(serverFirst)])));
        phase = 'sasl-final';
      } else if (phase === 'sasl-final') {
        const clientFinal = body.toString('utf8');
        const withoutProof = clientFinal.replace(/,p=[^,]*$/, '');
        const proof = Buffer.from(/,p=([^,]+)$/.exec(clientFinal)?.[1] ?? '', 'base64');
        const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
        if (attempt) attempt.passwordMatched = proofMatches(password, salt, authMessage, proof);
        // Whatever the proof, the answer is the refusal Postgres gives a wrong password.
        socket.end(
          message(
            'E',
            errorFields({
              S: 'FATAL',
              V: 'FATAL',
              C: '28P01',
              M: `password authentication failed for user "${attempt?.user ?? ''}"`,
              F: 'auth.c',
              R: 'auth_failed',
            }),
          ),
        );
        phase = 'done';
        return;
      } else {
        return;
      }
    }
  });
}

/** RFC 5802: the proof XOR the client signature must hash to the stored key. */
function proofMatches(password: string, salt: Buffer, authMessage: string, proof: Buffer): boolean {
  const saltedPassword = pbkdf2Sync(password.normalize('NFKC'), salt, ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', saltedPassword).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const signature = createHmac('sha256', storedKey).update(authMessage).digest();
  if (proof.length !== signature.length) return false;
  const recovered = Buffer.from(proof.map((byte, i) => byte ^ (signature[i] ?? 0)));
  return timingSafeEqual(createHash('sha256').update(recovered).digest(), storedKey);
}

function startupParameters(body: Buffer): Map<string, string> {
  const parts = body.toString('utf8').split('\0');
  const params = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length && parts[i] !== ''; i += 2) params.set(parts[i]!, parts[i + 1] ?? '');
  return params;
}

function errorFields(fields: Record<string, string>): Buffer {
  const parts = Object.entries(fields).map(([code, value]) => Buffer.from(`${code}${value}\0`));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function message(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);
}
