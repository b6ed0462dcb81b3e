import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

/**
 * What the proxy does with traffic:
 * - `pass`: forwards both ways.
 * - `reset`: every open connection was reset (RST, both sides) and every new one is reset on accept.
 * - `blackhole`: nothing moves in either direction and nothing is closed — like a network path that drops
 *   every packet. New connections are accepted (the kernel's SYN/ACK) but never reach the target. What
 *   the peers send is held (TCP would retransmit it) and delivered after `restore()`.
 * - `delay`: forwards each chunk `delayMs` after it arrived, in order.
 * - `refused`: the listener is closed, so new connections get ECONNREFUSED; open ones are left as they are
 *   (call `reset()` first for a server that went away altogether).
 */
export type ProxyMode = 'pass' | 'reset' | 'blackhole' | 'delay' | 'refused';

/** A TCP proxy on 127.0.0.1 in front of one target, for injecting network faults into real clients. */
export interface TcpProxy {
  readonly host: '127.0.0.1';
  /** The proxy's port (fixed for its lifetime, across `refuse()`/`restore()`). */
  readonly port: number;
  readonly mode: ProxyMode;
  /** Connections open now (client side). */
  readonly openConnections: number;
  /** Connections accepted since the start. */
  readonly accepted: number;
  /** `url` (e.g. a `postgres://` URL of the target) with its host and port replaced by the proxy's. */
  url(url: string): string;
  /** Resets every open connection now (RST to both peers) and every new one until `restore()`. */
  reset(): void;
  /** Stops all forwarding without closing anything, until `restore()`. */
  blackhole(): void;
  /** Forwards every chunk `ms` late, until `restore()`. */
  delay(ms: number): void;
  /** Closes the listener: new connections are refused until `restore()`. */
  refuse(): Promise<void>;
  /** Back to `pass`: listens again if refused, and delivers what a black hole held. */
  restore(): Promise<void>;
  /** Destroys every connection and closes the listener. */
  close(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  upstream: Socket | null;
  /** Both directions' writes, chained so a delay never reorders chunks. */
  readonly due: { toUpstream: number; toClient: number };
}

/**
 * Starts a proxy on 127.0.0.1, port 0, forwarding to `target`. Close it with `close()` when done.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let mode: ProxyMode = 'pass';
  let delayMs = 0;
  let accepted = 0;
  let closed = false;

  const kill = (pair: Pair, rst: boolean) => {
    for (const socket of [pair.client, pair.upstream]) {
      if (socket === null || socket.destroyed) continue;
      // resetAndDestroy needs a connected TCP handle; one still connecting can only be destroyed.
      if (rst && !socket.connecting) socket.resetAndDestroy();
      else socket.destroy();
    }
    pairs.delete(pair);
  };

  /** Runs `act` on the socket of `direction` now, or `delayMs` after the data arrived while delaying. */
  const schedule = (pair: Pair, direction: 'toUpstream' | 'toClient', act: (to: Socket) => void) => {
    const to = direction === 'toUpstream' ? pair.upstream : pair.client;
    if (to === null) return;
    const now = Date.now();
    // Never earlier than what was scheduled before in this direction: bytes are never reordered, also
    // when the delay ends while chunks are still waiting.
    const at = Math.max(mode === 'delay' ? now + delayMs : now, pair.due[direction]);
    if (at <= now) {
      act(to);
      return;
    }
    pair.due[direction] = at;
    setTimeout(() => act(to), at - now);
  };

  const link = (pair: Pair) => {
    const upstream = connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('data', (chunk: Buffer) =>
      schedule(pair, 'toClient', (to) => to.destroyed || to.write(chunk)),
    );
    upstream.on('end', () => schedule(pair, 'toClient', (to) => to.destroyed || to.end()));
    upstream.on('error', () => kill(pair, true));
    // After a delayed stream's last bytes, not before them.
    upstream.on('close', () => schedule(pair, 'toClient', () => kill(pair, false)));
    pair.client.on('data', (chunk: Buffer) =>
      schedule(pair, 'toUpstream', (to) => to.destroyed || to.write(chunk)),
    );
    pair.client.on('end', () => schedule(pair, 'toUpstream', (to) => to.destroyed || to.end()));
    pair.client.resume();
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    accepted += 1;
    client.setNoDelay(true);
    const pair: Pair = { client, upstream: null, due: { toUpstream: 0, toClient: 0 } };
    pairs.add(pair);
    client.on('error', () => kill(pair, true));
    client.on('close', () => {
      if (pair.upstream === null) kill(pair, false);
      else schedule(pair, 'toUpstream', () => kill(pair, false));
    });
    if (mode === 'reset') {
      kill(pair, true);
      return;
    }
    // In a black hole the connection waits, paused, for restore() before it reaches the target.
    if (mode !== 'blackhole') link(pair);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const listening = () => server.listening;

  return {
    host: '127.0.0.1',
    port,
    get mode() {
      return mode;
    },
    get openConnections() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    url(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    reset() {
      mode = 'reset';
      for (const pair of [...pairs]) kill(pair, true);
    },
    blackhole() {
      mode = 'blackhole';
      for (const pair of pairs) {
        pair.client.pause();
        pair.upstream?.pause();
      }
    },
    delay(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`delay must be ≥ 0 ms (got ${ms})`);
      mode = 'delay';
      delayMs = ms;
    },
    async refuse() {
      mode = 'refused';
      if (!listening()) return;
      const done = once(server, 'close');
      server.close();
      // close() waits for open connections; 'close' comes once they end, so don't wait for it here.
      void done.catch(() => undefined);
    },
    async restore() {
      if (closed) throw new Error('proxy is closed');
      mode = 'pass';
      delayMs = 0;
      if (!listening()) {
        server.listen(port, '127.0.0.1');
        await once(server, 'listening');
      }
      for (const pair of pairs) {
        if (pair.upstream === null) link(pair);
        else {
          pair.client.resume();
          pair.upstream.resume();
        }
      }
    },
    async close() {
      closed = true;
      for (const pair of [...pairs]) kill(pair, false);
      if (listening()) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
