// The TCP/Unix echo server, as the lesson's loop `n = read(cfd); write(1,
// buf, n); write(cfd, buf, n)` grown up: many clients at once, byte-exact,
// with backpressure, half-close, an optional idle timeout and a connection
// cap, and a log that tells each connection's four-tuple story (open, close
// or reset). The UDP form is lib/serve/udpecho.ts; the copy to stdout is
// lib/serve/datacopy.ts.
//
// The hot path is one 'data' listener per connection that writes the chunk
// back and pauses the socket when its send side is full, resuming on
// 'drain': the same work as `socket.pipe(socket)`, without the stream
// machinery. Nothing is allocated or logged per chunk; a timer exists only
// when an idle timeout was asked for.
import net from 'node:net';
import { HexDumper } from '../wire/hexdump.ts';
import { endedByReset } from './reset.ts';
import { adoptInPlaceReads, inPlaceReadsAvailable } from './fastecho.ts';
import type { AccessList } from './acl.ts';
import type { DataCopy } from './datacopy.ts';
import { AcceptGate } from './gate.ts';

/** Counters of a server's life, for the summary line. */
export interface EchoStats {
  /** Connections accepted (TCP/Unix) or datagrams received (UDP). */
  connections: number;
  /** Connections closed at once because --max-conns was reached. */
  refused: number;
  /** Bytes echoed back: those the kernel took (a write a reset cut short, or never began, is not counted). */
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
  private readonly gate: AcceptGate;
  private readonly idleMs: number;
  private readonly copy: DataCopy | null;
  private readonly log: (line: string) => void;

  constructor(options: EchoOptions = {}) {
    this.idleMs = (options.idleTimeoutSeconds ?? 0) * 1000;
    this.copy = options.copy ?? null;
    this.log = options.log ?? ((line) => process.stderr.write(line + '\n'));
    // allowHalfOpen: a client's FIN ends only its direction; we still echo
    // what is in flight and then send our own FIN.
    // noDelay: replies go out at once (TCP_NODELAY), as a C echo server does.
    // pauseOnConnect (Node): nothing is read before accept() moves the
    // connection to the fast read path of lib/fastecho.ts.
    this.server = net.createServer(
      { allowHalfOpen: true, noDelay: true, pauseOnConnect: inPlaceReadsAvailable() },
      (socket) => this.accept(socket),
    );
    this.gate = new AcceptGate(this.server, {
      log: this.log,
      acl: options.acl,
      maxConns: options.maxConns ?? 1000,
      unixPath: options.unixPath,
      counts: this.stats,
    });
  }

  /** Connections open right now. */
  get active(): number {
    return this.gate.active;
  }

  private accept(socket: net.Socket): void {
    const tuple = this.gate.admit(socket);
    if (tuple === null) return;
    const local = { address: socket.localAddress, port: socket.localPort };
    const remote = { address: socket.remoteAddress, port: socket.remotePort };
    this.stats.connections++;
    this.log(`open ${tuple}`);

    const stats = this.stats;
    const copy = this.copy;
    const dumper = copy?.hex ? new HexDumper() : null;
    let bytes = 0;
    let taken = 0; // bytes whose write() completed: the kernel has them
    let reset = false;
    let sendFull = false; // our send buffer to this client is full
    let copyFull = false; // the copy (stdout) is backed up
    // The hot path, once per read(): count, write back, and say whether to
    // keep reading (not while either output is full). Nothing is logged or
    // allocated here. The fast path (lib/fastecho.ts) may hand us a buffer it
    // reads into again, so the copy to stdout, which may hold it, gets its own.
    const echo = (chunk: Buffer): boolean => {
      bytes += chunk.length;
      if (!conn.write(chunk, written)) sendFull = true;
      if (copy !== null && !copy.write(fast ? Buffer.from(chunk) : chunk, dumper, resumeFromCopy, tuple)) copyFull = true;
      return !sendFull && !copyFull;
    };
    // Writes complete in order, and writableLength holds the bytes of those
    // not complete yet, so at each completion everything else was taken.
    // One function per connection: nothing allocated per chunk.
    const written = (error?: Error | null) => {
      if (!error) taken = bytes - conn.writableLength;
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
    this.gate.track(conn);
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
    // A reset libuv read as EOF (lib/serve/reset.ts) ends it at once.
    conn.on('end', () => {
      if (endedByReset(conn, local, remote, false)) {
        reset = true;
        conn.destroy();
      } else {
        conn.end();
      }
    });
    conn.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') reset = true;
    });
    if (this.idleMs > 0) {
      conn.setTimeout(this.idleMs, () => {
        this.log(`idle ${tuple} (no traffic for ${this.idleMs / 1000} s), closing`);
        conn.destroy();
      });
    }
    conn.on('close', () => {
      stats.bytes += taken;
      copy?.forget(resumeFromCopy);
      if (dumper) copy?.writeText(dumper.flush());
      this.log(`${reset ? 'reset' : 'close'} ${tuple} (${bytes} bytes)`);
    });
  }

  /** Stops listening, closes every connection, resolves when all are closed. */
  stop(): Promise<void> {
    return this.gate.closeAll();
  }
}

function ignoreError(): void {}
