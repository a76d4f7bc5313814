// scripts/hton.ts run as a process: numbers, addresses, endpoints, --json,
// --help, bad input; and its import graph stays small (no zx, no lib/net.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { hasStackTrace, ROOT, runScript } from './helpers.ts';

const LITTLE = os.endianness() === 'LE';

// A few processes at a time: the machine may have two cores shared with other work.
async function inBatches<T, R>(items: T[], run: (item: T) => Promise<R>, size = 3): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(run))));
  return results;
}

test('the lesson endpoint: 192.168.10.128:8001 as struct sockaddr_in, field by field', async () => {
  const { code, stdout, stderr } = await runScript('hton', ['192.168.10.128:8001']);
  assert.is(code, 0, stderr);
  assert.match(stdout, /struct sockaddr_in \(16 bytes\)/);
  if (LITTLE) assert.ok(stdout.includes('02 00 1f 41 c0 a8 0a 80 00 00 00 00 00 00 00 00'), stdout);
  assert.match(stdout, /^ +0 +sin_family +(02 00|00 02) +AF_INET \(2\)/m);
  assert.match(stdout, /^ +2 +sin_port +1f 41 +8001 +network order, htons\(8001\)/m);
  assert.match(stdout, /^ +4 +sin_addr +c0 a8 0a 80 +192\.168\.10\.128 /m);
  assert.match(stdout, /^ +8 +sin_zero +00 00 00 00 00 00 00 00 /m);
});

test('[::1]:8001 as struct sockaddr_in6', async () => {
  const { code, stdout, stderr } = await runScript('hton', ['[::1]:8001']);
  assert.is(code, 0, stderr);
  assert.match(stdout, /struct sockaddr_in6 \(28 bytes\)/);
  if (LITTLE) assert.ok(stdout.includes('0a 00 1f 41 00 00 00 00 ' + '00 '.repeat(15) + '01 00 00 00 00'), stdout);
  for (const field of ['sin6_family', 'sin6_port', 'sin6_flowinfo', 'sin6_addr', 'sin6_scope_id']) {
    assert.match(stdout, new RegExp(`^ +\\d+ +${field} `, 'm'));
  }
});

test('numbers: htons and htonl as values and bytes; addresses: inet_pton bytes and s_addr', async () => {
  const { code, stdout, stderr } = await runScript('hton', ['8001', '0x1f41', '70000', '192.168.10.128', '::1']);
  assert.is(code, 0, stderr);
  const blocks = stdout.trimEnd().split('\n\n');
  assert.is(blocks.length, 5);
  for (const block of blocks.slice(0, 2)) {
    assert.match(block, /number 0x1f41 = 8001/);
    if (LITTLE) {
      assert.match(block, /htons\(8001\) +0x411f += 16671 +memory: 1f 41 /);
      assert.match(block, /uint16_t +0x1f41 += 8001 +memory: 41 1f /);
      assert.match(block, /htonl\(8001\) +0x411f0000 += 1092550656 +memory: 00 00 1f 41 /);
    }
  }
  assert.match(blocks[2], /htons\(70000\): does not fit in 16 bits/);
  assert.match(blocks[2], /htonl\(70000\) /);
  assert.match(blocks[3], /inet_pton\(AF_INET\) +c0 a8 0a 80 /);
  if (LITTLE) assert.match(blocks[3], /s_addr +0x800aa8c0 = 2148182208 /);
  assert.match(blocks[4], /inet_pton\(AF_INET6\) +(00 ){15}01 /);
});

test('--json gives the same as data', async () => {
  const { code, stdout, stderr } = await runScript('hton', ['--json', '8001', '192.168.10.128', '192.168.10.128:8001', '[::1]:8001']);
  assert.is(code, 0, stderr);
  const doc = JSON.parse(stdout);
  assert.is(doc.hostByteOrder, LITTLE ? 'little' : 'big');
  const [num, addr, ep4, ep6] = doc.results;
  assert.is(num.kind, 'number');
  assert.is(num.value, 8001);
  assert.is(num.htons.value, LITTLE ? 0x411f : 8001);
  assert.is(num.htons.bytes, '1f 41');
  assert.is(num.htonl.bytes, '00 00 1f 41');
  assert.equal([addr.kind, addr.family, addr.bytes], ['address', 'AF_INET', 'c0 a8 0a 80']);
  assert.is(addr.sAddr.value, LITTLE ? 0x800aa8c0 : 0xc0a80a80);
  assert.equal([ep4.kind, ep4.struct, ep4.size, ep4.port, ep4.address], ['endpoint', 'sockaddr_in', 16, 8001, '192.168.10.128']);
  if (LITTLE) assert.is(ep4.bytes, '02 00 1f 41 c0 a8 0a 80 00 00 00 00 00 00 00 00');
  assert.equal(ep4.fields.map((f: { name: string; offset: number; bytes: string }) => [f.name, f.offset, f.bytes]), [
    ['sin_family', 0, LITTLE ? '02 00' : '00 02'], ['sin_port', 2, '1f 41'], ['sin_addr', 4, 'c0 a8 0a 80'],
    ['sin_zero', 8, '00 00 00 00 00 00 00 00'],
  ]);
  assert.is(ep6.struct, 'sockaddr_in6');
  assert.is(ep6.fields.length, 5);
});

test('--help exits 0; no argument and bad arguments exit 2 with one line naming the argument', async () => {
  const bad: Array<[string[], RegExp]> = [
    [[], /no argument given/],
    [['abc'], /"abc": .*expected a number/],
    [['127.1'], /"127\.1": .*inet_aton shorthand/],
    [['4294967296'], /"4294967296": number too large/],
    [['1.2.3.4:99999'], /"1\.2\.3\.4:99999": port "99999": expected an integer 0-65535/],
    [['[1.2.3.4]:80'], /"\[1\.2\.3\.4\]:80"/],
    [['fe80::1%eth0'], /"fe80::1%eth0"/],
    [['8001', 'nope'], /"nope"/],
    [['--bogus', '1'], /unknown option --bogus/],
    [['--', '-1'], /"-1"/],
  ];
  const [help, ...runs] = await inBatches([['--help'], ...bad.map(([args]) => args)], (args) => runScript('hton', args, { deadlineMs: 30000 }));
  assert.is(help.code, 0);
  assert.match(help.stdout, /^Usage: hton/);
  assert.match(help.stdout, /Exit codes:/);
  runs.forEach((run, i) => {
    const [args, message] = bad[i];
    assert.is(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.is(run.stdout, '', 'nothing on stdout, even for the good argument before a bad one');
    assert.is(run.stderr.trimEnd().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /^hton: error: /);
    assert.match(run.stderr, message);
    assert.not.ok(hasStackTrace(run.stderr));
  });
});

test('endian and hton import neither zx nor lib/net.ts (start-up speed)', () => {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const [, spec] of source.matchAll(/^\s*import\s[^'"]*['"]([^'"]+)['"]/gm)) {
      assert.ok(spec.startsWith('node:') || spec.startsWith('.'), `${file} imports ${spec}`);
      if (spec.startsWith('.')) visit(new URL(spec, `file://${file}`).pathname);
    }
    assert.not.match(source, /import\(\s*['"]zx['"]\s*\)/, `${file} imports zx`);
  };
  visit(`${ROOT}scripts/endian.ts`);
  visit(`${ROOT}scripts/hton.ts`);
  const files = [...seen].map((file) => file.slice(ROOT.length)).sort();
  assert.ok(!files.includes('lib/net.ts'), files.join(', '));
  assert.equal(files, ['lib/cli.ts', 'lib/errors.ts', 'lib/wire/address-errors.ts', 'lib/wire/address.ts', 'lib/wire/byteorder.ts', 'lib/wire/inmemory.ts', 'lib/wire/sockaddr.ts', 'scripts/endian.ts', 'scripts/hton.ts']);
});

test.run();
