// The socket inspector behind scripts/netstat.ts and listen-only's queue
// line: read each /proc/net table once, filter, find owners, fill listener
// backlogs from `ss`, lay the rows out like `netstat -tunap`, and explain in
// plain sentences what the rows mean for the lesson (accept queue, half-open
// handshakes, TIME_WAIT).
import fs from 'node:fs';
import path from 'node:path';
import { formatEndpoint } from '../wire/address.ts';
import { UsageError } from '../errors.ts';
import { findOwners } from './owners.ts';
import { parseInetTable, parseUnix, STATE_NAMES, type InetProto, type SocketRow } from './procnet.ts';

export type { SocketRow } from './procnet.ts';

/** Which tables to read. */
export interface Kinds {
  tcp: boolean;
  udp: boolean;
  unix: boolean;
}

/**
 * Where /proc is: `/proc`, or `$SOCKET_LAB_PROC_ROOT` (tests point it at a
 * missing directory to see the macOS path).
 */
export function defaultProcRoot(): string {
  return process.env.SOCKET_LAB_PROC_ROOT || '/proc';
}

/** True when this system has the Linux socket tables (not macOS, not BSD). */
export function hasProcNet(procRoot = defaultProcRoot()): boolean {
  return fs.existsSync(`${procRoot}/net/tcp`);
}

// One buffer for every table read, reused: the parsers keep no reference to
// it (rows hold numbers and new strings). It is big from the start (16 MiB
// holds ~100,000 rows) because growing means copying into fresh pages; the
// allocation is virtual until read() touches it, so unused room costs nothing.
let scratch: Buffer | undefined;

/**
 * Reads a /proc file whole: one open, then read() into one big buffer until
 * end of file. A read of a /proc/net table returns at most about a page
 * (20,000 rows are ~750 reads), so the size stat() reports (0) is no help.
 * Returns the bytes, valid until the next call, or null when the file does
 * not exist (IPv6 disabled, no /proc).
 */
export function readProcFile(file: string): Uint8Array | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    let buffer = (scratch ??= Buffer.allocUnsafe(1 << 24));
    let length = 0;
    for (;;) {
      if (buffer.length - length < 1 << 16) {
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, length);
        scratch = buffer = bigger;
      }
      const got = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (got === 0) break;
      length += got;
    }
    return buffer.subarray(0, length);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads and parses the selected tables, each file once, in netstat's order. */
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

// ss and netstat spellings of the same states.
const STATE_ALIASES: Record<string, string> = {
  ESTAB: 'ESTABLISHED',
  FIN_WAIT_1: 'FIN_WAIT1',
  FIN_WAIT_2: 'FIN_WAIT2',
  CLOSED: 'CLOSE',
  LISTENING: 'LISTEN',
  CONNECTED: 'ESTABLISHED',
  UNCONNECTED: 'UNCONN',
  SYN_RCVD: 'SYN_RECV',
};

/**
 * A `--state` value as netstat or ss print it, case-insensitive, dashes or
 * underscores (`time-wait`, `ESTAB`, `fin-wait-1`), to the name rows carry.
 * @example parseState('time-wait') // 'TIME_WAIT'
 */
export function parseState(text: string, flag = '--state'): string {
  const upper = text.trim().toUpperCase().replaceAll('-', '_');
  const name = STATE_ALIASES[upper] ?? upper;
  if (!STATE_NAMES.includes(name)) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: unknown state; expected one of ${STATE_NAMES.join(', ')}`);
  }
  return name;
}

/** What `netstat` keeps: `--port`, `--state`, `--listening`. */
export interface RowFilter {
  port?: number;
  state?: string;
  listening?: boolean;
}

/** Keeps rows whose local or remote port is `port`, in `state`, listening. */
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

/** Fills `pid` and `program` from /proc/[pid]/fd, walking only until all are found. */
export function attachOwners(rows: SocketRow[], procRoot = defaultProcRoot()): void {
  const owners = findOwners(
    rows.map((row) => row.inode),
    procRoot,
  );
  if (owners.size === 0) return;
  for (const row of rows) {
    const owner = owners.get(row.inode);
    if (owner) {
      row.pid = owner.pid;
      row.program = owner.program;
    }
  }
}

/** Finds an executable on PATH without running anything. */
export function findExecutable(name: string, searchPath = process.env.PATH ?? ''): string | null {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Parses `ss -tlnHe` output into inode -> backlog (the Send-Q of a listener).
 * @example parseSsBacklogs('LISTEN 0 4 127.0.0.1:8001 0.0.0.0:* ino:123 sk:1 <->') // Map { 123 => 4 }
 */
export function parseSsBacklogs(text: string): Map<number, number> {
  const backlogs = new Map<number, number>();
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] !== 'LISTEN' || fields.length < 6) continue;
    const ino = fields.find((field) => field.startsWith('ino:'));
    const backlog = Number(fields[2]);
    if (ino && Number.isInteger(backlog)) backlogs.set(Number(ino.slice(4)), backlog);
  }
  return backlogs;
}

/**
 * Fills the Send-Q of TCP listeners with their backlog, which /proc does not
 * carry: runs `ss -tlnHe` through zx (imported only here, only when a
 * listener is shown and `ss` is installed). Resolves to false when `ss` is
 * missing or fails; the Send-Q then stays null (`-`).
 */
export async function attachBacklogs(rows: SocketRow[]): Promise<boolean> {
  return (await startBacklogs(rows)).done;
}

/**
 * `attachBacklogs` in two steps, so the caller can work while `ss` runs:
 * resolves as soon as `ss` has been started (or was not needed), to `done`,
 * which fills the rows when `ss` has answered.
 * @example const backlogs = await startBacklogs(rows); attachOwners(rows); await backlogs.done;
 */
export async function startBacklogs(rows: SocketRow[]): Promise<{ done: Promise<boolean> }> {
  const listeners = rows.filter((row) => row.state === 'LISTEN' && row.proto !== 'unix' && row.inode > 0);
  if (listeners.length === 0) return { done: Promise.resolve(true) };
  if (!findExecutable('ss')) return { done: Promise.resolve(false) };
  let running: Promise<{ exitCode: number | null; stdout: string }>;
  try {
    const { $ } = await import('zx/core');
    running = $({ quiet: true, nothrow: true })`ss -tlnHe`; // spawned now, read later
  } catch {
    return { done: Promise.resolve(false) };
  }
  const fill = async () => {
    try {
      const result = await running;
      if (result.exitCode !== 0) return false;
      const backlogs = parseSsBacklogs(result.stdout);
      for (const row of listeners) row.sendQ = backlogs.get(row.inode) ?? null;
      return true;
    } catch {
      return false;
    }
  };
  return { done: fill() };
}

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
    row.pid === null ? '-' : `${row.pid}/${row.program ?? '?'}`,
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

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
const tuple = (row: SocketRow) => `${localText(row)} -> ${remoteText(row)}`;
const owner = (row: SocketRow) => (row.pid === null ? 'no process' : `${row.pid}/${row.program}`);
const examples = (rows: SocketRow[], max = 3) =>
  rows.slice(0, max).map(tuple).join(', ') + (rows.length > max ? `, … (${rows.length - max} more)` : '');

/**
 * One plain sentence for each thing in `rows` that matters for the lesson:
 * listeners and their accept queues, server-side sockets no process has
 * accept()ed, clients whose connect() returned anyway, SYN_SENT and SYN_RECV
 * handshakes, TIME_WAIT and CLOSE_WAIT.
 */
export function explain(rows: SocketRow[]): string[] {
  const sentences: string[] = [];
  const tcp = rows.filter((row) => row.proto === 'tcp' || row.proto === 'tcp6');
  const listeners = tcp.filter((row) => row.state === 'LISTEN');
  const listenPorts = new Set(listeners.map((row) => row.localPort));
  const key = (address: string | null, port: number | null) => `${address}|${port}`;
  const byTuple = new Map(tcp.map((row) => [`${key(row.localAddress, row.localPort)}>${key(row.remoteAddress, row.remotePort)}`, row]));
  const peerOf = (row: SocketRow) => byTuple.get(`${key(row.remoteAddress, row.remotePort)}>${key(row.localAddress, row.localPort)}`);

  for (const row of listeners) {
    const where = localText(row);
    const backlog = row.sendQ === null ? '' : `backlog ${row.sendQ}, `;
    const queued = row.recvQ ?? 0;
    if (queued === 0) {
      sentences.push(`${where} is listening (${backlog}held by ${owner(row)}); its accept queue is empty.`);
      continue;
    }
    sentences.push(
      queued === 1
        ? `1 connection finished the handshake and waits in the accept queue of ${where}; no process has accept()ed it.`
        : `${queued} connections finished the handshake and wait in the accept queue of ${where}; no process has accept()ed them.`,
    );
    if (row.sendQ !== null && queued > row.sendQ) {
      sentences.push(
        `The accept queue of ${where} is full (${queued} waiting, backlog ${row.sendQ}: the kernel holds backlog + 1): ` +
          `it drops new SYNs, so further clients wait in SYN_SENT and retry.`,
      );
    }
  }

  const unowned = tcp.filter((row) => row.state === 'ESTABLISHED' && row.pid === null && listenPorts.has(row.localPort));
  const queued = unowned.filter((row) => row.inode === 0);
  const hidden = unowned.filter((row) => row.inode !== 0);
  if (queued.length > 0) {
    sentences.push(
      `${plural(queued.length, 'server-side ESTABLISHED socket has', 'server-side ESTABLISHED sockets have')} no process (PID/Program -): ` +
        `${examples(queued)}; the kernel finished the handshake and holds ${queued.length === 1 ? 'it' : 'them'} in the accept queue, ` +
        `with any bytes the client already sent in Recv-Q, until accept() hands ${queued.length === 1 ? 'it' : 'them'} to the server.`,
    );
  }
  if (hidden.length > 0) {
    sentences.push(
      `${plural(hidden.length, 'ESTABLISHED socket belongs', 'ESTABLISHED sockets belong')} to a process this user may not inspect ` +
        `(${examples(hidden)}); run as root to see the owner.`,
    );
  }
  const waitingClients = tcp.filter((row) => row.state === 'ESTABLISHED' && row.pid !== null && peerOf(row)?.inode === 0);
  if (waitingClients.length > 0) {
    sentences.push(
      `${plural(waitingClients.length, 'client is', 'clients are')} ESTABLISHED (${waitingClients
        .slice(0, 3)
        .map((row) => `${tuple(row)} by ${owner(row)}`)
        .join(', ')}${waitingClients.length > 3 ? ', …' : ''}): connect() returned when the handshake finished, although the server has not accept()ed yet.`,
    );
  }

  const synSent = tcp.filter((row) => row.state === 'SYN_SENT');
  if (synSent.length > 0) {
    sentences.push(
      `${plural(synSent.length, 'connection is', 'connections are')} in SYN_SENT (${examples(synSent)}): the SYN has had no answer yet; ` +
        `a listener whose accept queue is full drops SYNs, and connect() retries (after 1, 3, 7, … s) until it gets in or times out.`,
    );
  }
  const synRecv = tcp.filter((row) => row.state === 'SYN_RECV' || row.state === 'NEW_SYN_RECV');
  if (synRecv.length > 0) {
    sentences.push(
      `${plural(synRecv.length, 'half-open connection is', 'half-open connections are')} in SYN_RECV (${examples(synRecv)}): ` +
        `the server answered the SYN with SYN-ACK and waits for the client's ACK in the SYN queue; then it moves to the accept queue.`,
    );
  }
  const timeWait = tcp.filter((row) => row.state === 'TIME_WAIT');
  if (timeWait.length > 0) {
    sentences.push(
      `${plural(timeWait.length, 'socket is', 'sockets are')} in TIME_WAIT (${examples(timeWait)}): the side that closed first keeps ` +
        `the four-tuple for 60 s (2 x MSL) so late segments of the old connection die out and a lost final ACK can be sent again; no process holds ${timeWait.length === 1 ? 'it' : 'them'}.`,
    );
  }
  const closeWait = tcp.filter((row) => row.state === 'CLOSE_WAIT');
  if (closeWait.length > 0) {
    sentences.push(
      `${plural(closeWait.length, 'socket is', 'sockets are')} in CLOSE_WAIT (${examples(closeWait)}): the peer has closed its side ` +
        `and the local process has not called close() yet.`,
    );
  }
  const closing = tcp.filter((row) => ['FIN_WAIT1', 'FIN_WAIT2', 'LAST_ACK', 'CLOSING'].includes(row.state));
  if (closing.length > 0) {
    sentences.push(
      `${plural(closing.length, 'socket is', 'sockets are')} closing (${closing
        .slice(0, 3)
        .map((row) => `${tuple(row)} ${row.state}`)
        .join(', ')}): FIN sent, waiting for the peer's ACK or FIN.`,
    );
  }
  if (sentences.length === 0) sentences.push('Nothing to explain: no listeners, queued connections, handshakes or closing sockets here.');
  return sentences;
}

/**
 * Takes a flag with an optional value out of argv, which util.parseArgs
 * cannot express: `--watch`, `--watch 2`, `--watch=2`. The token after the
 * flag is its value only when it looks like a number.
 * @example takeOptionalValue(['--watch', '2', '--tcp'], '--watch') // { present: true, value: '2', rest: ['--tcp'] }
 */
export function takeOptionalValue(argv: string[], flag: string): { present: boolean; value?: string; rest: string[] } {
  const rest: string[] = [];
  let present = false;
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (token === flag) {
      present = true;
      const next = argv[i + 1];
      if (next !== undefined && next !== '' && !next.startsWith('-') && !Number.isNaN(Number(next))) {
        value = next;
        i++;
      }
    } else if (token.startsWith(`${flag}=`)) {
      present = true;
      value = token.slice(flag.length + 1);
    } else rest.push(token);
  }
  return { present, value, rest };
}

/**
 * `[` + one JSON object per line + `]`: one document, readable, cheap for
 * 10,000 rows. Each line is exactly `JSON.stringify(row)`; see writeJson.
 */
export function formatJson(rows: SocketRow[]): string {
  const chunks: string[] = [];
  writeJson(rows, (chunk) => chunks.push(chunk));
  return chunks.join('');
}

/**
 * formatJson in pieces of a few hundred rows, handed to `write` as made: a
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
