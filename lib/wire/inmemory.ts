// What `hton` shows for one argument, as a C program on this host holds it in
// memory: a number before and after htons()/htonl(), an address's inet_pton()
// bytes (and s_addr as a uint32_t), an endpoint's struct sockaddr_in or
// sockaddr_in6 field by field; the record (its --json) and its text lines.
// Pure: the port rule is passed in (lib/cli.ts's parsePort, a layer above).
import { UsageError } from '../errors.ts';
import { AF_INET, AF_INET6, NOT_AN_ADDRESS, inetAton, inetNtop, parseAddress, splitEndpoint } from './address.ts';
import { formatBytes, hostByteOrder, hostBytes, htonl, htons } from './byteorder.ts';
import { encodeSockaddrIn, encodeSockaddrIn6, sockaddrFields, type SockaddrField } from './sockaddr.ts';

/** What an argument may be, the tail of every refusal. */
export const ACCEPTED =
  'expected a number 0-4294967295 (8001, 0x1f41), an IPv4 or IPv6 address (192.168.10.128, ::1) ' +
  'or an endpoint (192.168.10.128:8001, [::1]:8001)';

const hex = (value: number, digits: number) => '0x' + value.toString(16).padStart(digits, '0');

export interface Swapped {
  value: number;
  hex: string;
  /** The bytes of the swapped value in memory: the network order. */
  bytes: string;
}

export type InMemory =
  | {
      input: string;
      kind: 'number';
      value: number;
      hex: string;
      hostBytes: { uint16: string | null; uint32: string };
      htons: Swapped | null;
      htonl: Swapped;
    }
  | {
      input: string;
      kind: 'address';
      family: 'AF_INET' | 'AF_INET6';
      address: string;
      bytes: string;
      sAddr?: { value: number; hex: string };
    }
  | {
      input: string;
      kind: 'endpoint';
      struct: 'sockaddr_in' | 'sockaddr_in6';
      size: number;
      address: string;
      port: number;
      bytes: string;
      fields: SockaddrField[];
    };

/** A number 0-4294967295: htons when it fits 16 bits, htonl always. */
export function describeNumber(input: string, value: number): InMemory {
  const fits16 = value <= 0xffff;
  const n = htonl(value);
  return {
    input,
    kind: 'number',
    value,
    hex: hex(value, fits16 ? 4 : 8),
    hostBytes: { uint16: fits16 ? formatBytes(hostBytes(value, 2)) : null, uint32: formatBytes(hostBytes(value, 4)) },
    htons: fits16
      ? { value: htons(value), hex: hex(htons(value), 4), bytes: formatBytes(hostBytes(htons(value), 2)) }
      : null,
    htonl: { value: n, hex: hex(n, 8), bytes: formatBytes(hostBytes(n, 4)) },
  };
}

/** inet_pton()'s bytes; for IPv4 also s_addr, those bytes read as a uint32_t on this host. */
export function describeAddress(input: string, family: typeof AF_INET | typeof AF_INET6, bytes: Uint8Array): InMemory {
  const result: InMemory = {
    input,
    kind: 'address',
    family: family === AF_INET ? 'AF_INET' : 'AF_INET6',
    address: inetNtop(family, bytes),
    bytes: formatBytes(bytes),
  };
  if (family === AF_INET) {
    // s_addr is a uint32_t holding the network-order bytes: read them in host order.
    const sAddr = new DataView(bytes.buffer).getUint32(0, hostByteOrder() === 'little');
    result.sAddr = { value: sAddr, hex: hex(sAddr, 8) };
  }
  return result;
}

/** The struct sockaddr_in (IPv4) or sockaddr_in6 (IPv6) a C program fills for address and port. */
export function describeEndpoint(input: string, family: typeof AF_INET | typeof AF_INET6, address: Uint8Array, port: number): InMemory {
  const bytes = family === AF_INET ? encodeSockaddrIn(address, port) : encodeSockaddrIn6(address, port);
  return {
    input,
    kind: 'endpoint',
    struct: family === AF_INET ? 'sockaddr_in' : 'sockaddr_in6',
    size: bytes.length,
    address: inetNtop(family, address),
    port,
    bytes: formatBytes(bytes),
    fields: sockaddrFields(bytes),
  };
}

/**
 * Classifies one argument (number, address, endpoint); anything else is a
 * UsageError naming it and why, with inet_aton's reading where it differs.
 * @example describeArgument('8001', parsePort).kind // 'number'
 */
export function describeArgument(input: string, parsePort: (text: string, flag: string) => number): InMemory {
  const quoted = JSON.stringify(input);
  if (/^(0|[1-9]\d*)$/.test(input) || /^0x[0-9a-f]+$/i.test(input)) {
    const value = Number(input);
    if (value > 0xffffffff) throw new UsageError(`${quoted}: number too large for 32 bits; ${ACCEPTED}`);
    return describeNumber(input, value);
  }
  const parsed = parseAddress(input);
  if (!('error' in parsed)) return describeAddress(input, parsed.family, parsed.bytes);
  let why = parsed.error;
  const endpoint = splitEndpoint(input);
  if (endpoint) {
    const bracketed = input.startsWith('[');
    const address = parseAddress(bracketed ? `[${endpoint.address}]` : endpoint.address);
    if (!('error' in address)) {
      const port = parsePort(endpoint.port, `${quoted}: port`);
      return describeEndpoint(input, address.family, address.bytes, port);
    }
    why = address.error;
  }
  const aton = /\s/.test(input) ? null : inetAton(input);
  const atonText = aton ? inetNtop(AF_INET, aton) : '';
  const hint = !atonText ? ''
    : why.includes('leading zero') ? ` (inet_aton would read the leading zero as octal: ${atonText}, not accepted)`
    : ` (inet_aton shorthand for ${atonText} is not accepted)`;
  const what = why === NOT_AN_ADDRESS ? 'not a number, address or endpoint' : why;
  throw new UsageError(`${quoted}: ${what}${hint}; ${ACCEPTED}`);
}

/** Rows as columns two spaces apart, indented two; the last column unpadded. */
export function alignRows(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => '  ' + row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd());
}

/** The text lines hton prints for one result. */
export function renderInMemory(result: InMemory): string[] {
  const order = hostByteOrder();
  if (result.kind === 'number') {
    const { value } = result;
    const rows = [];
    const lines = [`${result.input}: number ${result.hex} = ${value}`];
    if (result.htons && result.hostBytes.uint16) {
      rows.push(['uint16_t', hex(value, 4), `= ${value}`, `memory: ${result.hostBytes.uint16}`, `(host order, ${order}-endian)`]);
      rows.push([`htons(${value})`, result.htons.hex, `= ${result.htons.value}`, `memory: ${result.htons.bytes}`, '(network order)']);
    } else {
      lines.push(`  htons(${value}): does not fit in 16 bits (uint16_t); htonl only`);
    }
    rows.push(['uint32_t', hex(value, 8), `= ${value}`, `memory: ${result.hostBytes.uint32}`, `(host order, ${order}-endian)`]);
    rows.push([`htonl(${value})`, result.htonl.hex, `= ${result.htonl.value}`, `memory: ${result.htonl.bytes}`, '(network order)']);
    return [...lines, ...alignRows(rows)];
  }
  if (result.kind === 'address') {
    const rows = [[`inet_pton(${result.family})`, result.bytes, '(network order)']];
    if (result.sAddr) {
      rows.push(['s_addr', `${result.sAddr.hex} = ${result.sAddr.value}`, `(those bytes read as a uint32_t on this ${order}-endian host)`]);
    }
    rows.push([`inet_ntop(${result.family})`, result.address, '']);
    return [`${result.input}: ${result.family === 'AF_INET' ? 'IPv4' : 'IPv6'} address`, ...alignRows(rows)];
  }
  const rows = [['offset', 'field', 'bytes', 'value', ''], ...result.fields.map((f) => [String(f.offset), f.name, f.bytes, f.value, f.note])];
  return [`${result.input}: struct ${result.struct} (${result.size} bytes)`, `  ${result.bytes}`, ...alignRows(rows)];
}

/** Every result's lines, a blank line between results, as hton prints them. */
export function renderAll(results: InMemory[]): string {
  return results.map((result) => renderInMemory(result).join('\n')).join('\n\n') + '\n';
}

/** The --json document: the host's byte order and every result. */
export function inMemoryJson(results: InMemory[]): string {
  return JSON.stringify({ hostByteOrder: hostByteOrder(), results }, null, 2) + '\n';
}
