// lib/byteorder.ts: known vectors, round trips on random values, and the
// RangeError for anything C would silently wrap.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import os from 'node:os';
import {
  formatBytes, hostByteOrder, hostBytes, htonl, htonll, htons, ntohl, ntohll, ntohs,
} from '../lib/wire/byteorder.ts';

const LITTLE = hostByteOrder() === 'little';

test('hostByteOrder matches os.endianness()', () => {
  assert.is(hostByteOrder(), os.endianness() === 'LE' ? 'little' : 'big');
});

// [value, the byte-swapped value]: on a little-endian host hton* swaps, on a
// big-endian one it is the identity, exactly as in C.
const SHORTS: Array<[number, number]> = [
  [0, 0], [1, 0x0100], [0x1234, 0x3412], [0xffff, 0xffff], [8001, 0x411f], [0x00ff, 0xff00],
];
const LONGS: Array<[number, number]> = [
  [0, 0], [1, 0x01000000], [0x1234, 0x34120000], [0xffff, 0xffff0000], [8001, 0x411f0000],
  [0x12345678, 0x78563412], [0xffffffff, 0xffffffff], [0x7f000001, 0x0100007f], [0x80000000, 0x00000080],
];
const LONGLONGS: Array<[bigint, bigint]> = [
  [0n, 0n], [1n, 0x0100000000000000n], [0x1234n, 0x3412000000000000n], [0xffffn, 0xffff000000000000n],
  [8001n, 0x411f000000000000n], [0x12345678n, 0x7856341200000000n], [0xffffffffn, 0xffffffff00000000n],
  [2n ** 64n - 1n, 2n ** 64n - 1n], [0x0102030405060708n, 0x0807060504030201n],
];

test('htons/ntohs vectors', () => {
  for (const [value, swapped] of SHORTS) {
    const net = LITTLE ? swapped : value;
    assert.is(htons(value), net, `htons(${value})`);
    assert.is(ntohs(net), value, `ntohs(${net})`);
  }
  if (LITTLE) assert.is(htons(8001), 0x411f);
});

test('htonl/ntohl vectors, unsigned results', () => {
  for (const [value, swapped] of LONGS) {
    const net = LITTLE ? swapped : value;
    assert.is(htonl(value), net, `htonl(${value})`);
    assert.is(ntohl(net), value, `ntohl(${net})`);
    assert.ok(htonl(value) >= 0);
  }
});

test('htonll/ntohll vectors', () => {
  for (const [value, swapped] of LONGLONGS) {
    const net = LITTLE ? swapped : value;
    assert.is(htonll(value), net, `htonll(${value})`);
    assert.is(ntohll(net), value, `ntohll(${net})`);
  }
});

test('round trips on random values', () => {
  for (let i = 0; i < 10000; i++) {
    const s = Math.floor(Math.random() * 0x10000);
    const l = Math.floor(Math.random() * 0x100000000);
    const ll = (BigInt(l) << 32n) | BigInt(Math.floor(Math.random() * 0x100000000));
    assert.is(ntohs(htons(s)), s);
    assert.is(ntohl(htonl(l)), l);
    assert.is(ntohll(htonll(ll)), ll);
    // htonl's result, stored in host order, is the big-endian byte sequence.
    const be = new Uint8Array(4);
    new DataView(be.buffer).setUint32(0, l, false);
    assert.equal(hostBytes(htonl(l), 4), be);
  }
});

test('a bad argument throws a RangeError naming the function and the value', () => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => htons(65536), /htons\(65536\)/],
    [() => htons(-1), /htons\(-1\)/],
    [() => htons(1.5), /htons\(1\.5\)/],
    [() => htons(NaN), /htons\(NaN\)/],
    [() => ntohs(0x10000), /ntohs\(65536\)/],
    [() => htonl(2 ** 32), /htonl\(4294967296\)/],
    [() => htonl(-1), /htonl\(-1\)/],
    [() => ntohl(0.5), /ntohl\(0\.5\)/],
    [() => htonl('1' as unknown as number), /htonl\(1\)/],
    [() => htonll(-1n), /htonll\(-1\)/],
    [() => htonll(2n ** 64n), /htonll\(18446744073709551616\)/],
    [() => ntohll(1 as unknown as bigint), /ntohll\(1\)/],
  ];
  for (const [fn, message] of cases) {
    try {
      fn();
      assert.unreachable(`no error for ${message}`);
    } catch (error) {
      assert.instance(error, RangeError);
      assert.match((error as Error).message, message, `${(error as Error).message} !~ ${message}`);
    }
  }
});

test('hostBytes and formatBytes show memory as C would', () => {
  assert.is(formatBytes(hostBytes(0x01020304, 4)), LITTLE ? '04 03 02 01' : '01 02 03 04');
  assert.is(formatBytes(hostBytes(8001, 2)), LITTLE ? '41 1f' : '1f 41');
  assert.is(formatBytes(new Uint8Array([0, 10, 255])), '00 0a ff');
  assert.is(formatBytes(new Uint8Array()), '');
  assert.throws(() => hostBytes(0x10000, 2), RangeError);
});

test.run();
