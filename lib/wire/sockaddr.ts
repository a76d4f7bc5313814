// Linux `struct sockaddr_in` and `struct sockaddr_in6`, byte for byte, as a
// C program fills them before bind() or connect():
//
//   struct sockaddr_in  {            struct sockaddr_in6 {
//     sa_family_t    sin_family;       sa_family_t     sin6_family;    host order
//     in_port_t      sin_port;         in_port_t       sin6_port;      network order
//     struct in_addr sin_addr;         uint32_t        sin6_flowinfo;  network order
//     unsigned char  sin_zero[8];      struct in6_addr sin6_addr;
//   };              16 bytes           uint32_t        sin6_scope_id;  host order
//                                    };                28 bytes
//
// sa_family_t is a host-order unsigned short, so AF_INET is `02 00` on a
// little-endian host; the port and address are in network order.
import { AF_INET, AF_INET6, inetNtop, inetPton } from './address.ts';
import { formatBytes, hostByteOrder } from './byteorder.ts';

export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;

/** A decoded `struct sockaddr_in`. */
export interface SockaddrIn {
  family: typeof AF_INET;
  port: number;
  /** Dotted text, as inet_ntop prints it. */
  address: string;
}

/** A decoded `struct sockaddr_in6`. */
export interface SockaddrIn6 {
  family: typeof AF_INET6;
  port: number;
  /** Text as inet_ntop prints it. */
  address: string;
  /** sin6_flowinfo as a number (stored in network order). */
  flowinfo: number;
  /** sin6_scope_id, the interface index (stored in host order). */
  scopeId: number;
}

export type Sockaddr = SockaddrIn | SockaddrIn6;

/** One field of an encoded sockaddr: where it sits and what it means. */
export interface SockaddrField {
  /** The C field name, e.g. `sin_port`. */
  name: string;
  offset: number;
  size: number;
  /** The field's bytes as `1f 41`. */
  bytes: string;
  /** What the bytes mean, e.g. `AF_INET (2)`, `8001`, `192.168.10.128`. */
  value: string;
  /** How the field is stored, e.g. `network order (htons(8001))`. */
  note: string;
}

const LITTLE = hostByteOrder() === 'little';

function checkPort(fn: string, port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`${fn}: port ${String(port)}: expected an integer 0-65535`);
  }
}

function checkUint32(fn: string, what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`${fn}: ${what} ${String(value)}: expected an integer 0-4294967295`);
  }
}

function addressBytes(fn: string, family: typeof AF_INET | typeof AF_INET6, address: string | Uint8Array): Uint8Array {
  const size = family === AF_INET ? 4 : 16;
  const kind = family === AF_INET ? 'IPv4' : 'IPv6';
  if (address instanceof Uint8Array) {
    if (address.length !== size) throw new RangeError(`${fn}: an ${kind} address is ${size} bytes, got ${address.length}`);
    return address;
  }
  const bytes = inetPton(family, address);
  if (!bytes) throw new RangeError(`${fn}: ${JSON.stringify(address)} is not an ${kind} address`);
  return bytes;
}

/**
 * Fills a `struct sockaddr_in` (16 bytes) as C does before bind():
 * `sin_family = AF_INET; sin_port = htons(port); inet_pton(AF_INET, address, &sin_addr)`.
 * @example formatBytes(encodeSockaddrIn('192.168.10.128', 8001))
 * // '02 00 1f 41 c0 a8 0a 80 00 00 00 00 00 00 00 00' on a little-endian host
 */
export function encodeSockaddrIn(address: string | Uint8Array, port: number): Uint8Array {
  checkPort('encodeSockaddrIn', port);
  const addr = addressBytes('encodeSockaddrIn', AF_INET, address);
  const bytes = new Uint8Array(SOCKADDR_IN_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, AF_INET, LITTLE);
  view.setUint16(2, port, false);
  bytes.set(addr, 4);
  return bytes;
}

/**
 * Fills a `struct sockaddr_in6` (28 bytes).
 * @example encodeSockaddrIn6('::1', 8001).length // 28
 */
export function encodeSockaddrIn6(
  address: string | Uint8Array,
  port: number,
  { flowinfo = 0, scopeId = 0 }: { flowinfo?: number; scopeId?: number } = {},
): Uint8Array {
  checkPort('encodeSockaddrIn6', port);
  checkUint32('encodeSockaddrIn6', 'flowinfo', flowinfo);
  checkUint32('encodeSockaddrIn6', 'scope id', scopeId);
  const addr = addressBytes('encodeSockaddrIn6', AF_INET6, address);
  const bytes = new Uint8Array(SOCKADDR_IN6_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, AF_INET6, LITTLE);
  view.setUint16(2, port, false);
  view.setUint32(4, flowinfo, false);
  bytes.set(addr, 8);
  view.setUint32(24, scopeId, LITTLE);
  return bytes;
}

/**
 * Encodes either structure from its decoded form.
 * @example encodeSockaddr({ family: AF_INET, port: 80, address: '127.0.0.1' }).length // 16
 */
export function encodeSockaddr(sockaddr: Sockaddr): Uint8Array {
  if (sockaddr.family === AF_INET) return encodeSockaddrIn(sockaddr.address, sockaddr.port);
  if (sockaddr.family === AF_INET6) return encodeSockaddrIn6(sockaddr.address, sockaddr.port, sockaddr);
  throw new RangeError(`encodeSockaddr: unsupported family ${String((sockaddr as { family: unknown }).family)}`);
}

function familyName(family: number): string {
  return family === AF_INET ? 'AF_INET' : family === AF_INET6 ? 'AF_INET6' : 'unknown';
}

function readFamily(fn: string, bytes: Uint8Array): number {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${fn}: expected a Uint8Array, got ${typeof bytes}`);
  if (bytes.length < 2) throw new RangeError(`${fn}: ${bytes.length} bytes is too short for a sockaddr (no family field)`);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(0, LITTLE);
}

function expect(fn: string, bytes: Uint8Array, family: number, size: number, struct: string, field: string): DataView {
  const got = readFamily(fn, bytes);
  if (bytes.length !== size) {
    throw new RangeError(`${fn}: struct ${struct} is ${size} bytes, got ${bytes.length}`);
  }
  if (got !== family) {
    throw new RangeError(`${fn}: ${field} is ${got} (${familyName(got)}), expected ${family} (${familyName(family)})`);
  }
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Reads a 16-byte `struct sockaddr_in`. Throws a RangeError on a wrong length
 * or a family other than AF_INET. Like the kernel, it ignores `sin_zero`.
 * @example decodeSockaddrIn(encodeSockaddrIn('127.0.0.1', 8001)) // { family: 2, port: 8001, address: '127.0.0.1' }
 */
export function decodeSockaddrIn(bytes: Uint8Array): SockaddrIn {
  const view = expect('decodeSockaddrIn', bytes, AF_INET, SOCKADDR_IN_SIZE, 'sockaddr_in', 'sin_family');
  return { family: AF_INET, port: view.getUint16(2, false), address: inetNtop(AF_INET, bytes.slice(4, 8)) };
}

/**
 * Reads a 28-byte `struct sockaddr_in6`. Throws a RangeError on a wrong
 * length or a family other than AF_INET6.
 * @example decodeSockaddrIn6(encodeSockaddrIn6('::1', 8001)).address // '::1'
 */
export function decodeSockaddrIn6(bytes: Uint8Array): SockaddrIn6 {
  const view = expect('decodeSockaddrIn6', bytes, AF_INET6, SOCKADDR_IN6_SIZE, 'sockaddr_in6', 'sin6_family');
  return {
    family: AF_INET6,
    port: view.getUint16(2, false),
    flowinfo: view.getUint32(4, false),
    address: inetNtop(AF_INET6, bytes.slice(8, 24)),
    scopeId: view.getUint32(24, LITTLE),
  };
}

/**
 * Reads either structure, choosing by its family field (as the kernel reads
 * a `struct sockaddr *`). Throws a RangeError on an unknown family or a
 * length that does not match it.
 * @example decodeSockaddr(encodeSockaddrIn6('::1', 80)).family // AF_INET6
 */
export function decodeSockaddr(bytes: Uint8Array): Sockaddr {
  const family = readFamily('decodeSockaddr', bytes);
  if (family === AF_INET) return decodeSockaddrIn(bytes);
  if (family === AF_INET6) return decodeSockaddrIn6(bytes);
  throw new RangeError(
    `decodeSockaddr: family ${family} is neither AF_INET (${AF_INET}) nor AF_INET6 (${AF_INET6})`,
  );
}

/**
 * The fields of an encoded sockaddr with their byte ranges, for showing a
 * structure field by field (what `hton 192.168.10.128:8001` prints).
 * Validates like decodeSockaddr.
 * @example sockaddrFields(encodeSockaddrIn('192.168.10.128', 8001))[1]
 * // { name: 'sin_port', offset: 2, size: 2, bytes: '1f 41', value: '8001', note: 'network order, htons(8001)' }
 */
export function sockaddrFields(bytes: Uint8Array): SockaddrField[] {
  const decoded = decodeSockaddr(bytes);
  const order = `host order, ${LITTLE ? 'little' : 'big'}-endian`;
  const field = (name: string, offset: number, size: number, value: string, note: string): SockaddrField => ({
    name,
    offset,
    size,
    bytes: formatBytes(bytes.subarray(offset, offset + size)),
    value,
    note,
  });
  if (decoded.family === AF_INET) {
    return [
      field('sin_family', 0, 2, `AF_INET (${AF_INET})`, order),
      field('sin_port', 2, 2, String(decoded.port), `network order, htons(${decoded.port})`),
      field('sin_addr', 4, 4, decoded.address, 'network order, inet_pton(AF_INET)'),
      field('sin_zero', 8, 8, 'padding', 'zero-filled'),
    ];
  }
  return [
    field('sin6_family', 0, 2, `AF_INET6 (${AF_INET6})`, order),
    field('sin6_port', 2, 2, String(decoded.port), `network order, htons(${decoded.port})`),
    field('sin6_flowinfo', 4, 4, String(decoded.flowinfo), 'network order'),
    field('sin6_addr', 8, 16, decoded.address, 'network order, inet_pton(AF_INET6)'),
    field('sin6_scope_id', 24, 4, String(decoded.scopeId), `${order}, interface index`),
  ];
}
