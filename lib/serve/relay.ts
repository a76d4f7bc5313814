// Terminal <-> socket relays shared by the client and the talk server: the
// lesson's `read(STDIN) -> write(cfd)` and `read(cfd) -> write(STDOUT)`,
// both directions at once (event driven, as with select()/poll()), with
// backpressure each way and TCP half-close: each direction ends on its own
// (our shutdown(SHUT_WR) at end of input, the peer's FIN on its side), and a
// reset that Node reports as a plain EOF is still told apart (lib/serve/reset.ts).
import type net from 'node:net';
import type dgram from 'node:dgram';
import type { Readable, Writable } from 'node:stream';
import { HexDumper } from '../wire/hexdump.ts';
import { endedByReset, resetError } from './reset.ts';

/** What a relay moved, and how the connection ended. */
export interface RelayResult {
  /** Bytes read from the input and sent. */
  sent: number;
  /** Bytes received and written to the output. */
  received: number;
  /** The socket error that ended the connection (ECONNRESET...), if any. */
  error?: unknown;
  /** The output failed (EPIPE: the reader of stdout went away). */
  outputClosed?: boolean;
  /** Why the relay gave up on a stalled peer (see StreamRelayOptions.stallSeconds). */
  stalled?: 'silent' | 'not reading';
}

export interface StreamRelayOptions {
  input: Readable;
  output: Writable;
  /** Print received bytes as `hexdump -C` lines. */
  hex?: boolean;
  /** With hex: print each partial line at once (interactive) instead of
   *  only whole lines, which makes piped output equal `hexdump -C`. */
  hexFlushEachChunk?: boolean;
  /**
   * Give up (destroy the socket, result.stalled set, an ETIMEDOUT error) when
   * the peer made no progress for this long while we wait on it: after the
   * end of input nothing arrived ('silent'), or our send buffer stayed full
   * because it does not read ('not reading'). Time while our own output is
   * backed up does not count. Default: wait forever.
   */
  stallSeconds?: number;
  /**
   * The peer's FIN ends only what it sends; input is still sent until its
   * own end (the client, like nc -N). Default false: the peer's FIN ends
   * the connection once our writes drain (a server done with its client).
   */
  untilBothEnd?: boolean;
}

/**
 * Relays `input` to a connected stream socket and the socket to `output`
 * until both directions are done, like `nc -N`: end of input shuts down the
 * sending side (FIN) and keeps printing until the peer's FIN; with
 * `untilBothEnd` the peer's FIN ends only what it sends, and input keeps
 * being sent until its end (else the peer's FIN ends ours too). A
 * reset (even one Node reports as EOF) ends it with an ECONNRESET error.
 * The input is attached only for
 * the life of this connection (paused afterwards), so it can be handed to
 * the next one; input that already ended makes the relay half-close at once.
 *
 * Backpressure both ways: input pauses while the socket's send buffer is
 * full, the socket pauses while the output is backed up.
 *
 * @example
 * const socket = await connectStream({ host: '127.0.0.1', port: 8001, timeoutSeconds: 10 });
 * const { received } = await relayStream(socket, { input: process.stdin, output: process.stdout });
 */
export function relayStream(socket: net.Socket, options: StreamRelayOptions): Promise<RelayResult> {
  const { input, output } = options;
  const dumper = options.hex ? new HexDumper() : null;
  const flushEach = options.hexFlushEachChunk ?? false;
  const result: RelayResult = { sent: 0, received: 0 };
  let inputAttached = false;
  let peerEnded = false;
  // Captured now: Node forgets the endpoints once the connection is gone.
  const local = { address: socket.localAddress, port: socket.localPort };
  const remote = { address: socket.remoteAddress, port: socket.remotePort };
  // The peer's FIN must not end our side (Node's default for a client).
  socket.allowHalfOpen = true;

  // The stall guard: one timer, armed only while we wait on the peer.
  const stallMs = (options.stallSeconds ?? 0) * 1000;
  let inputEnded = false;
  let sendBlocked = false;
  let outputBlocked = false;
  let stallTimer: NodeJS.Timeout | undefined;
  const armStall = () => {
    if (stallMs <= 0) return;
    clearTimeout(stallTimer);
    const waiting = (inputEnded && !peerEnded) || sendBlocked;
    if (waiting && !outputBlocked && !socket.destroyed) stallTimer = setTimeout(onStall, stallMs);
  };
  const onStall = () => {
    result.stalled = inputEnded && !sendBlocked ? 'silent' : 'not reading';
    result.error ??= Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' });
    socket.destroy();
  };

  const onInput = (chunk: Buffer) => {
    result.sent += chunk.length;
    if (!socket.write(chunk)) {
      input.pause();
      sendBlocked = true;
      armStall();
    }
  };
  const onInputEnd = () => {
    detachInput();
    inputEnded = true;
    armStall();
    socket.end(); // shutdown(SHUT_WR): the peer reads EOF, we keep reading
  };
  const onSocketDrain = () => {
    sendBlocked = false;
    armStall();
    if (inputAttached) input.resume();
  };
  const onData = (chunk: Buffer) => {
    result.received += chunk.length;
    const text = dumper ? dumper.push(chunk) + (flushEach ? dumper.flush() : '') : chunk;
    if (!output.write(text)) {
      socket.pause();
      outputBlocked = true;
    }
    armStall();
  };
  const onOutputDrain = () => {
    outputBlocked = false;
    armStall();
    socket.resume();
  };
  const onOutputError = () => {
    result.outputClosed = true;
    socket.destroy();
  };

  function detachInput(): void {
    if (!inputAttached) return;
    inputAttached = false;
    input.off('data', onInput);
    input.off('end', onInputEnd);
    input.pause();
  }

  return new Promise((resolve) => {
    socket.on('data', onData);
    socket.on('drain', onSocketDrain);
    // The peer's FIN: with untilBothEnd input goes on until its own end,
    // else our side ends too. A reset that libuv turned into EOF ends everything.
    socket.on('end', () => {
      peerEnded = true;
      if (endedByReset(socket, local, remote, inputEnded)) {
        result.error ??= resetError();
        socket.destroy();
        return;
      }
      if (options.untilBothEnd) return armStall();
      detachInput();
      socket.end();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A write after the peer's reset fails with EPIPE when another call took
      // the ECONNRESET first (Deno); we never write after our own FIN, so on
      // TCP that EPIPE is the reset.
      result.error = error.code === 'EPIPE' && local.address !== undefined ? resetError() : error;
    });
    output.on('drain', onOutputDrain);
    output.on('error', onOutputError);
    socket.on('close', () => {
      clearTimeout(stallTimer);
      detachInput();
      output.off('drain', onOutputDrain);
      if (dumper && !result.outputClosed) output.write(dumper.end());
      // Keep a listener until the last write has failed or flushed.
      output.off('error', onOutputError);
      output.once('error', () => {});
      resolve(result);
    });
    socket.resume(); // also a socket accepted with pauseOnConnect
    if (input.readableEnded) {
      inputEnded = true;
      armStall();
      socket.end();
    } else {
      inputAttached = true;
      input.on('data', onInput);
      input.on('end', onInputEnd);
      input.resume();
    }
  });
}

/** Largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP header bytes). */
export const MAX_DATAGRAM = 65507;

export interface DatagramRelayOptions {
  input: Readable;
  output: Writable;
  hex?: boolean;
  /** One datagram per input line (interactive) instead of per chunk read. */
  lines?: boolean;
  /** After input ends, stop when no reply came for this long. */
  timeoutSeconds: number;
}

/** What a UDP relay moved. */
export interface DatagramRelayResult extends RelayResult {
  datagramsSent: number;
  repliesReceived: number;
}

/**
 * Sends input to a connected UDP socket, one datagram per line (`lines`) or
 * per chunk read (split at MAX_DATAGRAM), and prints every datagram that
 * comes back. After the input ends it waits until every datagram has had a
 * reply, or until no reply came for `timeoutSeconds`. A socket error (an
 * ICMP port unreachable gives ECONNREFUSED) ends it at once.
 */
export function relayDatagrams(socket: dgram.Socket, options: DatagramRelayOptions): Promise<DatagramRelayResult> {
  const { input, output } = options;
  const dumper = options.hex ? new HexDumper() : null;
  const result: DatagramRelayResult = { sent: 0, received: 0, datagramsSent: 0, repliesReceived: 0 };
  let inFlight = 0;
  let inputEnded = false;
  let outputFull = false;
  let done = false;
  let pendingLine: Buffer = Buffer.alloc(0);
  let timer: NodeJS.Timeout | undefined;

  return new Promise((resolve) => {
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      input.off('data', onInput);
      input.off('end', onInputEnd);
      input.pause();
      output.off('drain', onOutputDrain);
      socket.close();
      if (dumper && !result.outputClosed) output.write(dumper.end());
      resolve(result);
    };
    const maybeDone = () => {
      if (done || !inputEnded || inFlight > 0) return;
      if (result.repliesReceived >= result.datagramsSent) return finish();
      clearTimeout(timer); // restarts with every reply
      timer = setTimeout(finish, options.timeoutSeconds * 1000);
    };
    const maybeResume = () => {
      if (!done && !inputEnded && inFlight < 16 && !outputFull) input.resume();
    };
    const sent = (error: Error | null) => {
      inFlight--;
      if (error) {
        result.error ??= error;
        return finish();
      }
      maybeResume();
      maybeDone();
    };
    const send = (datagram: Buffer) => {
      inFlight++;
      result.datagramsSent++;
      result.sent += datagram.length;
      socket.send(datagram, sent);
      if (inFlight >= 64) input.pause(); // let the kernel catch up
    };
    const onInput = (chunk: Buffer) => {
      if (!options.lines) {
        for (let at = 0; at < chunk.length; at += MAX_DATAGRAM) send(chunk.subarray(at, at + MAX_DATAGRAM));
        return;
      }
      let data = pendingLine.length ? Buffer.concat([pendingLine, chunk]) : chunk;
      for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10)) {
        send(data.subarray(0, nl + 1));
        data = data.subarray(nl + 1);
      }
      pendingLine = data;
    };
    const onInputEnd = () => {
      if (pendingLine.length) send(pendingLine);
      inputEnded = true;
      maybeDone();
    };
    // Replies cannot be paused (UDP); instead the input waits while the
    // output is backed up, which bounds what can come back.
    const onOutputDrain = () => {
      outputFull = false;
      maybeResume();
    };
    socket.on('message', (message) => {
      result.repliesReceived++;
      result.received += message.length;
      if (!output.write(dumper ? dumper.push(message) + dumper.flush() : message)) {
        outputFull = true;
        input.pause();
      }
      maybeDone();
    });
    socket.on('error', (error) => {
      result.error ??= error;
      finish();
    });
    output.on('drain', onOutputDrain);
    output.once('error', () => {
      result.outputClosed = true;
      finish();
    });
    input.on('data', onInput);
    input.on('end', onInputEnd);
    input.resume();
  });
}
