// The echo server's core, as the lesson's loop `n = read(cfd); write(1, buf,
// n); write(cfd, buf, n)` grown up: many clients at once, byte-exact, with
// backpressure, half-close, an optional idle timeout and a connection cap,
// plus the UDP form (each datagram back to its sender).
//
// The hot path is one 'data' listener per connection that writes the chunk
// back and pauses the socket when its send side is full, resuming on
// 'drain': the same work as `socket.pipe(socket)`, without the stream
// machinery. Nothing is allocated or logged per chunk; a timer exists only
// when an idle timeout was asked for.
import net from 'node:net';
import type dgram from 'node:dgram';
import type { Writable } from 'node:stream';
import { HexDumper } from '../wire/hexdump.ts';
import { describeError, errorCode } from '../errors.ts';
import { formatEndpoint } from '../wire/address.ts';
import { fourTuple } from '../net.ts';
import { adoptInPlaceReads, inPlaceReadsAvailable } from './fastecho.ts';
import type { AccessList } from './acl.ts';
import { RateLimitedLog, isReflectionPort, watchDescriptors } from './guard.ts';

/** Counters of a server's life, for the summary line. */
export interface EchoStats {
  /** Connections accepted (TCP/Unix) or datagrams received (UDP). */
  connections: number;
  /** Connections closed at once because --max-conns was reached. */
  refused: number;
  /** Bytes echoed back. */
  bytes: number;
  /** Connections closed at once, or datagrams dropped, because --allow/--deny said no. */
  denied: number;
  /** UDP datagrams dropped by the reflection guard (source port 7, 19, 53, ...). */
  reflected: number;
}

export interface EchoOptions {
  /** Most connections open at once; past it a new one is closed at once (default 1000). */
  maxConns?: number;
  /** Close a connection after this many seconds with no traffic (default: never). */
  idleTimeoutSeconds?: number;
  /** Where client data is copied (the lesson's write(STDOUT_FILENO)); null: not copied. */
  copy?: DataCopy | null;
  /** Log sink for `open`/`close` lines (default: stderr). */
  log?: (line: string) => void;
  /** For Unix sockets: the path, used to name connections in the log. */
  unixPath?: string;
  /** Access list checked once per connection at accept (null: everyone). */
  acl?: AccessList | null;
}

/**
 * A TCP or Unix echo server. Call `server.listen` (or lib/net's listenTcp /
 * listenUnix) yourself; `stop()` closes the listener and every connection.
 *
 * @example
 * const echo = new EchoServer({ maxConns: 100 });
 * await listenTcp(echo.server, { host: '127.0.0.1', port: 0 });
 */
export class EchoServer {
  readonly server: net.Server;
  readonly stats: EchoStats = { connections: 0, refused: 0, bytes: 0, denied: 0, reflected: 0 };
  private readonly open = new Set<net.Socket>();
  private readonly maxConns: number;
  private readonly idleMs: number;
  private readonly copy: DataCopy | null;
  private readonly log: (line: string) => void;
  private readonly unixPath: string | undefined;
  private readonly acl: AccessList | null;
  private readonly denyLog: RateLimitedLog;
  private readonly unwatch: () => void;

  constructor(options: EchoOptions = {}) {
    this.maxConns = options.maxConns ?? 1000;
    this.idleMs = (options.idleTimeoutSeconds ?? 0) * 1000;
    this.copy = options.copy ?? null;
    this.log = options.log ?? ((line) => process.stderr.write(line + '\n'));
    this.unixPath = options.unixPath;
    this.acl = options.acl ?? null;
    this.denyLog = new RateLimitedLog(this.log, { burst: 20 });
    // allowHalfOpen: a client's FIN ends only its direction; we still echo
    // what is in flight and then send our own FIN.
    // noDelay: replies go out at once (TCP_NODELAY), as a C echo server does.
    // pauseOnConnect (Node): nothing is read before accept() moves the
    // connection to the fast read path of lib/fastecho.ts.
    this.server = net.createServer(
      { allowHalfOpen: true, noDelay: true, pauseOnConnect: inPlaceReadsAvailable() },
      (socket) => this.accept(socket),
    );
    // EMFILE and other accept() errors: log (once a second), never crash.
    this.unwatch = watchDescriptors(this.server, { log: this.log, active: () => this.open.size });
  }

  /** Connections open right now. */
  get active(): number {
    return this.open.size;
  }

  private accept(socket: net.Socket): void {
    socket.on('error', ignoreError); // a reset client must never crash the server
    const tuple = fourTuple(socket, this.unixPath);
    if (this.acl !== null && !this.acl.allows(socket.remoteAddress)) {
      this.stats.denied++;
      this.denyLog.log(`deny ${tuple} (--allow/--deny)`);
      socket.destroy();
      return;
    }
    if (this.open.size >= this.maxConns) {
      this.stats.refused++;
      this.log(`refuse ${tuple} (--max-conns ${this.maxConns} reached)`);
      socket.destroy();
      return;
    }
    this.stats.connections++;
    this.log(`open ${tuple}`);

    const stats = this.stats;
    const copy = this.copy;
    const dumper = copy?.hex ? new HexDumper() : null;
    let bytes = 0;
    let sendFull = false; // our send buffer to this client is full
    let copyFull = false; // the copy (stdout) is backed up
    // The hot path, once per read(): count, write back, and say whether to
    // keep reading (not while either output is full). Nothing is logged or
    // allocated here. The fast path (lib/fastecho.ts) may hand us a buffer it
    // reads into again, so the copy to stdout, which may hold it, gets its own.
    const echo = (chunk: Buffer): boolean => {
      bytes += chunk.length;
      stats.bytes += chunk.length;
      if (!conn.write(chunk)) sendFull = true;
      if (copy !== null && !copy.write(fast ? Buffer.from(chunk) : chunk, dumper, resumeFromCopy)) copyFull = true;
      return !sendFull && !copyFull;
    };
    const adopted = adoptInPlaceReads(socket, echo);
    const fast = adopted !== null;
    const conn = adopted ?? socket; // the socket that now owns the connection
    if (fast) {
      conn.on('error', ignoreError);
    } else {
      conn.on('data', (chunk: Buffer) => {
        if (!echo(chunk)) conn.pause();
      });
      conn.resume(); // paused by pauseOnConnect, or flowing already
    }
    this.open.add(conn);
    const resumeFromCopy = () => {
      copyFull = false;
      if (!sendFull) conn.resume();
    };
    conn.on('drain', () => {
      sendFull = false;
      if (!copyFull) conn.resume();
    });
    // Half-close: the client sent FIN. end() queues our FIN behind the
    // echo still buffered, so nothing in flight is lost.
    conn.on('end', () => conn.end());
    if (this.idleMs > 0) {
      conn.setTimeout(this.idleMs, () => {
        this.log(`idle ${tuple} (no traffic for ${this.idleMs / 1000} s), closing`);
        conn.destroy();
      });
    }
    conn.on('close', () => {
      this.open.delete(conn);
      copy?.forget(resumeFromCopy);
      if (dumper) copy?.writeText(dumper.flush());
      this.log(`close ${tuple} (${bytes} bytes)`);
    });
  }

  /** Stops listening, closes every connection, resolves when all are closed. */
  async stop(): Promise<void> {
    this.unwatch();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const sockets = [...this.open];
    const gone = sockets.map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())));
    for (const socket of sockets) socket.destroy();
    await Promise.all([closed, ...gone]);
  }
}

function ignoreError(): void {}

/**
 * UDP echo on a bound socket: every datagram goes back to its sender
 * unchanged. Returns the counters (connections counts datagrams).
 */
export function echoDatagrams(
  socket: dgram.Socket,
  options: { copy?: DataCopy | null; log?: (line: string) => void; acl?: AccessList | null } = {},
): EchoStats {
  const stats: EchoStats = { connections: 0, refused: 0, bytes: 0, denied: 0, reflected: 0 };
  const acl = options.acl ?? null;
  const copy = options.copy ?? null;
  const dumper = copy?.hex ? new HexDumper() : null;
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  let warned = false;
  const sent = (error: Error | null) => {
    if (error && !warned) {
      warned = true; // one line, not one per datagram
      log(`cannot send a reply: ${describeError(error)}`);
    }
  };
  socket.on('error', sent);
  const dropLog = new RateLimitedLog(log);
  const denyLog = new RateLimitedLog(log);
  socket.on('message', (message, peer) => {
    // The reflection guard: never answer another auto-answering service.
    if (isReflectionPort(peer.port)) {
      stats.reflected++;
      dropLog.log(`drop datagram from ${formatEndpoint(peer.address, peer.port)}: source port ${peer.port} is an auto-answering UDP service (reflection guard)`);
      return;
    }
    if (acl !== null && !acl.allows(peer.address)) {
      stats.denied++;
      denyLog.log(`deny datagram from ${formatEndpoint(peer.address, peer.port)} (--allow/--deny)`);
      return;
    }
    stats.connections++;
    stats.bytes += message.length;
    socket.send(message, peer.port, peer.address, sent);
    // UDP has no backpressure to apply: a copy that is backed up drops instead.
    if (copy !== null) copy.write(message, dumper, null);
  });
  return stats;
}

/**
 * The copy of client data to stdout (the lesson's `write(STDOUT_FILENO)`),
 * raw or as a hex dump. It never crashes the server and never grows without
 * bound:
 * - when the output is backed up (a pipe nobody reads fast enough), `write`
 *   returns false and the connection pauses until the output drains: the
 *   copy is complete, and a slow reader slows the clients down (the lesson's
 *   blocking write() did the same). UDP cannot pause: its copies are
 *   dropped while the output is backed up, and the count is logged.
 * - when the output is closed (EPIPE: `echo-server | head`), copying stops
 *   with one log line and the echo goes on.
 */
export class DataCopy {
  readonly hex: boolean;
  private readonly output: Writable;
  private readonly log: (line: string) => void;
  private readonly waiting = new Set<() => void>();
  private closed = false;
  private dropped = 0;

  constructor(output: Writable, options: { hex?: boolean; log?: (line: string) => void } = {}) {
    this.output = output;
    this.hex = options.hex ?? false;
    this.log = options.log ?? ((line) => process.stderr.write(line + '\n'));
    output.on('error', (error) => this.close(error));
    output.on('drain', () => this.wake());
  }

  /**
   * Copies a chunk (through `dumper` when hex). Returns false when the output
   * is full: the caller pauses and `resume` is called once it drains. With
   * `resume` null (UDP) a chunk arriving while the output is full is dropped.
   */
  write(chunk: Buffer, dumper: HexDumper | null, resume: (() => void) | null): boolean {
    if (this.closed) return true;
    if (resume === null && this.output.writableNeedDrain) {
      if (this.dropped === 0) this.log('stdout is backed up; dropping copies of datagrams until it drains');
      this.dropped += chunk.length;
      return true;
    }
    const ok = this.output.write(dumper ? dumper.push(chunk) + dumper.flush() : chunk);
    if (ok) return true;
    if (resume) this.waiting.add(resume);
    return false;
  }

  /** Writes text (a final hex line) unless the output is closed. */
  writeText(text: string): void {
    if (!this.closed && text) this.output.write(text);
  }

  /** Forgets a waiting connection (it closed). */
  forget(resume: () => void): void {
    this.waiting.delete(resume);
  }

  private wake(): void {
    if (this.dropped > 0) {
      this.log(`stdout drained; ${this.dropped} bytes of datagrams were not copied`);
      this.dropped = 0;
    }
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const resume of waiting) resume();
  }

  private close(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    const why = errorCode(error) === 'EPIPE' ? 'stdout was closed' : `stdout failed: ${describeError(error)}`;
    this.log(`${why}; no longer copying client data (the echo goes on)`);
    this.wake();
  }
}
