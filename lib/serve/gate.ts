// The accept gate every socket-lab server passes each new connection
// through, written once: a connection reset while it waited in the accept
// queue is logged as such, --allow/--deny closes a refused peer at once (its
// `deny` lines rate-limited, since a flood can repeat them thousands of times a
// second), a cap on open connections closes the rest (`refuse`), the open
// connections are kept in one set so that stop closes them all, and the
// descriptor watch of lib/serve/guard.ts keeps EMFILE from passing silently.
// What a server does with an admitted connection is its own code.
import type net from 'node:net';
import { formatEndpoint } from '../wire/address.ts';
import { fourTuple } from '../net.ts';
import type { AccessList } from './acl.ts';
import { RateLimitedLog, watchDescriptors } from './guard.ts';

export interface GateOptions {
  /** Where `deny`, `refuse` and `reset before accept` lines go. */
  log: (line: string) => void;
  /** Access list checked once per connection (null or absent: everyone). */
  acl?: AccessList | null;
  /** Most connections open at once; past it a new one is closed at once (default: no cap). */
  maxConns?: number;
  /** Why a connection over the cap is closed, after `refuse SRC -> DST` (default `--max-conns N reached`). */
  fullReason?: string;
  /** For Unix sockets: the path, used to name connections in the log. */
  unixPath?: string;
  /** Counters to add refusals and denials to (a server's summary). */
  counts?: { refused: number; denied: number };
}

/**
 * @example
 * const server = net.createServer((socket) => {
 *   const tuple = gate.admit(socket);
 *   if (tuple === null) return; // closed and logged
 *   gate.track(socket);
 *   serve(socket, tuple);
 * });
 * const gate = new AcceptGate(server, { log, acl, maxConns: 100 });
 * // at Ctrl-C: await gate.closeAll();
 */
export class AcceptGate {
  private readonly open = new Set<net.Socket>();
  private readonly server: net.Server | null;
  private readonly options: GateOptions;
  private readonly counts: { refused: number; denied: number };
  private readonly denyLog: RateLimitedLog;
  private readonly unwatch: () => void;
  private closing = false;

  /** `server` null: a listener whose connections live elsewhere (listen-only's worker); only `denies` applies. */
  constructor(server: net.Server | null, options: GateOptions) {
    this.server = server;
    this.options = options;
    this.counts = options.counts ?? { refused: 0, denied: 0 };
    this.denyLog = new RateLimitedLog(options.log, { burst: 20 });
    // EMFILE and other accept() errors: log (once a second), never crash.
    this.unwatch = server ? watchDescriptors(server, { log: options.log, active: () => this.open.size }) : () => {};
  }

  /** Connections open right now. */
  get active(): number {
    return this.open.size;
  }

  /**
   * At accept(): the connection's four-tuple when it may go on, or null when
   * it was closed (and logged): reset while queued, denied, over the cap, or
   * the server is stopping.
   */
  admit(socket: net.Socket): string | null {
    socket.on('error', ignoreError); // a reset client must never crash the server
    if (this.closing) return closeAtOnce(socket);
    const { unixPath, maxConns } = this.options;
    if (unixPath === undefined && socket.remoteAddress === undefined) {
      // accept() returned it, but getpeername() fails (ENOTCONN): the peer
      // reset it while it waited in the accept queue and its address is gone.
      const local = socket.localAddress === undefined ? '?' : formatEndpoint(socket.localAddress, socket.localPort ?? 0);
      this.options.log(`reset before accept: a connection to ${local} was reset by its peer while it waited in the accept queue; its address is gone with it`);
      return closeAtOnce(socket);
    }
    const tuple = fourTuple(socket, unixPath);
    if (this.denies(socket.remoteAddress, tuple)) return closeAtOnce(socket);
    if (maxConns !== undefined && this.open.size >= maxConns) {
      this.counts.refused++;
      this.options.log(`refuse ${tuple} (${this.options.fullReason ?? `--max-conns ${maxConns} reached`})`);
      return closeAtOnce(socket);
    }
    return tuple;
  }

  /** Whether the access list refuses `address`; a refusal is counted and logged (`deny TUPLE`). */
  denies(address: string | undefined, tuple: string): boolean {
    if (!this.options.acl || this.options.acl.allows(address)) return false;
    this.counts.denied++;
    this.denyLog.log(`deny ${tuple} (--allow/--deny)`);
    return true;
  }

  /** Counts `socket` as open until it closes (pass the socket that owns the connection now, if another took over). */
  track(socket: net.Socket): void {
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
  }

  /**
   * Stops the descriptor watch and the listener and closes every open
   * connection; resolves when all are closed. `graceMs`: end() each first
   * (our FIN, for streams that should end cleanly) and destroy what is still
   * open after that long.
   */
  async closeAll(options: { graceMs?: number } = {}): Promise<void> {
    this.closing = true;
    this.unwatch();
    const closed = this.server ? new Promise<void>((resolve) => this.server!.close(() => resolve())) : Promise.resolve();
    const sockets = [...this.open];
    // Every socket in the set is still open: 'close' takes it out.
    const gone = sockets.map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())));
    if (options.graceMs) {
      for (const socket of sockets) socket.end();
      const timer = setTimeout(() => sockets.forEach((socket) => socket.destroy()), options.graceMs);
      await Promise.all(gone);
      clearTimeout(timer);
    } else {
      for (const socket of sockets) socket.destroy();
    }
    await Promise.all([closed, ...gone]);
  }
}

function closeAtOnce(socket: net.Socket): null {
  socket.destroy();
  return null;
}

function ignoreError(): void {}
