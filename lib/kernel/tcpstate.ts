// The state the kernel reports for one TCP connection, found by its
// four-tuple in /proc/net/tcp and /proc/net/tcp6 (as `ss` would list it),
// or null when the kernel no longer lists it (a reset removes the row at
// once, where a FIN leaves CLOSE_WAIT, LAST_ACK or TIME_WAIT behind).
import { parseInetTable } from './procnet.ts';
import { readProcText } from './procfile.ts';

/** One end of a connection, as Node reports it (`::ffff:` forms allowed). */
export interface Endpoint {
  address: string;
  port: number;
}

/** The netstat name of the connection's state (`CLOSE_WAIT`, ...), or null when it has no row. */
export function tcpConnectionState(local: Endpoint, remote: Endpoint, procRoot = '/proc'): string | null {
  return tcpConnectionStates(local, remote, procRoot).ours;
}

/**
 * Both ends of a connection in one reading: `ours` (local -> remote) and
 * `theirs` (remote -> local, listed only when the peer is on this host),
 * each null when the kernel has no row for it.
 */
export function tcpConnectionStates(local: Endpoint, remote: Endpoint, procRoot = '/proc'): { ours: string | null; theirs: string | null } {
  const found = { ours: null as string | null, theirs: null as string | null };
  const ourAddress = bare(local.address);
  const peerAddress = bare(remote.address);
  for (const proto of ['tcp', 'tcp6'] as const) {
    const table = readProcText(`${procRoot}/net/${proto}`);
    if (table === null) continue; // IPv6 disabled
    for (const row of parseInetTable(table, proto)) {
      if (row.localAddress === null || row.remoteAddress === null) continue;
      if (row.localPort === local.port && row.remotePort === remote.port) {
        if (found.ours === null && bare(row.localAddress) === ourAddress && bare(row.remoteAddress) === peerAddress) found.ours = row.state;
      } else if (row.localPort === remote.port && row.remotePort === local.port) {
        if (found.theirs === null && bare(row.localAddress) === peerAddress && bare(row.remoteAddress) === ourAddress) found.theirs = row.state;
      }
    }
  }
  return found;
}

/** An address as Node or the kernel may write it, compared without case or `::ffff:`. */
function bare(text: string): string {
  return text.toLowerCase().replace(/^::ffff:(?=\d+\.)/, '');
}
