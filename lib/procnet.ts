// Pure parsers for the kernel's socket tables: /proc/net/{tcp,tcp6,udp,udp6,unix}
// text in, typed rows out. No file access here (lib/sockets.ts reads the files).
//
// The kernel prints an IPv4 address as the 32-bit `s_addr` word in *host*
// order: 127.0.0.1 is `0100007F` on x86. `ntohl` turns that word back into the
// number 0x7F000001, whose big-endian bytes inet_ntop() prints. An IPv6
// address is four such words. Ports are plain hex (`1F41` = 8001).
//
// The hot path (10,000+ rows) uses no regular expressions: lines and fields
// are found with indexOf/charCodeAt, and decoded addresses are memoised per
// call, since most rows on a busy host share a handful of addresses.
import { AF_INET, AF_INET6, inetNtop } from './address.ts';
import { ntohl } from './byteorder.ts';

/** Where a row came from; also the `proto` field of `netstat --json`. */
export type Proto = 'tcp' | 'tcp6' | 'udp' | 'udp6' | 'unix';
export type InetProto = Exclude<Proto, 'unix'>;

/** One socket, with exactly the fields `netstat --json` prints. */
export interface SocketRow {
  proto: Proto;
  /** Numeric address, or the path of a Unix socket (null when unnamed). */
  localAddress: string | null;
  localPort: number | null;
  remoteAddress: string | null;
  remotePort: number | null;
  /** State as netstat/ss name it: `LISTEN`, `ESTABLISHED`, `UNCONN`, ... */
  state: string;
  /** Bytes received and not yet read; for a listener, connections waiting for accept(). */
  recvQ: number | null;
  /** Bytes not yet acknowledged; for a listener its backlog (not in /proc: null until filled from ss). */
  sendQ: number | null;
  /** Socket inode; 0 for sockets no file descriptor refers to (queued, TIME_WAIT, SYN_RECV). */
  inode: number;
  uid: number | null;
  pid: number | null;
  program: string | null;
}

/**
 * TCP states by the kernel's number (include/net/tcp_states.h), named as
 * netstat prints them; `ss` uses the same states with dashes (`TIME-WAIT`).
 */
export const TCP_STATES: readonly string[] = [
  'UNKNOWN',
  'ESTABLISHED', // 01
  'SYN_SENT', // 02
  'SYN_RECV', // 03
  'FIN_WAIT1', // 04
  'FIN_WAIT2', // 05
  'TIME_WAIT', // 06
  'CLOSE', // 07
  'CLOSE_WAIT', // 08
  'LAST_ACK', // 09
  'LISTEN', // 0A
  'CLOSING', // 0B
  'NEW_SYN_RECV', // 0C
];

/**
 * UDP sockets reuse the TCP numbers: 07 (TCP_CLOSE) is an unconnected socket,
 * 01 one that called connect(). We print `UNCONN` (as `ss` does; netstat leaves
 * the column blank) and `ESTABLISHED` (as netstat does; `ss` says `ESTAB`).
 */
export function udpStateName(code: number): string {
  if (code === 7) return 'UNCONN';
  return TCP_STATES[code] ?? `UNKNOWN(${code})`;
}

/** Every state name a row can carry, for `--state` validation. */
export const STATE_NAMES: readonly string[] = [...TCP_STATES.slice(1), 'UNCONN', 'DISCONNECTING'];

// Flags and states of /proc/net/unix (include/linux/net.h).
const SO_ACCEPTCON = 0x10000;
const UNIX_STATES: Record<number, string> = {
  1: 'UNCONN', // SS_UNCONNECTED
  2: 'SYN_SENT', // SS_CONNECTING
  3: 'ESTABLISHED', // SS_CONNECTED
  4: 'DISCONNECTING', // SS_DISCONNECTING
};

/**
 * Decodes the kernel's hex address text into the text `inet_ntop` prints.
 * `0100007F` -> `127.0.0.1`; `00000000000000000000000001000000` -> `::1`.
 * Returns null when the text is not 8 or 32 hex digits.
 */
export function decodeProcAddress(hex: string): string | null {
  const words = hex.length / 8;
  if (words !== 1 && words !== 4) return null;
  const bytes = new Uint8Array(hex.length / 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < words; i++) {
    const word = parseHex(hex, i * 8, i * 8 + 8);
    if (word < 0) return null;
    // The word is s_addr as the host stores it; ntohl gives the address number.
    view.setUint32(i * 4, ntohl(word), false);
  }
  return inetNtop(words === 1 ? AF_INET : AF_INET6, bytes);
}

/** Parses `/proc/net/tcp` or `/proc/net/tcp6` text. */
export function parseTcp(text: string, proto: 'tcp' | 'tcp6' = 'tcp'): SocketRow[] {
  return parseInet(text, proto, false);
}

/** Parses `/proc/net/udp` or `/proc/net/udp6` text. */
export function parseUdp(text: string, proto: 'udp' | 'udp6' = 'udp'): SocketRow[] {
  return parseInet(text, proto, true);
}

/** Parses any of the four inet tables by name. */
export function parseInetTable(text: string, proto: InetProto): SocketRow[] {
  return parseInet(text, proto, proto === 'udp' || proto === 'udp6');
}

// Fields of one line, found without allocating more than the strings we keep.
// Line: `sl: local rem st tx:rx tr:when retrnsmt uid timeout inode ...`
function parseInet(text: string, proto: InetProto, udp: boolean): SocketRow[] {
  const rows: SocketRow[] = [];
  const addresses = new Map<string, string | null>();
  const decode = (hex: string) => {
    let text = addresses.get(hex);
    if (text === undefined) addresses.set(hex, (text = decodeProcAddress(hex)));
    return text;
  };
  const starts: number[] = [];
  const ends: number[] = [];
  let lineStart = text.indexOf('\n') + 1; // skip the header line
  if (lineStart === 0) return rows;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    const count = splitFields(text, lineStart, lineEnd, starts, ends, 10);
    const row = count === 10 ? inetRow(text, starts, ends, proto, udp, decode) : null;
    if (row) rows.push(row);
    lineStart = lineEnd + 1;
  }
  return rows;
}

function inetRow(
  text: string,
  starts: number[],
  ends: number[],
  proto: InetProto,
  udp: boolean,
  decode: (hex: string) => string | null,
): SocketRow | null {
  const local = endpoint(text, starts[1], ends[1], decode);
  const remote = endpoint(text, starts[2], ends[2], decode);
  const stateCode = parseHex(text, starts[3], ends[3]);
  const queues = text.indexOf(':', starts[4]);
  if (!local || !remote || stateCode < 0 || queues < 0 || queues > ends[4]) return null;
  const tx = parseHex(text, starts[4], queues);
  const rx = parseHex(text, queues + 1, ends[4]);
  const uid = parseDecimal(text, starts[7], ends[7]);
  const inode = parseDecimal(text, starts[9], ends[9]);
  if (tx < 0 || rx < 0 || uid < 0 || inode < 0) return null;
  const state = udp ? udpStateName(stateCode) : (TCP_STATES[stateCode] ?? `UNKNOWN(${stateCode})`);
  return {
    proto,
    localAddress: local.address,
    localPort: local.port,
    remoteAddress: remote.address,
    remotePort: remote.port,
    state,
    recvQ: rx,
    // A listener's tx_queue is always 0 in /proc; its backlog comes from ss.
    sendQ: state === 'LISTEN' ? null : tx,
    inode,
    uid,
    pid: null,
    program: null,
  };
}

function endpoint(
  text: string,
  start: number,
  end: number,
  decode: (hex: string) => string | null,
): { address: string; port: number } | null {
  const colon = text.indexOf(':', start);
  if (colon < 0 || colon >= end) return null;
  const address = decode(text.slice(start, colon));
  const port = parseHex(text, colon + 1, end);
  if (address === null || port < 0 || port > 0xffff) return null;
  return { address, port };
}

/**
 * Parses `/proc/net/unix` text. The file has no queues, no uid and no peer,
 * so those fields are null; the path (if any) goes in `localAddress`, with
 * abstract names starting with `@` as the kernel prints them.
 */
export function parseUnix(text: string): SocketRow[] {
  const rows: SocketRow[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  let lineStart = text.indexOf('\n') + 1;
  if (lineStart === 0) return rows;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    // Num RefCount Protocol Flags Type St Inode [Path]
    const count = splitFields(text, lineStart, lineEnd, starts, ends, 7);
    if (count === 7) {
      const flags = parseHex(text, starts[3], ends[3]);
      const st = parseHex(text, starts[5], ends[5]);
      const inode = parseDecimal(text, starts[6], ends[6]);
      if (flags >= 0 && st >= 0 && inode >= 0) {
        let pathStart = ends[6];
        while (pathStart < lineEnd && text.charCodeAt(pathStart) === 32) pathStart++;
        let pathEnd = lineEnd;
        while (pathEnd > pathStart && isBlank(text.charCodeAt(pathEnd - 1))) pathEnd--;
        rows.push({
          proto: 'unix',
          localAddress: pathEnd > pathStart ? text.slice(pathStart, pathEnd) : null,
          localPort: null,
          remoteAddress: null,
          remotePort: null,
          state: flags & SO_ACCEPTCON ? 'LISTEN' : (UNIX_STATES[st] ?? `UNKNOWN(${st})`),
          recvQ: null,
          sendQ: null,
          inode,
          uid: null,
          pid: null,
          program: null,
        });
      }
    }
    lineStart = lineEnd + 1;
  }
  return rows;
}

function isBlank(code: number): boolean {
  return code === 32 || code === 9 || code === 13;
}

// Finds up to `max` blank-separated fields in text[start, end); returns how many.
function splitFields(text: string, start: number, end: number, starts: number[], ends: number[], max: number): number {
  let count = 0;
  let i = start;
  while (count < max) {
    while (i < end && isBlank(text.charCodeAt(i))) i++;
    if (i >= end) break;
    starts[count] = i;
    while (i < end && !isBlank(text.charCodeAt(i))) i++;
    ends[count++] = i;
  }
  return count;
}

// Hex digits in text[start, end) as a number, or -1 when empty or not hex.
function parseHex(text: string, start: number, end: number): number {
  if (end <= start || end - start > 13) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    let digit: number;
    if (c >= 48 && c <= 57) digit = c - 48;
    else if (c >= 65 && c <= 70) digit = c - 55;
    else if (c >= 97 && c <= 102) digit = c - 87;
    else return -1;
    value = value * 16 + digit;
  }
  return value;
}

// Decimal digits in text[start, end) as a number, or -1.
function parseDecimal(text: string, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}
