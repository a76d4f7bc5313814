// The socket table as netstat shows it: read each selected /proc/net table
// once (tcp, tcp6, udp, udp6, unix, in netstat's order), keep the rows a
// filter asks for, and fill in the process holding each socket.
import { findAllOwners } from './owners.ts';
import { defaultProcRoot, readProcFile } from './procfile.ts';
import { parseInetTable, parseUnix, type InetProto, type SocketRow } from './procnet.ts';

export type { SocketRow } from './procnet.ts';

/** Which tables to read. */
export interface Kinds {
  tcp: boolean;
  udp: boolean;
  unix: boolean;
}

/**
 * Reads and parses the selected tables, each file once, in netstat's order.
 * A table that does not exist (IPv6 disabled) gives no rows.
 * @example readSockets({ tcp: true, udp: false, unix: false }).filter((row) => row.state === 'LISTEN')
 */
export function readSockets(kinds: Kinds, procRoot = defaultProcRoot()): SocketRow[] {
  const protos: InetProto[] = [];
  if (kinds.tcp) protos.push('tcp', 'tcp6');
  if (kinds.udp) protos.push('udp', 'udp6');
  const rows: SocketRow[] = [];
  for (const proto of protos) {
    const bytes = readProcFile(`${procRoot}/net/${proto}`);
    if (bytes !== null) for (const row of parseInetTable(bytes, proto)) rows.push(row);
  }
  if (kinds.unix) {
    const bytes = readProcFile(`${procRoot}/net/unix`);
    if (bytes !== null) for (const row of parseUnix(bytes)) rows.push(row);
  }
  return rows;
}

/** What `netstat` keeps: `--port`, `--state`, `--listening`. */
export interface RowFilter {
  port?: number;
  state?: string;
  listening?: boolean;
}

/**
 * Keeps rows whose local or remote port is `port`, in `state`, listening.
 * @example filterRows(rows, { port: 8001, state: 'ESTABLISHED' })
 */
export function filterRows(rows: SocketRow[], filter: RowFilter): SocketRow[] {
  const { port, state, listening } = filter;
  if (port === undefined && state === undefined && !listening) return rows;
  return rows.filter(
    (row) =>
      (port === undefined || row.localPort === port || row.remotePort === port) &&
      (state === undefined || row.state === state) &&
      // netstat -l and ss -l: TCP/Unix listeners and unconnected UDP sockets.
      (!listening || row.state === 'LISTEN' || (row.state === 'UNCONN' && row.proto !== 'unix')),
  );
}

/**
 * Fills `owners` (every process holding the socket, as ss -p) and `pid` and
 * `program` (the first of them, as netstat -p) from /proc/[pid]/fd.
 * @example attachOwners(rows); rows[0].pid // 4242
 */
export function attachOwners(rows: SocketRow[], procRoot = defaultProcRoot()): void {
  const owners = findAllOwners(
    rows.map((row) => row.inode),
    procRoot,
  );
  if (owners.size === 0) return;
  for (const row of rows) {
    const found = owners.get(row.inode);
    if (found) {
      row.owners = found;
      row.pid = found[0].pid;
      row.program = found[0].program;
    }
  }
}
