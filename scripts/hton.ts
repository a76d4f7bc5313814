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
import { ACCEPTED, describeArgument, inMemoryJson, renderAll } from '../lib/wire/inmemory.ts';

const NAME = 'hton';

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
  const results = args.positionals.map((input) => describeArgument(input, parsePort));
  process.stdout.write(args.values.json ? inMemoryJson(results) : renderAll(results));
});
