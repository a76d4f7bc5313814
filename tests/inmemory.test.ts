// lib/wire/inmemory.ts: what hton shows for one argument, as pure functions:
// the records, the refusals in words, the text lines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import os from 'node:os';
import { parsePort } from '../lib/cli.ts';
import { UsageError } from '../lib/errors.ts';
import { ACCEPTED, alignRows, describeArgument, inMemoryJson, renderAll, renderInMemory, type InMemory } from '../lib/wire/inmemory.ts';

const LITTLE = os.endianness() === 'LE';
const describe = (input: string) => describeArgument(input, parsePort);

function refusal(input: string): string {
  try {
    describe(input);
  } catch (error) {
    assert.instance(error, UsageError);
    return (error as Error).message;
  }
  throw new Error(`${input} was accepted`);
}

test('a number: htons and htonl, values and bytes', () => {
  const r = describe('8001') as Extract<InMemory, { kind: 'number' }>;
  assert.is(r.kind, 'number');
  assert.is(r.hex, '0x1f41');
  assert.is(r.htons?.value, LITTLE ? 0x411f : 8001);
  assert.is(r.htons?.bytes, '1f 41');
  assert.is(r.htonl.bytes, '00 00 1f 41');
  const big = describe('0x10000') as Extract<InMemory, { kind: 'number' }>;
  assert.is(big.htons, null);
  assert.is(big.hostBytes.uint16, null);
  assert.ok(renderInMemory(big).includes('  htons(65536): does not fit in 16 bits (uint16_t); htonl only'));
});

test('an IPv4 address: inet_pton bytes and s_addr on this host', () => {
  const r = describe('192.168.10.128') as Extract<InMemory, { kind: 'address' }>;
  assert.is(r.family, 'AF_INET');
  assert.is(r.bytes, 'c0 a8 0a 80');
  assert.is(r.sAddr?.hex, LITTLE ? '0x800aa8c0' : '0xc0a80a80');
  const v6 = describe('::1') as Extract<InMemory, { kind: 'address' }>;
  assert.is(v6.family, 'AF_INET6');
  assert.is(v6.sAddr, undefined);
  assert.is(renderInMemory(v6)[0], '::1: IPv6 address');
});

test('an endpoint: struct sockaddr_in and sockaddr_in6, field by field', () => {
  const r = describe('192.168.10.128:8001') as Extract<InMemory, { kind: 'endpoint' }>;
  assert.is(r.struct, 'sockaddr_in');
  assert.is(r.size, 16);
  assert.is(r.port, 8001);
  assert.equal(r.fields.map((f) => f.name), ['sin_family', 'sin_port', 'sin_addr', 'sin_zero']);
  const lines = renderInMemory(r);
  assert.is(lines[0], '192.168.10.128:8001: struct sockaddr_in (16 bytes)');
  assert.match(lines[2], /^  offset +field +bytes +value$/);
  const v6 = describe('[::1]:8001') as Extract<InMemory, { kind: 'endpoint' }>;
  assert.is(v6.struct, 'sockaddr_in6');
  assert.is(v6.size, 28);
});

test('refusals: one sentence naming the argument, why, and what is accepted', () => {
  assert.is(refusal('4294967296'), `"4294967296": number too large for 32 bits; ${ACCEPTED}`);
  assert.is(refusal('hello'), `"hello": not a number, address or endpoint; ${ACCEPTED}`);
  assert.match(refusal('127.1'), /\(inet_aton shorthand for 127\.0\.0\.1 is not accepted\)/);
  assert.match(refusal('192.168.1.01'), /inet_aton would read the leading zero as octal: 192\.168\.1\.1, not accepted/);
  // The port rule is the one passed in (lib/cli.ts's parsePort).
  assert.is(refusal('1.2.3.4:99999'), '"1.2.3.4:99999": port "99999": expected an integer 0-65535');
});

test('alignRows: columns two spaces apart, last one unpadded', () => {
  assert.equal(alignRows([['a', 'bbb', 'x'], ['cc', 'd', '']]), ['  a   bbb  x', '  cc  d']);
});

test('renderAll and inMemoryJson: what hton writes', () => {
  const results = ['1', '::1'].map(describe);
  assert.is(renderAll(results).split('\n\n').length, 2);
  assert.ok(renderAll(results).endsWith('\n'));
  const doc = JSON.parse(inMemoryJson(results));
  assert.is(doc.hostByteOrder, LITTLE ? 'little' : 'big');
  assert.is(doc.results.length, 2);
});

test.run();
