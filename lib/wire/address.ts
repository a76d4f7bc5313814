// Text <-> binary IP addresses, exactly as glibc does it, read in one place
// (parseAddress: brackets, IPv4-then-IPv6, errors in words), and the address
// constants of <netinet/in.h> and <sys/socket.h> (Linux values).
//
// inetPton/inetNtop follow glibc 2.36's resolv/inet_pton.c and
// resolv/inet_ntop.c step by step; the tests compare them with glibc itself
// (through python3's socket module) on tens of thousands of inputs.

import { explainAddress } from './address-errors.ts';

export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export type Family = typeof AF_INET | typeof AF_INET6;

/** 0.0.0.0, host order: bind to every local address. */
export const INADDR_ANY = 0x00000000;
/** 127.0.0.1, host order. */
export const INADDR_LOOPBACK = 0x7f000001;
/** 255.255.255.255, host order. */
export const INADDR_BROADCAST = 0xffffffff;
/** What the old inet_addr() returns on error: the same bits as the broadcast address. */
export const INADDR_NONE = 0xffffffff;

function decimalDigit(code: number): number {
  return code >= 48 && code <= 57 ? code - 48 : -1;
}

function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
}

// glibc inet_pton4: four decimal parts 0-255, no leading zeros, nothing else.
function pton4(text: string, start: number, out: Uint8Array, at: number): boolean {
  let sawDigit = false;
  let octets = 0;
  let part = 0;
  const parts = [0, 0, 0, 0];
  for (let i = start; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const digit = decimalDigit(code);
    if (digit >= 0) {
      if (sawDigit && parts[part] === 0) return false; // leading zero
      const value = parts[part] * 10 + digit;
      if (value > 255) return false;
      parts[part] = value;
      if (!sawDigit) {
        if (++octets > 4) return false;
        sawDigit = true;
      }
    } else if (code === 46 /* . */ && sawDigit) {
      if (octets === 4) return false;
      part++;
      sawDigit = false;
    } else {
      return false;
    }
  }
  if (octets < 4) return false;
  out.set(parts, at);
  return true;
}

// glibc inet_pton6: up to eight groups of 1-4 hex digits, at most one `::`,
// an optional dotted IPv4 tail.
function pton6(text: string): Uint8Array | null {
  const end = text.length;
  if (end === 0) return null;
  const out = new Uint8Array(16);
  let src = 0;
  if (text.charCodeAt(0) === 58 /* : */) {
    if (++src === end || text.charCodeAt(src) !== 58) return null; // a lone leading ':'
  }
  let tp = 0;
  let colonp = -1;
  let curtok = src;
  let xdigitsSeen = 0;
  let value = 0;
  while (src < end) {
    const code = text.charCodeAt(src++);
    const digit = hexDigit(code);
    if (digit >= 0) {
      if (xdigitsSeen === 4) return null;
      value = (value << 4) | digit;
      xdigitsSeen++;
      continue;
    }
    if (code === 58 /* : */) {
      curtok = src;
      if (xdigitsSeen === 0) {
        if (colonp >= 0) return null; // a second '::'
        colonp = tp;
        continue;
      } else if (src === end) {
        return null; // a trailing single ':'
      }
      if (tp + 2 > 16) return null;
      out[tp++] = value >> 8;
      out[tp++] = value & 0xff;
      xdigitsSeen = 0;
      value = 0;
      continue;
    }
    if (code === 46 /* . */ && tp + 4 <= 16 && pton4(text, curtok, out, tp)) {
      tp += 4;
      xdigitsSeen = 0;
      break;
    }
    return null;
  }
  if (xdigitsSeen > 0) {
    if (tp + 2 > 16) return null;
    out[tp++] = value >> 8;
    out[tp++] = value & 0xff;
  }
  if (colonp >= 0) {
    if (tp === 16) return null; // '::' would stand for no group at all
    const moved = tp - colonp;
    out.copyWithin(16 - moved, colonp, tp);
    out.fill(0, colonp, 16 - moved);
    tp = 16;
  }
  return tp === 16 ? out : null;
}

/**
 * `inet_pton(3)`: text to address bytes in network order (4 or 16 bytes),
 * or null exactly where glibc rejects the text (leading zeros in IPv4,
 * spaces, zone ids such as `%eth0`, nine groups, two `::`, ...).
 * @example inetPton(AF_INET, '192.168.10.128') // Uint8Array [192, 168, 10, 128]
 */
export function inetPton(family: Family, text: string): Uint8Array | null {
  if (typeof text !== 'string') return null;
  if (family === AF_INET) {
    const out = new Uint8Array(4);
    return pton4(text, 0, out, 0) ? out : null;
  }
  if (family === AF_INET6) return pton6(text);
  throw new RangeError(`inetPton: unsupported address family ${family} (use AF_INET or AF_INET6)`);
}

function ntop4(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

function ntop6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i] << 8) | bytes[i + 1]);
  // The longest run of zero words, the first on a tie, if it is 2 or longer.
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && words[i] === 0) {
      if (curBase === -1) (curBase = i), (curLen = 1);
      else curLen++;
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) (bestBase = curBase), (bestLen = curLen);
      curBase = -1;
    }
  }
  if (bestLen < 2) bestBase = -1;
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) text += ':';
      continue;
    }
    if (i !== 0) text += ':';
    // IPv4-compatible (::a.b.c.d, only when words 0-5 are the zero run) or
    // IPv4-mapped (::ffff:a.b.c.d): glibc prints the last 32 bits dotted.
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      return text + ntop4(bytes, 12);
    }
    text += words[i].toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) text += ':';
  return text;
}

/**
 * `inet_ntop(3)`: address bytes (network order) to the text glibc prints.
 * Throws a RangeError when the byte count does not match the family.
 * @example inetNtop(AF_INET6, inetPton(AF_INET6, '2001:DB8:0:0:0:0:0:1')!) // '2001:db8::1'
 */
export function inetNtop(family: Family, bytes: Uint8Array): string {
  const want = family === AF_INET ? 4 : family === AF_INET6 ? 16 : 0;
  if (want === 0) {
    throw new RangeError(`inetNtop: unsupported address family ${family} (use AF_INET or AF_INET6)`);
  }
  if (!(bytes instanceof Uint8Array) || bytes.length !== want) {
    const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes;
    throw new RangeError(`inetNtop: ${family === AF_INET ? 'AF_INET' : 'AF_INET6'} needs ${want} bytes, got ${got}`);
  }
  return family === AF_INET ? ntop4(bytes, 0) : ntop6(bytes);
}

function isCSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13); // isspace() in the C locale
}

/**
 * glibc's classic `inet_aton(3)`: one to four parts, each decimal, octal
 * (`017`) or hex (`0x7f`); the last part fills the remaining bytes, so `127.1`
 * and `0x7f.1` are 127.0.0.1 and `4294967295` is 255.255.255.255. Like
 * glibc, it stops at the first whitespace (`1.2.3.4 junk` is accepted).
 * Returns the 4 bytes in network order, or null (also for any text holding
 * a NUL character).
 *
 * Scripts never take a host through this function. Forms like these are
 * surprising: the `ip` npm package judged `0x7f.1` not to be a loopback
 * address while the system connected to 127.0.0.1 (CVE-2023-42282). Scripts
 * take a numeric address checked by `inetPton`, or a name for the system
 * resolver (`dns.lookup`, as `getaddrinfo` would).
 * @example inetAton('0x7f.1') // Uint8Array [127, 0, 0, 1]
 */
export function inetAton(text: string): Uint8Array | null {
  // A NUL would end a C string early (`1.2.3.4 \0x` is "1.2.3.4 " to glibc);
  // a JS string is not a C string, so refuse it, as python3's socket does.
  if (typeof text !== 'string' || text.includes('\0')) return null;
  const parts: number[] = [];
  let i = 0;
  let value = 0;
  for (;;) {
    if (decimalDigit(text.charCodeAt(i)) < 0) return null;
    // strtoul(cp, &end, 0): 0x = hex, leading 0 = octal, else decimal.
    let base = 10;
    if (text.charCodeAt(i) === 48 /* 0 */) {
      const next = text.charCodeAt(i + 1) | 0x20;
      base = next === 120 /* x */ && hexDigit(text.charCodeAt(i + 2)) >= 0 ? 16 : 8;
      if (base === 16) i += 2;
    }
    value = 0;
    for (;;) {
      const code = text.charCodeAt(i);
      const digit = base === 16 ? hexDigit(code) : decimalDigit(code);
      if (digit < 0 || digit >= base) break;
      value = value * base + digit;
      if (value > 0xffffffff) return null; // ERANGE or past 32 bits
      i++;
    }
    if (text.charCodeAt(i) !== 46 /* . */) break;
    if (parts.length > 2 || value > 0xff) return null;
    parts.push(value);
    i++;
  }
  if (i < text.length && !isCSpace(text.charCodeAt(i))) return null;
  const maxLast = [0xffffffff, 0xffffff, 0xffff, 0xff][parts.length];
  if (value > maxLast) return null;
  const out = new Uint8Array(4);
  out.set(parts);
  const view = new DataView(out.buffer);
  view.setUint32(0, view.getUint32(0) | value);
  return out;
}

/** A numeric address as it was read: its family, its bytes and its text. */
export interface ParsedAddress {
  family: Family;
  bytes: Uint8Array;
  /** The address without brackets, as typed (`::1` for `[::1]`). */
  address: string;
}

/** The words for a text that is no address at all (a name, nothing). */
export const NOT_AN_ADDRESS = 'not an IPv4 or IPv6 address';

/** Why a text is not an address: `{ error }` says what is wrong and where. */
export interface AddressError {
  error: string;
}

/**
 * The one bracket rule: `[::1]` -> `::1` (bracketed), anything else as it is.
 * @example stripBrackets('[::1]') // { inner: '::1', bracketed: true }
 */
export function stripBrackets(text: string): { inner: string; bracketed: boolean } {
  const bracketed = text.length >= 2 && text.startsWith('[') && text.endsWith(']');
  return { inner: bracketed ? text.slice(1, -1) : text, bracketed };
}

/**
 * The one way every script reads a numeric address: exactly what
 * inet_pton(AF_INET) or, failing that, inet_pton(AF_INET6) accepts (no
 * `127.1`, no zone id), with the IPv6 form allowed in brackets (`[::1]`).
 * A refusal says what is wrong and where (lib/wire/address-errors.ts).
 * @example parseAddress('192.168.1.01') // { error: 'IPv4 field has octet with leading zero (field 4, "01")' }
 */
export function parseAddress(text: string): ParsedAddress | AddressError {
  const { inner, bracketed } = stripBrackets(text);
  let family: Family = AF_INET;
  let bytes = inetPton(AF_INET, inner);
  if (!bytes) (family = AF_INET6), (bytes = inetPton(AF_INET6, inner));
  if (bytes) {
    if (bracketed && family === AF_INET) return { error: 'brackets go around IPv6 addresses only' };
    return { family, bytes, address: inner };
  }
  const why = explainAddress(inner, bracketed ? 1 : 0);
  return { error: why ?? NOT_AN_ADDRESS };
}

/**
 * The IPv4 address an IPv4-mapped IPv6 address carries (`::ffff:a.b.c.d`,
 * what a dual-stack `::` listener sees for an IPv4 peer), else null.
 * @example unmapIPv4(inetPton(AF_INET6, '::ffff:127.0.0.1')!) // Uint8Array [127, 0, 0, 1]
 */
export function unmapIPv4(bytes: Uint8Array): Uint8Array | null {
  if (bytes.length !== 16) return null;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return null;
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return null;
  return bytes.subarray(12);
}

/**
 * The address family a numeric address text belongs to (no brackets), or
 * null when it is not one (a name, a typo).
 * @example addressFamily('::1') // AF_INET6
 */
export function addressFamily(text: string): Family | null {
  if (stripBrackets(text).bracketed) return null;
  const parsed = parseAddress(text);
  return 'error' in parsed ? null : parsed.family;
}

/**
 * `HOST:PORT`, with IPv6 addresses in brackets as URLs and `ss` write them.
 * @example formatEndpoint('::1', 8001) // '[::1]:8001'
 */
export function formatEndpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Splits `192.168.10.128:8001` or `[::1]:8001` into address and port text,
 * or returns null when the text has no port.
 */
export function splitEndpoint(text: string): { address: string; port: string } | null {
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(text);
  if (bracketed) return { address: bracketed[1], port: bracketed[2] };
  const plain = /^([^:[\]]*):([^:]*)$/.exec(text);
  return plain ? { address: plain[1], port: plain[2] } : null;
}
