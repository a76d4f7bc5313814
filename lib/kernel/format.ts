// How netstat lays rows out: the endpoint texts (`127.0.0.1:8001`,
// `[::1]:*`), the table of `netstat -tunap` (queues right-aligned, `-` where
// a value is unknown or no process holds the socket), and the JSON document
// of `--json`, one row per line.
import { formatEndpoint } from '../wire/address.ts';
import type { SocketRow } from './procnet.ts';

/** `HOST:PORT` of the row's local side (`*` for an unnamed Unix socket). */
export function localText(row: SocketRow): string {
  if (row.proto === 'unix') return row.localAddress ?? '*';
  return formatEndpoint(row.localAddress ?? '*', row.localPort ?? 0);
}

/** `HOST:PORT`, or `HOST:*` with no peer, as netstat prints the foreign side. */
export function remoteText(row: SocketRow): string {
  if (row.proto === 'unix') return '*';
  const address = row.remoteAddress ?? '*';
  if (!row.remotePort) return address.includes(':') ? `[${address}]:*` : `${address}:*`;
  return formatEndpoint(address, row.remotePort);
}

/**
 * The PID/Program cell: `-` when no process holds the socket, else every
 * holder (`4242/node,4250/node` for a socket shared across fork(), as ss -p).
 * @example ownersText(row) // '4242/node'
 */
export function ownersText(row: SocketRow): string {
  if (row.owners.length > 0) return row.owners.map((owner) => `${owner.pid}/${owner.program}`).join(',');
  return row.pid === null ? '-' : `${row.pid}/${row.program ?? '?'}`;
}

/** The header of the table, in netstat -tunap's order. */
export const TABLE_COLUMNS = ['Proto', 'Recv-Q', 'Send-Q', 'Local Address', 'Foreign Address', 'State', 'PID/Program'];

/**
 * Lays rows out like `netstat -tunap`: queues right-aligned, `-` where a
 * value is unknown or no process holds the socket.
 */
export function formatTable(rows: SocketRow[]): string {
  const cells = rows.map((row) => [
    row.proto,
    row.recvQ === null ? '-' : String(row.recvQ),
    row.sendQ === null ? '-' : String(row.sendQ),
    localText(row),
    remoteText(row),
    row.state,
    ownersText(row),
  ]);
  const widths = TABLE_COLUMNS.map((title, i) =>
    i === TABLE_COLUMNS.length - 1 ? 0 : cells.reduce((max, line) => Math.max(max, line[i].length), title.length),
  );
  widths[3] = Math.max(widths[3], 23);
  widths[4] = Math.max(widths[4], 23);
  widths[5] = Math.max(widths[5], 11);
  const rightAligned = new Set([1, 2]);
  const render = (line: string[]) =>
    line
      .map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join(' ')
      .trimEnd();
  const out = [render(TABLE_COLUMNS)];
  for (const line of cells) out.push(render(line));
  return out.join('\n') + '\n';
}

/**
 * The rows as one JSON document, `[` + one object per line + `]` (readable,
 * cheap for 10,000 rows), in pieces of a few hundred rows handed to `write` as made: a
 * piece is one native JSON.stringify, then a line break at each row
 * boundary, `},{"proto":`, which cannot occur inside a string value (its
 * quotes would be escaped). Small pieces stay in the young heap and reuse
 * the same memory, where one 5 MB string would be written to fresh pages
 * twice (the text, then its UTF-8 bytes).
 */
export function writeJson(rows: SocketRow[], write: (chunk: string) => void, rowsPerChunk = 400): void {
  if (rows.length === 0) return write('[]\n');
  for (let start = 0; start < rows.length; start += rowsPerChunk) {
    const json = JSON.stringify(rows.slice(start, start + rowsPerChunk));
    const lines = json.slice(1, -1).replaceAll('},{"proto":', '},\n{"proto":');
    const last = start + rowsPerChunk >= rows.length;
    write(`${start === 0 ? '[\n' : ''}${lines}${last ? '\n]\n' : ',\n'}`);
  }
}
