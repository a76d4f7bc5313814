// UDP echo on a bound socket, the lesson's recvfrom()/sendto() loop: every
// datagram goes back to its sender unchanged, logged `from SRC` (the address
// recvfrom() returns is the lesson), with the reflection guard and the
// access list checked per datagram.
import type dgram from 'node:dgram';
import { HexDumper } from '../wire/hexdump.ts';
import { describeError } from '../errors.ts';
import { formatEndpoint } from '../wire/address.ts';
import type { AccessList } from './acl.ts';
import type { DataCopy } from './datacopy.ts';
import type { EchoStats } from './echo.ts';
import { RateLimitedLog, isReflectionPort } from './guard.ts';

/**
 * UDP echo on a bound socket: every datagram goes back to its sender
 * unchanged. Returns the counters (connections counts datagrams).
 */
export function echoDatagrams(
  socket: dgram.Socket,
  options: {
    copy?: DataCopy | null;
    log?: (line: string) => void;
    acl?: AccessList | null;
    /** Log `from SRC -> DST (N bytes)` per datagram (the address recvfrom() returned). */
    logDatagrams?: boolean;
  } = {},
): EchoStats {
  const stats: EchoStats = { connections: 0, refused: 0, bytes: 0, denied: 0, reflected: 0 };
  const acl = options.acl ?? null;
  const copy = options.copy ?? null;
  // With --hex each sender has its own offsets (at most 1024 senders remembered).
  const dumpers = new Map<string, HexDumper>();
  const dumperFor = (sender: string): HexDumper | null => {
    if (!copy?.hex) return null;
    let dumper = dumpers.get(sender);
    if (dumper === undefined) {
      if (dumpers.size >= 1024) dumpers.clear();
      dumpers.set(sender, (dumper = new HexDumper()));
    }
    return dumper;
  };
  let local = '';
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
    if (options.logDatagrams || copy?.hex) {
      if (local === '') {
        const bound = socket.address();
        local = formatEndpoint(bound.address, bound.port);
      }
      const sender = `${formatEndpoint(peer.address, peer.port)} -> ${local}`;
      if (options.logDatagrams) log(`from ${sender} (${message.length} bytes)`);
      // UDP has no backpressure to apply: a copy that is backed up drops instead.
      if (copy !== null) copy.write(message, dumperFor(sender), null, sender);
    } else if (copy !== null) {
      copy.write(message, null, null);
    }
  });
  return stats;
}

/** Closes a UDP echo's socket; resolves when it is closed (at once if it was already). */
export function closeDatagrams(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed (ERR_SOCKET_DGRAM_NOT_RUNNING)
    }
  });
}
