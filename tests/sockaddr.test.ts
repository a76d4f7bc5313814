// lib/sockaddr.ts: struct sockaddr_in / sockaddr_in6 bytes, decoding, fields.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AF_INET, AF_INET6 } from '../lib/wire/address.ts';
import { formatBytes, hostByteOrder } from '../lib/wire/byteorder.ts';
import {
  SOCKADDR_IN6_SIZE, SOCKADDR_IN_SIZE, decodeSockaddr, decodeSockaddrIn, decodeSockaddrIn6,
  encodeSockaddr, encodeSockaddrIn, encodeSockaddrIn6, sockaddrFields,
} from '../lib/wire/sockaddr.ts';

const LITTLE = hostByteOrder() === 'little';
const fam = (family: number) => (LITTLE ? `${family.toString(16).padStart(2, '0')} 00` : `00 ${family.toString(16).padStart(2, '0')}`);

test('sockaddr_in for the lesson: 192.168.10.128:8001', () => {
  const bytes = encodeSockaddrIn('192.168.10.128', 8001);
  assert.is(bytes.length, SOCKADDR_IN_SIZE);
  assert.is(formatBytes(bytes), `${fam(2)} 1f 41 c0 a8 0a 80 00 00 00 00 00 00 00 00`);
  if (LITTLE) assert.is(formatBytes(bytes), '02 00 1f 41 c0 a8 0a 80 00 00 00 00 00 00 00 00');
  assert.equal(decodeSockaddrIn(bytes), { family: AF_INET, port: 8001, address: '192.168.10.128' });
});

test('sockaddr_in edges: INADDR_ANY, port 0 and 65535, address as bytes', () => {
  assert.is(formatBytes(encodeSockaddrIn('0.0.0.0', 0)), `${fam(2)} 00 00 00 00 00 00 00 00 00 00 00 00 00 00`);
  assert.is(formatBytes(encodeSockaddrIn(new Uint8Array([127, 0, 0, 1]), 65535)).slice(6, 17), 'ff ff 7f 00');
  assert.equal(decodeSockaddr(encodeSockaddrIn('255.255.255.255', 1)), { family: AF_INET, port: 1, address: '255.255.255.255' });
});

test('sockaddr_in6: [::1]:8001, flowinfo in network order, scope id in host order', () => {
  const bytes = encodeSockaddrIn6('::1', 8001, { flowinfo: 0x12345, scopeId: 2 });
  assert.is(bytes.length, SOCKADDR_IN6_SIZE);
  const scope = LITTLE ? '02 00 00 00' : '00 00 00 02';
  assert.is(
    formatBytes(bytes),
    `${fam(10)} 1f 41 00 01 23 45 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 ${scope}`,
  );
  assert.equal(decodeSockaddrIn6(bytes), { family: AF_INET6, port: 8001, flowinfo: 0x12345, address: '::1', scopeId: 2 });
  assert.equal(decodeSockaddr(encodeSockaddr({ family: AF_INET6, port: 80, address: '::ffff:1.2.3.4', flowinfo: 0, scopeId: 0 })), {
    family: AF_INET6, port: 80, flowinfo: 0, address: '::ffff:1.2.3.4', scopeId: 0,
  });
});

test('round trips on random endpoints', () => {
  for (let i = 0; i < 2000; i++) {
    const port = Math.floor(Math.random() * 65536);
    const v4 = Uint8Array.from({ length: 4 }, () => Math.floor(Math.random() * 256));
    const v6 = Uint8Array.from({ length: 16 }, () => (Math.random() < 0.5 ? 0 : Math.floor(Math.random() * 256)));
    const a = decodeSockaddrIn(encodeSockaddrIn(v4, port));
    assert.equal(encodeSockaddr(a), encodeSockaddrIn(v4, port));
    const b = decodeSockaddrIn6(encodeSockaddrIn6(v6, port, { scopeId: i }));
    assert.equal(encodeSockaddr(b), encodeSockaddrIn6(v6, port, { scopeId: i }));
  }
});

test('decoding a wrong length or family throws a clear RangeError', () => {
  const v4 = encodeSockaddrIn('127.0.0.1', 80);
  const v6 = encodeSockaddrIn6('::1', 80);
  const cases: Array<[() => unknown, RegExp]> = [
    [() => decodeSockaddrIn(v4.subarray(0, 15)), /decodeSockaddrIn: struct sockaddr_in is 16 bytes, got 15/],
    [() => decodeSockaddrIn6(v6.subarray(0, 16)), /decodeSockaddrIn6: struct sockaddr_in6 is 28 bytes, got 16/],
    [() => decodeSockaddrIn(Uint8Array.from([...v4.slice(0, 2).reverse(), ...v4.subarray(2)])), LITTLE ? /sin_family is 512 \(unknown\)/ : /sin_family is 512 /],
    [() => decodeSockaddrIn(encodeSockaddrIn6('::1', 80).subarray(0, 16)), /sin_family is 10 \(AF_INET6\), expected 2 \(AF_INET\)/],
    [() => decodeSockaddrIn6(Uint8Array.from([...v4, ...new Uint8Array(12)])), /sin6_family is 2 \(AF_INET\), expected 10 \(AF_INET6\)/],
    [() => decodeSockaddr(new Uint8Array(16)), /family 0 is neither AF_INET \(2\) nor AF_INET6 \(10\)/],
    [() => decodeSockaddr(new Uint8Array(1)), /too short/],
    [() => decodeSockaddr(v4.subarray(0, 12)), /is 16 bytes, got 12/],
    [() => decodeSockaddr(Uint8Array.from([...v6, 0])), /is 28 bytes, got 29/],
    [() => encodeSockaddrIn('127.1', 80), /"127\.1" is not an IPv4 address/],
    [() => encodeSockaddrIn('::1', 80), /not an IPv4 address/],
    [() => encodeSockaddrIn6('1.2.3.4', 80), /not an IPv6 address/],
    [() => encodeSockaddrIn('1.2.3.4', 65536), /port 65536: expected an integer 0-65535/],
    [() => encodeSockaddrIn('1.2.3.4', -1), /port -1/],
    [() => encodeSockaddrIn(new Uint8Array(16), 1), /IPv4 address is 4 bytes, got 16/],
    [() => encodeSockaddrIn6('::1', 1, { scopeId: -1 }), /scope id -1/],
  ];
  for (const [fn, message] of cases) {
    try {
      fn();
      assert.unreachable(`no error for ${message}`);
    } catch (error) {
      assert.instance(error, RangeError, String(error));
      assert.match((error as Error).message, message, `${(error as Error).message} !~ ${message}`);
    }
  }
});

test('sockaddrFields names every field with its byte range', () => {
  const fields = sockaddrFields(encodeSockaddrIn('192.168.10.128', 8001));
  assert.equal(fields.map((f) => [f.name, f.offset, f.size]), [
    ['sin_family', 0, 2], ['sin_port', 2, 2], ['sin_addr', 4, 4], ['sin_zero', 8, 8],
  ]);
  assert.is(fields[0].bytes, fam(2));
  assert.is(fields[0].value, 'AF_INET (2)');
  assert.is(fields[1].bytes, '1f 41');
  assert.is(fields[1].value, '8001');
  assert.is(fields[2].bytes, 'c0 a8 0a 80');
  assert.is(fields[2].value, '192.168.10.128');
  const six = sockaddrFields(encodeSockaddrIn6('::1', 8001, { scopeId: 3 }));
  assert.equal(six.map((f) => [f.name, f.offset, f.size]), [
    ['sin6_family', 0, 2], ['sin6_port', 2, 2], ['sin6_flowinfo', 4, 4], ['sin6_addr', 8, 16], ['sin6_scope_id', 24, 4],
  ]);
  assert.is(six[3].value, '::1');
  assert.is(six[4].value, '3');
  // Field sizes cover the structure exactly.
  assert.is(six.reduce((n, f) => n + f.size, 0), SOCKADDR_IN6_SIZE);
});

test.run();
