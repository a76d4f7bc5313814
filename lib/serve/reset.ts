// Tells a peer's reset from its FIN when a TCP socket reads end of file.
// Node (libuv) turns a reset that arrives after data into a plain EOF: it
// never reads the pending ECONNRESET, and the shutdown() that follows fails
// with ENOTCONN, which Node drops. The kernel still knows: after a FIN the
// socket is in CLOSE_WAIT (getpeername() works) or, when our FIN went first,
// its four-tuple is in TIME_WAIT; after a reset the socket is CLOSE
// (getpeername() fails with ENOTCONN) and its row is gone from /proc/net/tcp.
//
// One more orderly way to CLOSE with no row: our FIN went out after theirs
// (Deno and Bun send an early end() late), so we were the passive closer,
// LAST_ACK then CLOSE. The peer was the active closer and its end of the
// connection sits in TIME_WAIT; a peer on this machine shows that row.
// Bun's socket has no libuv handle: the rows alone tell (Bun and Deno
// report most resets as ECONNRESET errors themselves).
import type net from 'node:net';
import { Failure } from '../errors.ts';
import { tcpConnectionStates, type Endpoint } from '../kernel/tcpstate.ts';

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
  if (local.address === undefined || local.port === undefined) return false; // not TCP
  const handle = (socket as unknown as { _handle?: PeerNameHandle | null })._handle;
  const asked = !!handle && typeof handle.getpeername === 'function';
  if (asked && handle!.getpeername!({}) === 0) return false; // CLOSE_WAIT, CLOSING, LAST_ACK: an orderly FIN
  // From here on, with getpeername: CLOSE. Without our FIN only a reset gets there.
  if (remote.address === undefined || remote.port === undefined) return asked; // no four-tuple to look up
  if (asked && !finSent) return true;
  const rows = statesOf({ address: local.address, port: local.port }, { address: remote.address, port: remote.port });
  if (rows === null) return asked; // /proc unreadable: what getpeername said, or nothing to go on
  // Our row listed: an orderly end (Bun: still open or closing; crossed FINs:
  // TIME_WAIT). Gone after our FIN: ours went after theirs, and their end
  // lingers in TIME_WAIT when the peer is on this host.
  if (listed(rows.ours)) return false;
  if (!finSent) return true;
  return !listed(rows.theirs);
}

/** One reading of both rows, or null when /proc cannot be read (EMFILE): a
 *  server must not die in an 'end' handler because a table was unreadable. */
function statesOf(ours: Endpoint, theirs: Endpoint): { ours: string | null; theirs: string | null } | null {
  try {
    return tcpConnectionStates(ours, theirs);
  } catch (error) {
    if (error instanceof Failure) return null;
    throw error;
  }
}

/** A row the kernel still lists, in a state other than CLOSE. */
function listed(state: string | null): boolean {
  return state !== null && state !== 'CLOSE';
}

/** An ECONNRESET error, as the reset would have been reported by a read. */
export function resetError(): Error {
  return Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
}
