// Tells a peer's reset from its FIN when a TCP socket reads end of file.
// Node (libuv) turns a reset that arrives after data into a plain EOF: it
// never reads the pending ECONNRESET, and the shutdown() that follows fails
// with ENOTCONN, which Node drops. The kernel still knows: after a FIN the
// socket is in CLOSE_WAIT (getpeername() works) or, when our FIN went first,
// its four-tuple is in TIME_WAIT; after a reset the socket is CLOSE
// (getpeername() fails with ENOTCONN) and its row is gone from /proc/net/tcp.
import type net from 'node:net';
import { tcpConnectionState } from '../kernel/tcpstate.ts';

interface PeerNameHandle {
  getpeername?: (out: object) => number;
}

/**
 * Call on a TCP socket's 'end'. True when the peer reset the connection
 * rather than closing its side. `local`/`remote` are the endpoints captured
 * when the connection began (Node forgets them once it is gone; `remote` is
 * empty when it was gone before that); `finSent`: we already shut down our
 * side. Unix sockets (no local address) return false.
 */
export function endedByReset(
  socket: net.Socket,
  local: { address?: string; port?: number },
  remote: { address?: string; port?: number },
  finSent: boolean,
): boolean {
  const handle = (socket as unknown as { _handle?: PeerNameHandle | null })._handle;
  if (!handle || typeof handle.getpeername !== 'function') return false;
  if (local.address === undefined || local.port === undefined) return false; // not TCP
  if (handle.getpeername({}) === 0) return false; // CLOSE_WAIT, CLOSING, LAST_ACK: an orderly FIN
  // CLOSE. Without our FIN only a reset gets there; with it, our FIN and
  // theirs may have crossed, and then TIME_WAIT keeps the four-tuple listed.
  if (!finSent || remote.address === undefined || remote.port === undefined) return true;
  const state = tcpConnectionState(
    { address: local.address, port: local.port },
    { address: remote.address, port: remote.port },
  );
  return state === null || state === 'CLOSE';
}

/** An ECONNRESET error, as the reset would have been reported by a read. */
export function resetError(): Error {
  return Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
}
