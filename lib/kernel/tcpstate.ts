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
  for (const proto of ['tcp', 'tcp6'] as const) {
    const table = readProcText(`${procRoot}/net/${proto}`);
    if (table === null) continue; // IPv6 disabled
    for (const row of parseInetTable(table, proto)) {
      if (row.localPort !== local.port || row.remotePort !== remote.port) continue;
      if (!sameAddress(row.localAddress, local.address) || !sameAddress(row.remoteAddress, remote.address)) continue;
      return row.state;
    }
  }
  return null;
}

function sameAddress(listed: string | null, node: string): boolean {
  if (listed === null) return false;
  const bare = (text: string) => text.toLowerCase().replace(/^::ffff:(?=\d+\.)/, '');
  return bare(listed) === bare(node);
}
