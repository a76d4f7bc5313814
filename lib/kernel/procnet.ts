// Pure parsers for the kernel's socket tables: /proc/net/{tcp,tcp6,udp,udp6,unix}
// bytes (or text) in, typed rows out. No file access here (lib/sockets.ts
// reads the files).
//
// The kernel prints an IPv4 address as the 32-bit `s_addr` word in *host*
// order: 127.0.0.1 is `0100007F` on x86. `ntohl` turns that word back into the
// number 0x7F000001, whose big-endian bytes inet_ntop() prints. An IPv6
// address is four such words. Ports are plain hex (`1F41` = 8001).
//
// The hot path (10,000+ rows) uses no regular expressions and no string
// splitting: lines and fields are found by scanning the bytes as read, hex
// is decoded from character codes, and decoded addresses are memoised per
// call, since most rows on a busy host share a handful of addresses.
import { AF_INET, AF_INET6, inetNtop } from '../wire/address.ts';
import { ntohl } from '../wire/byteorder.ts';

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
  /** The first (lowest-pid) process holding the socket, as netstat -p shows it. */
  pid: number | null;
  program: string | null;
  /** Every process holding the socket, in pid order, as `ss -p` lists them (forked processes share sockets). */
  owners: Array<{ pid: number; program: string }>;
  /**
   * Seconds left on the socket's active kernel timer (`tr` non-zero, `tm->when`
   * in clock ticks of 1/100 s): the next SYN-ACK of a SYN_RECV row, the end of
   * a TIME_WAIT (a fresh one shows ~60 s), a retransmission or keepalive;
   * null when no timer runs (and for Unix sockets).
   */
  timerSeconds: number | null;
  /** `retrnsmt`: retransmissions by the timer so far (SYN-ACKs re-sent for SYN_RECV); null for Unix. */
  retransmits: number | null;
}

/** Clock ticks per second in /proc (USER_HZ, 100 on every Linux architecture that matters here). */
export const USER_HZ = 100;

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
 * A state as netstat or ss print it, case-insensitive, dashes or
 * underscores (`time-wait`, `ESTAB`, `fin-wait-1`), to the name rows carry;
 * null when it names no state.
 * @example normalizeState('time-wait') // 'TIME_WAIT'
 */
export function normalizeState(text: string): string | null {
  const upper = text.trim().toUpperCase().replaceAll('-', '_');
  const name = STATE_ALIASES[upper] ?? upper;
  return STATE_NAMES.includes(name) ? name : null;
}

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
  const bytes = ASCII.encode(hex);
  const words = bytes.length / 8;
  if (words !== 1 && words !== 4) return null;
  const address = new Uint8Array(words * 4);
  return addressAt(bytes, 0, words, address) ? ntop(address) : null;
}

// Reads `words` host-order hex words at bytes[start...] into `address` in
// network order; false on a non-hex digit. The word is s_addr as the host
// stores it; ntohl gives the address number, whose big-endian bytes we keep.
function addressAt(bytes: Uint8Array, start: number, words: number, address: Uint8Array): boolean {
  const view = new DataView(address.buffer);
  for (let i = 0; i < words; i++) {
    const word = parseHex(bytes, start + i * 8, start + i * 8 + 8);
    if (word < 0) return false;
    view.setUint32(i * 4, ntohl(word), false);
  }
  return true;
}

const ntop = (address: Uint8Array) => inetNtop(address.length === 4 ? AF_INET : AF_INET6, address);

// The tables are ASCII (/proc/net/unix paths may be UTF-8): parsers take the
// bytes as read, and text from tests or callers is encoded once.
const ASCII = new TextEncoder();
const UTF8 = new TextDecoder();
const toBytes = (table: string | Uint8Array) => (typeof table === 'string' ? ASCII.encode(table) : table);

/** Parses `/proc/net/tcp` or `/proc/net/tcp6`, as text or the bytes read. */
export function parseTcp(table: string | Uint8Array, proto: 'tcp' | 'tcp6' = 'tcp'): SocketRow[] {
  return parseInet(toBytes(table), proto, false);
}

/** Parses `/proc/net/udp` or `/proc/net/udp6`, as text or the bytes read. */
export function parseUdp(table: string | Uint8Array, proto: 'udp' | 'udp6' = 'udp'): SocketRow[] {
  return parseInet(toBytes(table), proto, true);
}

/** Parses any of the four inet tables by name, as text or the bytes read. */
export function parseInetTable(table: string | Uint8Array, proto: InetProto): SocketRow[] {
  return parseInet(toBytes(table), proto, proto === 'udp' || proto === 'udp6');
}

// Decoded addresses, memoised per table: most rows on a busy host share a
// handful of addresses. IPv4 is keyed by its word, IPv6 by its four words.
class AddressCache {
  private readonly v4 = new Map<number, string>();
  private readonly v6 = new Map<string, string>();
  private readonly address4 = new Uint8Array(4);
  private readonly address6 = new Uint8Array(16);

  /** The address of the 8 or 32 hex digits in bytes[start, end), or null. */
  decode(bytes: Uint8Array, start: number, end: number): string | null {
    if (end - start === 8) {
      const word = parseHex(bytes, start, end);
      if (word < 0) return null;
      let text = this.v4.get(word);
      if (text === undefined) {
        addressAt(bytes, start, 1, this.address4);
        this.v4.set(word, (text = ntop(this.address4)));
      }
      return text;
    }
    if (end - start !== 32 || !addressAt(bytes, start, 4, this.address6)) return null;
    const key = this.address6.join();
    let text = this.v6.get(key);
    if (text === undefined) this.v6.set(key, (text = ntop(this.address6)));
    return text;
  }
}

// Line: `sl: local rem st tx:rx tr:when retrnsmt uid timeout inode ...`
// (tr: 0 none, 1 retransmit/SYN-ACK, 2 keepalive, 3 TIME_WAIT/FIN_WAIT2, 4 zero-window probe.)
// Fields are found by scanning bytes, not by splitting strings: the only
// strings made are the decoded addresses (memoised) and the state names.
function parseInet(bytes: Uint8Array, proto: InetProto, udp: boolean): SocketRow[] {
  const rows: SocketRow[] = [];
  const addresses = new AddressCache();
  const starts: number[] = [];
  const ends: number[] = [];
  let lineStart = find(bytes, NEWLINE, 0, bytes.length) + 1; // skip the header line
  if (lineStart === 0) return rows;
  while (lineStart < bytes.length) {
    let lineEnd = find(bytes, NEWLINE, lineStart, bytes.length);
    if (lineEnd < 0) lineEnd = bytes.length;
    const count = splitFields(bytes, lineStart, lineEnd, starts, ends, 10);
    const row = count === 10 ? inetRow(bytes, starts, ends, proto, udp, addresses) : null;
    if (row) rows.push(row);
    lineStart = lineEnd + 1;
  }
  return rows;
}

function inetRow(
  bytes: Uint8Array,
  starts: number[],
  ends: number[],
  proto: InetProto,
  udp: boolean,
  addresses: AddressCache,
): SocketRow | null {
  const localColon = find(bytes, COLON, starts[1], ends[1]);
  const remoteColon = find(bytes, COLON, starts[2], ends[2]);
  const queues = find(bytes, COLON, starts[4], ends[4]);
  if (localColon < 0 || remoteColon < 0 || queues < 0) {
    return null;
  }
  const localAddress = addresses.decode(bytes, starts[1], localColon);
  const localPort = parseHex(bytes, localColon + 1, ends[1]);
  const remoteAddress = addresses.decode(bytes, starts[2], remoteColon);
  const remotePort = parseHex(bytes, remoteColon + 1, ends[2]);
  const stateCode = parseHex(bytes, starts[3], ends[3]);
  const tx = parseHex(bytes, starts[4], queues);
  const rx = parseHex(bytes, queues + 1, ends[4]);
  const timerColon = find(bytes, COLON, starts[5], ends[5]);
  const timer = timerColon < 0 ? -1 : parseHex(bytes, starts[5], timerColon);
  const when = timerColon < 0 ? -1 : parseHex(bytes, timerColon + 1, ends[5]);
  const retransmits = parseHex(bytes, starts[6], ends[6]);
  const uid = parseDecimal(bytes, starts[7], ends[7]);
  const inode = parseDecimal(bytes, starts[9], ends[9]);
  if (localAddress === null || remoteAddress === null || stateCode < 0 || tx < 0 || rx < 0 || uid < 0 || inode < 0) return null;
  if (timer < 0 || when < 0 || retransmits < 0) return null;
  if (localPort < 0 || localPort > 0xffff || remotePort < 0 || remotePort > 0xffff) return null;
  const state = udp ? udpStateName(stateCode) : (TCP_STATES[stateCode] ?? `UNKNOWN(${stateCode})`);
  return {
    proto,
    localAddress,
    localPort,
    remoteAddress,
    remotePort,
    state,
    recvQ: rx,
    // A listener's tx_queue is always 0 in /proc; its backlog comes from ss.
    sendQ: state === 'LISTEN' ? null : tx,
    inode,
    uid,
    pid: null,
    program: null,
    owners: [],
    // tr 0: no timer pending (tm->when is then 0, not a time).
    timerSeconds: timer === 0 ? null : when / USER_HZ,
    retransmits,
  };
}

/**
 * Parses `/proc/net/unix`, as text or the bytes read. The file has no
 * queues, no uid and no peer, so those fields are null; the path (if any)
 * goes in `localAddress`, with abstract names starting with `@` as the
 * kernel prints them.
 */
export function parseUnix(table: string | Uint8Array): SocketRow[] {
  const bytes = toBytes(table);
  const rows: SocketRow[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  let lineStart = find(bytes, NEWLINE, 0, bytes.length) + 1;
  if (lineStart === 0) return rows;
  while (lineStart < bytes.length) {
    let lineEnd = find(bytes, NEWLINE, lineStart, bytes.length);
    if (lineEnd < 0) lineEnd = bytes.length;
    // Num RefCount Protocol Flags Type St Inode [Path]
    const count = splitFields(bytes, lineStart, lineEnd, starts, ends, 7);
    if (count === 7) {
      const flags = parseHex(bytes, starts[3], ends[3]);
      const st = parseHex(bytes, starts[5], ends[5]);
      const inode = parseDecimal(bytes, starts[6], ends[6]);
      if (flags >= 0 && st >= 0 && inode >= 0) {
        let pathStart = ends[6];
        while (pathStart < lineEnd && bytes[pathStart] === 32) pathStart++;
        let pathEnd = lineEnd;
        while (pathEnd > pathStart && isBlank(bytes[pathEnd - 1])) pathEnd--;
        rows.push({
          proto: 'unix',
          localAddress: pathEnd > pathStart ? UTF8.decode(bytes.subarray(pathStart, pathEnd)) : null,
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
          owners: [],
          timerSeconds: null,
          retransmits: null,
        });
      }
    }
    lineStart = lineEnd + 1;
  }
  return rows;
}

const NEWLINE = 10;
const COLON = 58;

// The index of `code` in bytes[start, end), or -1. (Buffer#indexOf is a call
// into C++; for the short distances here a loop is several times faster.)
function find(bytes: Uint8Array, code: number, start: number, end: number): number {
  for (let i = start; i < end; i++) if (bytes[i] === code) return i;
  return -1;
}

function isBlank(code: number): boolean {
  return code === 32 || code === 9 || code === 13;
}

// Finds up to `max` blank-separated fields in bytes[start, end); returns how many.
function splitFields(bytes: Uint8Array, start: number, end: number, starts: number[], ends: number[], max: number): number {
  let count = 0;
  let i = start;
  while (count < max) {
    while (i < end && isBlank(bytes[i])) i++;
    if (i >= end) break;
    starts[count] = i;
    while (i < end && !isBlank(bytes[i])) i++;
    ends[count++] = i;
  }
  return count;
}

// Hex digits in bytes[start, end) as a number, or -1 when empty or not hex.
function parseHex(bytes: Uint8Array, start: number, end: number): number {
  if (end <= start || end - start > 13) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    let digit: number;
    if (c >= 48 && c <= 57) digit = c - 48;
    else if (c >= 65 && c <= 70) digit = c - 55;
    else if (c >= 97 && c <= 102) digit = c - 87;
    else return -1;
    value = value * 16 + digit;
  }
  return value;
}

// Decimal digits in bytes[start, end) as a number, or -1.
function parseDecimal(bytes: Uint8Array, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i] - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}
