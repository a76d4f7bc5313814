// What changed between two socket snapshots, in words: a pure function from
// (before, after) rows to timeline events ("127.0.0.1:40112 -> :8001 entered
// the accept queue", "accepted by 1234/node", "closed: TIME_WAIT on the
// client"). socket-view draws these newest first; no file access here.
import type { SocketRow } from './procnet.ts';

/** One change, as the timeline shows it. */
export interface TimelineEvent {
  /** ms since the epoch of the snapshot that showed the change. */
  time: number;
  kind: 'listen' | 'unlisten' | 'half-open' | 'queued' | 'accepted' | 'connect' | 'state' | 'closed';
  text: string;
  /** Local and remote port of the row, for filtering by port. */
  localPort: number | null;
  remotePort: number | null;
  state: string;
  program: string | null;
}

const isTcp = (row: SocketRow) => row.proto === 'tcp' || row.proto === 'tcp6';

const endpoint = (address: string | null, port: number | null) =>
  address === null ? '*' : `${address.includes(':') ? `[${address}]` : address}:${port ?? '*'}`;

/** The identity of a TCP row across snapshots: protocol and four-tuple. */
export function rowKey(row: SocketRow): string {
  // Plain concatenation: this runs twice per row per refresh (20,000 rows at 10k connections).
  return row.proto + ' ' + row.localAddress + ' ' + row.localPort + ' ' + row.remoteAddress + ' ' + row.remotePort;
}

/** `127.0.0.1:40112 -> :8001` for the server side, `... -> 127.0.0.1:8001` otherwise. */
function arrow(row: SocketRow, serverSide: boolean): string {
  if (serverSide) return `${endpoint(row.remoteAddress, row.remotePort)} -> :${row.localPort}`;
  return `${endpoint(row.localAddress, row.localPort)} -> ${endpoint(row.remoteAddress, row.remotePort)}`;
}

const ownerText = (row: SocketRow) =>
  row.owners.length > 0 ? row.owners.map((o) => `${o.pid}/${o.program}`).join(',') : row.pid !== null ? `${row.pid}/${row.program}` : null;

// A numeric key first (ports and family; Map lookups on numbers are several
// times cheaper than on strings), then the addresses among the few rows
// that share it: 20,000 rows index in ~2 ms.
const portKey = (row: SocketRow) => ((row.localPort ?? 0) * 65536 + (row.remotePort ?? 0)) * 2 + (row.proto === 'tcp6' ? 1 : 0);
type Index = Map<number, SocketRow | SocketRow[]>;

function indexRows(rows: readonly SocketRow[]): Index {
  const index: Index = new Map();
  for (const row of rows) {
    if (!isTcp(row)) continue;
    const key = portKey(row);
    const found = index.get(key);
    if (found === undefined) index.set(key, row);
    else if (Array.isArray(found)) found.push(row);
    else index.set(key, [found, row]);
  }
  return index;
}

const sameTuple = (a: SocketRow, b: SocketRow) => a.localAddress === b.localAddress && a.remoteAddress === b.remoteAddress;

function lookup(index: Index, row: SocketRow): SocketRow | undefined {
  const found = index.get(portKey(row));
  if (found === undefined) return undefined;
  if (!Array.isArray(found)) return sameTuple(found, row) ? found : undefined;
  return found.find((candidate) => sameTuple(candidate, row));
}

// How far ahead in `before` the same row object is looked for (rows gone in between).
const LOOKAHEAD = 8;

/** The rows of `before` and of `after` that are not the same object at (about) the same place in both. */
function unpaired(before: readonly SocketRow[], after: readonly SocketRow[]): { gone: SocketRow[]; fresh: SocketRow[] } {
  const gone: SocketRow[] = [];
  const fresh: SocketRow[] = [];
  let i = 0;
  for (const row of after) {
    let hit = -1;
    for (let k = i; k < Math.min(i + LOOKAHEAD, before.length); k++) {
      if (before[k] === row) {
        hit = k;
        break;
      }
    }
    if (hit < 0) {
      fresh.push(row);
      continue;
    }
    for (let k = i; k < hit; k++) gone.push(before[k]);
    i = hit + 1;
  }
  for (let k = i; k < before.length; k++) gone.push(before[k]);
  return { gone, fresh };
}

/** The ports on which some TCP socket listens in `rows`. */
export function listeningPorts(rows: readonly SocketRow[]): Set<number> {
  const ports = new Set<number>();
  for (const row of rows) if (isTcp(row) && row.state === 'LISTEN' && row.localPort !== null) ports.add(row.localPort);
  return ports;
}

/**
 * The TCP changes from `before` to `after`, oldest first: listeners opened
 * and closed, connections entering the half-open queue (SYN_RECV) and the
 * accept queue (server-side ESTABLISHED with no descriptor, inode 0),
 * accepted (an inode appeared), state changes, and rows gone. UDP and Unix
 * rows are not in the timeline.
 * @example diffSnapshots([], [listenRow], 0)[0].text // 'listening on 127.0.0.1:8001 (4242/node)'
 */
export function diffSnapshots(before: readonly SocketRow[], after: readonly SocketRow[], time: number): TimelineEvent[] {
  // A row object in both (the sampler reuses the row of an unchanged line, in
  // the same order) is unchanged: walk both in step comparing identity, and
  // index and look up only the rest.
  const { gone, fresh } = unpaired(before, after);
  const old = indexRows(gone);
  const ports = listeningPorts(after);
  const oldPorts = listeningPorts(before);
  const events: TimelineEvent[] = [];
  const push = (row: SocketRow, kind: TimelineEvent['kind'], text: string) =>
    events.push({ time, kind, text, localPort: row.localPort, remotePort: row.remotePort, state: row.state, program: row.program });
  const seen = new Set<SocketRow>(); // rows of `before` still present

  for (const row of fresh) {
    if (!isTcp(row)) continue;
    const prev = lookup(old, row);
    if (prev) seen.add(prev);
    // Unchanged rows (nearly all of them) cost one map lookup and these comparisons.
    if (prev && prev.state === row.state && !(row.state === 'ESTABLISHED' && prev.inode === 0 && row.inode !== 0)) continue;
    const serverSide = row.state !== 'LISTEN' && row.localPort !== null && (ports.has(row.localPort) || oldPorts.has(row.localPort));
    const name = arrow(row, serverSide);
    const owner = ownerText(row);
    if (!prev) {
      if (row.state === 'LISTEN') push(row, 'listen', `listening on ${endpoint(row.localAddress, row.localPort)}${owner ? ` (${owner})` : ''}`);
      else if (row.state === 'SYN_RECV') push(row, 'half-open', `${name} entered the half-open queue (SYN_RECV)`);
      else if (row.state === 'ESTABLISHED' && serverSide && row.inode === 0)
        push(row, 'queued', `${name} entered the accept queue`);
      else if (row.state === 'ESTABLISHED' && serverSide) push(row, 'accepted', `${name} accepted by ${owner ?? 'a process'}`);
      else if (row.state === 'SYN_SENT' || row.state === 'ESTABLISHED')
        push(row, 'connect', `${name} ${row.state === 'SYN_SENT' ? 'connecting (SYN_SENT)' : 'connected'}${owner ? ` (${owner})` : ''}`);
      else if (row.state === 'TIME_WAIT') push(row, 'closed', `${name} closed: TIME_WAIT on the ${serverSide ? 'server' : 'client'}`);
      else push(row, 'state', `${name} appeared in ${row.state}`);
      continue;
    }
    if (prev.state !== row.state) {
      if (prev.state === 'SYN_RECV' && row.state === 'ESTABLISHED' && row.inode === 0)
        push(row, 'queued', `${name} entered the accept queue`);
      else if (row.state === 'TIME_WAIT') push(row, 'closed', `${name} closed: TIME_WAIT on the ${serverSide ? 'server' : 'client'}`);
      else push(row, 'state', `${name}: ${prev.state} -> ${row.state}`);
    }
    if (row.state === 'ESTABLISHED' && prev.inode === 0 && row.inode !== 0 && serverSide) {
      push(row, 'accepted', `${name} accepted by ${owner ?? 'a process'}`);
    }
  }
  for (const prev of gone) {
    if (!isTcp(prev) || seen.has(prev)) continue;
    if (prev.state === 'LISTEN') {
      push(prev, 'unlisten', `stopped listening on ${endpoint(prev.localAddress, prev.localPort)}`);
      continue;
    }
    const serverSide = prev.localPort !== null && (ports.has(prev.localPort) || oldPorts.has(prev.localPort));
    push(prev, 'closed', `${arrow(prev, serverSide)} gone (was ${prev.state})`);
  }
  return events;
}
