#!/usr/bin/env -S npx tsx
// hton: what htons/htonl, inet_pton and a filled struct sockaddr_in do to
// the bytes.
//
// Mirrors the lesson's `serAddr.sin_family = AF_INET;
// serAddr.sin_port = htons(8001); inet_pton(AF_INET, "192.168.10.128",
// &serAddr.sin_addr.s_addr);` for each argument:
//   a number    (8001, 0x1f41)            htons (when it fits 16 bits) and htonl,
//                                         as values and as bytes in memory
//   an address  (192.168.10.128, ::1)     the inet_pton bytes; for IPv4 s_addr
//                                         as a C program on this host holds it
//   an endpoint (192.168.10.128:8001,     the struct sockaddr_in / sockaddr_in6
//                [::1]:8001)              bytes, field by field
//
//   npx tsx scripts/hton.ts 8001 192.168.10.128 192.168.10.128:8001
//   npx tsx scripts/hton.ts --json '[::1]:8001'
import { exitCodesHelp, parseCli, parsePort, runMain } from '../lib/cli.ts';
import { UsageError } from '../lib/errors.ts';
import { AF_INET, AF_INET6, NOT_AN_ADDRESS, inetAton, inetNtop, parseAddress, splitEndpoint } from '../lib/wire/address.ts';
import { formatBytes, hostByteOrder, hostBytes, htonl, htons } from '../lib/wire/byteorder.ts';
import { encodeSockaddrIn, encodeSockaddrIn6, sockaddrFields, type SockaddrField } from '../lib/wire/sockaddr.ts';

const NAME = 'hton';
const ACCEPTED =
  'expected a number 0-4294967295 (8001, 0x1f41), an IPv4 or IPv6 address (192.168.10.128, ::1) ' +
  'or an endpoint (192.168.10.128:8001, [::1]:8001)';

const HELP = `Usage: hton [--json] ARG...

Shows each argument the way a C program holds it in memory:
  a number    8001, 0x1f41            htons (when it fits 16 bits) and htonl,
                                      as values and as the bytes in memory
  an address  192.168.10.128, ::1     the inet_pton() bytes and, for IPv4,
                                      s_addr as a uint32_t on this host
  an endpoint 192.168.10.128:8001     struct sockaddr_in (or sockaddr_in6 for
              [::1]:8001              [IPv6]:PORT) bytes, field by field

Numbers are decimal or 0x hex, 0-4294967295. Addresses are numeric, exactly
as inet_pton() accepts them (no names, no 127.1 shorthand).

Options:
  --json      print one JSON document: {"hostByteOrder": ..., "results": [...]}
  -h, --help  show this help

${exitCodesHelp({ failures: 'a runtime failure (stdout full, ...)' })}`;

const ORDER = hostByteOrder();
const hex = (value: number, digits: number) => '0x' + value.toString(16).padStart(digits, '0');

interface Swapped {
  value: number;
  hex: string;
  /** The bytes of the swapped value in memory: the network order. */
  bytes: string;
}

type Result =
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

function describeNumber(input: string, value: number): Result {
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

function describeAddress(input: string, family: typeof AF_INET | typeof AF_INET6, bytes: Uint8Array): Result {
  const result: Result = {
    input,
    kind: 'address',
    family: family === AF_INET ? 'AF_INET' : 'AF_INET6',
    address: inetNtop(family, bytes),
    bytes: formatBytes(bytes),
  };
  if (family === AF_INET) {
    // s_addr is a uint32_t holding the network-order bytes: read them in host order.
    const sAddr = new DataView(bytes.buffer).getUint32(0, ORDER === 'little');
    result.sAddr = { value: sAddr, hex: hex(sAddr, 8) };
  }
  return result;
}

function describeEndpoint(input: string, family: typeof AF_INET | typeof AF_INET6, address: Uint8Array, port: number): Result {
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

/** Classifies one argument; anything unrecognised is a UsageError naming it. */
function describe(input: string): Result {
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

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => '  ' + row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd());
}

function render(result: Result): string[] {
  if (result.kind === 'number') {
    const { value } = result;
    const rows = [];
    const lines = [`${result.input}: number ${result.hex} = ${value}`];
    if (result.htons && result.hostBytes.uint16) {
      rows.push(['uint16_t', hex(value, 4), `= ${value}`, `memory: ${result.hostBytes.uint16}`, `(host order, ${ORDER}-endian)`]);
      rows.push([`htons(${value})`, result.htons.hex, `= ${result.htons.value}`, `memory: ${result.htons.bytes}`, '(network order)']);
    } else {
      lines.push(`  htons(${value}): does not fit in 16 bits (uint16_t); htonl only`);
    }
    rows.push(['uint32_t', hex(value, 8), `= ${value}`, `memory: ${result.hostBytes.uint32}`, `(host order, ${ORDER}-endian)`]);
    rows.push([`htonl(${value})`, result.htonl.hex, `= ${result.htonl.value}`, `memory: ${result.htonl.bytes}`, '(network order)']);
    return [...lines, ...table(rows)];
  }
  if (result.kind === 'address') {
    const rows = [[`inet_pton(${result.family})`, result.bytes, '(network order)']];
    if (result.sAddr) {
      rows.push(['s_addr', `${result.sAddr.hex} = ${result.sAddr.value}`, `(those bytes read as a uint32_t on this ${ORDER}-endian host)`]);
    }
    rows.push([`inet_ntop(${result.family})`, result.address, '']);
    return [`${result.input}: ${result.family === 'AF_INET' ? 'IPv4' : 'IPv6'} address`, ...table(rows)];
  }
  const rows = [['offset', 'field', 'bytes', 'value', ''], ...result.fields.map((f) => [String(f.offset), f.name, f.bytes, f.value, f.note])];
  return [`${result.input}: struct ${result.struct} (${result.size} bytes)`, `  ${result.bytes}`, ...table(rows)];
}

await runMain(NAME, () => {
  const args = parseCli({
    name: NAME,
    help: HELP,
    options: { json: { type: 'boolean' } },
    maxPositionals: Number.POSITIVE_INFINITY,
  });
  if (!args) return;
  if (args.positionals.length === 0) {
    throw new UsageError(`no argument given; ${ACCEPTED} (see --help)`);
  }
  // Check every argument before printing anything.
  const results = args.positionals.map(describe);
  if (args.values.json) {
    process.stdout.write(JSON.stringify({ hostByteOrder: ORDER, results }, null, 2) + '\n');
    return;
  }
  process.stdout.write(results.map((result) => render(result).join('\n')).join('\n\n') + '\n');
});
