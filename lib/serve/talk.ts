// The talk server's core: one client at a time talks with the terminal, in
// both directions at once (lib/relay.ts); others wait their turn, as
// connections wait in the lesson's listen(lfd, 64) queue.
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { relayStream } from './relay.ts';
import { describeError } from '../errors.ts';
import type { AccessList } from './acl.ts';
import { AcceptGate } from './gate.ts';

/** Clients that may wait for their turn (the lesson's listen backlog). */
export const MAX_WAITING = 64;

export interface TalkOptions {
  input: Readable;
  output: Writable;
  /** Print what the client sends as `hexdump -C` lines. */
  hex?: boolean;
  /** Stop after the first client leaves. */
  once?: boolean;
  /** Called when the server has nothing more to do (--once, or the output closed). */
  onDone?: () => void;
  log?: (line: string) => void;
  /** For Unix sockets: the path, to name connections in the log. */
  unixPath?: string;
  /** Access list checked once per connection at accept (null: everyone). */
  acl?: AccessList | null;
}

/** Counters for the summary line. */
export interface TalkStats {
  connections: number;
  received: number;
  sent: number;
  refused: number;
  /** Connections closed at once because --allow/--deny said no. */
  denied: number;
}

/**
 * A server that relays its input to one client at a time and the client to
 * its output. A client that connects while another is talking is accepted
 * but not read (pauseOnConnect) and waits, logged as `wait`; up to
 * MAX_WAITING wait, later ones are closed at once (`refuse`). When the
 * talking client leaves (its FIN or a reset), the next waiting one begins.
 */
export class TalkServer {
  readonly server: net.Server;
  readonly stats: TalkStats = { connections: 0, received: 0, sent: 0, refused: 0, denied: 0 };
  private readonly options: TalkOptions;
  private readonly log: (line: string) => void;
  private readonly waiting: Array<{ socket: net.Socket; tuple: string }> = [];
  private current: net.Socket | null = null;
  private stopping = false;
  private readonly gate: AcceptGate;

  constructor(options: TalkOptions) {
    this.options = options;
    this.log = options.log ?? ((line) => process.stderr.write(line + '\n'));
    this.server = net.createServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
    // The one talking plus MAX_WAITING waiting; the next is refused.
    this.gate = new AcceptGate(this.server, {
      log: this.log,
      acl: options.acl,
      maxConns: MAX_WAITING + 1,
      fullReason: `${MAX_WAITING} clients already waiting`,
      unixPath: options.unixPath,
      counts: this.stats,
    });
  }

  private accept(socket: net.Socket): void {
    const tuple = this.gate.admit(socket); // errors are reported through the relay
    if (tuple === null) return;
    this.gate.track(socket);
    if (this.current === null) return void this.talk(socket, tuple);
    this.waiting.push({ socket, tuple });
    this.log(`wait ${tuple} (another client is talking; ${this.waiting.length} waiting)`);
  }

  private async talk(socket: net.Socket, tuple: string): Promise<void> {
    this.current = socket;
    this.stats.connections++;
    this.log(`open ${tuple}`);
    const { input, output, hex } = this.options;
    const result = await relayStream(socket, { input, output, hex, hexFlushEachChunk: true });
    this.stats.received += result.received;
    this.stats.sent += result.sent;
    const why = result.error ? `; ${describeError(result.error)}` : '';
    this.log(`close ${tuple} (${result.received} bytes)${why}`);
    this.current = null;
    if (this.stopping) return;
    if (result.outputClosed) {
      this.log('stdout was closed; stopping');
      return this.finish();
    }
    if (this.options.once) return this.finish();
    this.next();
  }

  private next(): void {
    if (this.stopping) return;
    const next = this.waiting.shift();
    if (next) void this.talk(next.socket, next.tuple);
  }

  private finish(): void {
    this.options.onDone?.();
  }

  /** Stops listening and closes the talking and the waiting clients. */
  stop(): Promise<void> {
    this.stopping = true;
    this.waiting.length = 0;
    return this.gate.closeAll();
  }
}
