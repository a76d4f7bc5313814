#!/usr/bin/env -S npx tsx
// endian: which byte order does this host use?
//
// Mirrors the lesson's union trick: `union { int a; char c; } u; u.a = 1;`
// then `u.c == 1` means little-endian. Here a Uint32Array and a Uint8Array
// share one buffer. It also shows 0x01020304 as this host stores it and as
// htonl() puts it on the wire, and checks os.endianness() agrees.
//
//   npx tsx scripts/endian.ts           a short report
//   npx tsx scripts/endian.ts --json    {"byteOrder": "little", ...}
import os from 'node:os';
import { exitCodesHelp, parseCli, runMain } from '../lib/cli.ts';
import { formatBytes, hostByteOrder, hostBytes, htonl } from '../lib/wire/byteorder.ts';

const HELP = `Usage: endian [--json]

Shows this host's byte order found the way C's union trick finds it (store a
32-bit 1, read the byte at the lowest address), the bytes of 0x01020304 in
host order and in network order, and whether os.endianness() agrees.

Options:
  --json      print one JSON object: {"byteOrder": "little"|"big", ...}
  -h, --help  show this help

${exitCodesHelp({})}`;

const SAMPLE = 0x01020304;

await runMain('endian', () => {
  const args = parseCli({ name: 'endian', help: HELP, options: { json: { type: 'boolean' } } });
  if (!args) return;

  const byteOrder = hostByteOrder();
  const firstByte = new Uint8Array(new Uint32Array([1]).buffer)[0];
  const hostOrder = formatBytes(hostBytes(SAMPLE, 4));
  // htonl() gives the number whose in-memory bytes are the network order.
  const networkOrder = formatBytes(hostBytes(htonl(SAMPLE), 4));
  const osEndianness = os.endianness();
  const agrees = (osEndianness === 'LE') === (byteOrder === 'little');

  if (args.values.json) {
    const report = { byteOrder, unionFirstByte: firstByte, hostOrder, networkOrder, osEndianness, agrees };
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return;
  }
  process.stdout.write(
    [
      `host byte order: ${byteOrder}-endian (a 32-bit 1 stores its ${firstByte === 1 ? 'low' : 'high'} byte first: first byte is ${firstByte})`,
      `0x01020304 in host order:    ${hostOrder}`,
      `0x01020304 in network order: ${networkOrder} (htonl, big-endian)`,
      `os.endianness(): ${osEndianness} (${agrees ? 'agrees' : 'DISAGREES'})`,
    ].join('\n') + '\n',
  );
});
