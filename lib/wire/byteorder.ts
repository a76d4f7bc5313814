// Host byte order and the C `hton*`/`ntoh*` family.
//
// Like C, these swap bytes on a little-endian host and do nothing on a
// big-endian one: `htons(8001) === 0x411f` on x86. Unlike C, they never wrap
// silently: an argument that is not an integer of the right width throws a
// RangeError naming the function and the value.

export type ByteOrder = 'little' | 'big';

/**
 * The host byte order, found the way the lesson's `union { int a; char c; }`
 * does: store a 32-bit 1 and look at the byte at the lowest address.
 * @example hostByteOrder() // 'little' on x86 and arm64
 */
export function hostByteOrder(): ByteOrder {
  const word = new Uint32Array([1]);
  const firstByte = new Uint8Array(word.buffer)[0];
  return firstByte === 1 ? 'little' : 'big';
}

const LITTLE = hostByteOrder() === 'little';

function checkUint(fn: string, value: number, bits: 16 | 32): void {
  const max = bits === 16 ? 0xffff : 0xffffffff;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${fn}(${String(value)}): expected an integer 0-${max} (${bits}-bit unsigned)`);
  }
}

function swap16(value: number): number {
  return ((value & 0xff) << 8) | (value >>> 8);
}

function swap32(value: number): number {
  // >>> 0 keeps the result unsigned, as uint32_t is in C.
  return (
    (((value & 0xff) << 24) | ((value & 0xff00) << 8) | ((value >>> 8) & 0xff00) | (value >>> 24)) >>> 0
  );
}

/** Host to network short: `htons(8001) === 0x411f` on a little-endian host. */
export function htons(hostshort: number): number {
  checkUint('htons', hostshort, 16);
  return LITTLE ? swap16(hostshort) : hostshort;
}

/** Network to host short: the inverse of `htons` (the same swap). */
export function ntohs(netshort: number): number {
  checkUint('ntohs', netshort, 16);
  return LITTLE ? swap16(netshort) : netshort;
}

/** Host to network long (32-bit, unsigned result): `htonl(1) === 0x01000000` here. */
export function htonl(hostlong: number): number {
  checkUint('htonl', hostlong, 32);
  return LITTLE ? swap32(hostlong) : hostlong;
}

/** Network to host long: `ntohl(0x0100007f) === 0x7f000001` here. */
export function ntohl(netlong: number): number {
  checkUint('ntohl', netlong, 32);
  return LITTLE ? swap32(netlong) : netlong;
}

const U64_MAX = (1n << 64n) - 1n;

function swap64(fn: string, value: bigint): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
    throw new RangeError(`${fn}(${String(value)}): expected a bigint 0-${U64_MAX} (64-bit unsigned)`);
  }
  if (!LITTLE) return value;
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, value, true);
  return view.getBigUint64(0, false);
}

/** Host to network, 64-bit (`htobe64`): `htonll(1n) === 0x0100000000000000n` here. */
export function htonll(hostlonglong: bigint): bigint {
  return swap64('htonll', hostlonglong);
}

/** Network to host, 64-bit (`be64toh`). */
export function ntohll(netlonglong: bigint): bigint {
  return swap64('ntohll', netlonglong);
}

/**
 * The bytes of an unsigned integer as this host stores it in memory, as C's
 * `memcpy(buf, &value, size)` would show them.
 * @example hostBytes(0x01020304, 4) // Uint8Array [4, 3, 2, 1] on little-endian
 */
export function hostBytes(value: number, size: 2 | 4): Uint8Array {
  checkUint('hostBytes', value, size === 2 ? 16 : 32);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  if (size === 2) view.setUint16(0, value, LITTLE);
  else view.setUint32(0, value, LITTLE);
  return bytes;
}

/** Bytes as `01 02 03 04`, the way the scripts print memory. */
export function formatBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}
