// lib/wire/address.ts: known vectors (the glibc edges, RFC 5952 section 4),
// constants, endpoints, round trips. The wide comparison with glibc itself
// is tests/address-glibc.test.ts. Then parseAddress, the one reader every
// script uses, and its errors (what is wrong and where, as Go's netip says
// it), also through hton, --host, --allow and the client's HOST.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AF_INET, AF_INET6, INADDR_ANY, INADDR_BROADCAST, INADDR_LOOPBACK, INADDR_NONE,
  NOT_AN_ADDRESS, addressFamily, formatEndpoint, inetAton, inetNtop, inetPton, parseAddress, splitEndpoint,
  stripBrackets, unmapIPv4, type Family,
} from '../lib/wire/address.ts';
import { explainAddress } from '../lib/wire/address-errors.ts';
import { hasStackTrace, runScript, seededRandom } from './helpers.ts';

const hex = (bytes: Uint8Array | null) => (bytes ? Buffer.from(bytes).toString('hex') : null);
const v6 = (text: string) => inetPton(AF_INET6, text);

test('constants are the Linux / C header values', () => {
  assert.is(AF_INET, 2);
  assert.is(AF_INET6, 10);
  assert.is(INADDR_ANY, 0);
  assert.is(INADDR_LOOPBACK, 0x7f000001);
  assert.is(INADDR_BROADCAST, 0xffffffff);
  assert.is(INADDR_NONE, 0xffffffff);
});

test('inet_pton(AF_INET): accepted', () => {
  const cases: Array<[string, string]> = [
    ['0.0.0.0', '00000000'], ['127.0.0.1', '7f000001'], ['192.168.10.128', 'c0a80a80'],
    ['255.255.255.255', 'ffffffff'], ['1.2.3.4', '01020304'], ['10.0.0.255', '0a0000ff'],
  ];
  for (const [text, bytes] of cases) assert.is(hex(inetPton(AF_INET, text)), bytes, text);
});

test('inet_pton(AF_INET): rejected exactly where glibc rejects', () => {
  const rejected = [
    '', '01.2.3.4', '1.2.3.04', '00.0.0.0', '256.0.0.0', '1.2.3.256', '1.2.3', '1.2.3.4.5', '127.1',
    '0x7f.0.0.1', '4294967295', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4 junk', '1..2.3', '1.2.3.', '.1.2.3.4',
    '1.2.3.4\0', '+1.2.3.4', '1.2.3.-4', '١.٢.٣.٤', '１.２.３.４', '::1', 'localhost',
  ];
  for (const text of rejected) assert.is(inetPton(AF_INET, text), null, JSON.stringify(text));
});

test('inet_pton(AF_INET6): accepted, including the glibc edges', () => {
  const cases: Array<[string, string]> = [
    ['::', '0'.repeat(32)],
    ['::1', '0'.repeat(30) + '01'],
    ['1::', '0001' + '0'.repeat(28)],
    ['1:2:3:4:5:6:7::', '0001000200030004000500060007' + '0000'],
    ['::1:2:3:4:5:6:7', '0000000100020003000400050006' + '0007'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['::1.2.3.4', '0'.repeat(24) + '01020304'],
    ['::ffff:1.2.3.4', '0'.repeat(20) + 'ffff01020304'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
    ['2001:DB8::1', '20010db8' + '0'.repeat(22) + '01'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '20010db8' + '0'.repeat(22) + '01'],
    ['fe80::1', 'fe80' + '0'.repeat(26) + '01'],
  ];
  for (const [text, bytes] of cases) assert.is(hex(v6(text)), bytes, text);
});

test('inet_pton(AF_INET6): rejected exactly where glibc rejects', () => {
  const rejected = [
    '', ':', ':::', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', 'fe80::1%1', '02001:db8::1', '1::2::3', ':1::',
    '1::2:', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', '[::1]', '::1 ', ' ::1', 'g::1',
    '::1.2.3', '::1.2.3.4.5', '::01.2.3.4', '::256.1.1.1', '1.2.3.4::', '1:2:3:4:5:6:7:1.2.3.4', '::1/128',
    '1.2.3.4', '::1\0',
  ];
  for (const text of rejected) assert.is(v6(text), null, JSON.stringify(text));
});

test('inet_ntop(AF_INET6): glibc text, including RFC 5952 section 4 examples', () => {
  const cases: Array<[string, string]> = [
    // RFC 5952 4.1: no leading zeros.
    ['2001:0db8::0001', '2001:db8::1'],
    // 4.2.1: shorten as much as possible.
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    // 4.2.2: a single zero group is not shortened.
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    // 4.2.3: the longest run; on a tie the first.
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    // 4.3: lowercase.
    ['2001:DB8:AAAA:BBBB:CCCC:DDDD:EEEE:AAAA', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa'],
    // glibc's own choices (FACTS.md).
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['1:0:1:0:0:1:0:0', '1:0:1::1:0:0'],
    ['::', '::'], ['::1', '::1'], ['::2', '::2'], ['1::', '1::'],
    ['0:0:0:0:0:0:1:2', '::0.1.0.2'], ['::1.2.3.4', '::1.2.3.4'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'], ['::ffff:0:0', '::ffff:0.0.0.0'],
    ['::ffff:0:1.2.3.4', '::ffff:0:102:304'], ['0:0:0:0:0:1:0:0', '::1:0:0'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'], ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ];
  for (const [input, text] of cases) {
    const bytes = v6(input);
    assert.ok(bytes, input);
    assert.is(inetNtop(AF_INET6, bytes!), text, input);
  }
});

test('inet_ntop(AF_INET) and wrong byte counts', () => {
  assert.is(inetNtop(AF_INET, new Uint8Array([192, 168, 10, 128])), '192.168.10.128');
  assert.is(inetNtop(AF_INET, new Uint8Array(4)), '0.0.0.0');
  assert.throws(() => inetNtop(AF_INET, new Uint8Array(16)), (e: Error) => e instanceof RangeError && /needs 4 bytes, got 16 bytes/.test(e.message));
  assert.throws(() => inetNtop(AF_INET6, new Uint8Array(4)), (e: Error) => e instanceof RangeError && /needs 16 bytes, got 4 bytes/.test(e.message));
  assert.throws(() => inetNtop(7 as Family, new Uint8Array(4)), /unsupported address family 7/);
  assert.throws(() => inetPton(7 as Family, '1.2.3.4'), (e: Error) => e instanceof RangeError && /inetPton: unsupported address family 7/.test(e.message));
});

test('inet_aton: the classic lenient forms', () => {
  const cases: Array<[string, string | null]> = [
    ['127.1', '7f000001'], ['0x7f.1', '7f000001'], ['017.0.0.1', '0f000001'], ['4294967295', 'ffffffff'],
    ['1.2.3.4 junk', '01020304'], ['1.2.3.4\t', '01020304'], ['0', '00000000'], ['1.2.3', '01020003'],
    ['1.0x10000', '01010000'], ['1.0x1000000', null], ['1.0xffffff', '01ffffff'], ['1.2.0xffff', '0102ffff'],
    ['1.2.0x10000', null], ['0x', null],
    ['4294967296', null], ['256.1', null], ['1.2.3.4.5', null], ['08', null], ['1.2.3.4x', null], ['', null],
    [' 1.2.3.4', null], ['1.2.3.', null], ['99999999999999999999999', null], ['1.2.3.4 \0x', null],
    ['1.2.3.4\u00a0', null],
  ];
  for (const [text, bytes] of cases) assert.is(hex(inetAton(text)), bytes, JSON.stringify(text));
});

test('addressFamily', () => {
  assert.is(addressFamily('127.0.0.1'), AF_INET);
  assert.is(addressFamily('::1'), AF_INET6);
  assert.is(addressFamily('::ffff:1.2.3.4'), AF_INET6);
  assert.is(addressFamily('127.1'), null);
  assert.is(addressFamily('localhost'), null);
  assert.is(addressFamily('fe80::1%eth0'), null);
});

test('formatEndpoint and splitEndpoint', () => {
  assert.is(formatEndpoint('127.0.0.1', 8001), '127.0.0.1:8001');
  assert.is(formatEndpoint('::1', 8001), '[::1]:8001');
  assert.is(formatEndpoint('::ffff:1.2.3.4', 0), '[::ffff:1.2.3.4]:0');
  assert.equal(splitEndpoint('192.168.10.128:8001'), { address: '192.168.10.128', port: '8001' });
  assert.equal(splitEndpoint('[::1]:8001'), { address: '::1', port: '8001' });
  assert.equal(splitEndpoint('localhost:80'), { address: 'localhost', port: '80' });
  assert.is(splitEndpoint('::1'), null);
  assert.is(splitEndpoint('127.0.0.1'), null);
  assert.is(splitEndpoint('[::1]'), null);
});

test('round trips on random addresses', () => {
  for (let i = 0; i < 5000; i++) {
    const b4 = Uint8Array.from({ length: 4 }, () => Math.floor(Math.random() * 256));
    assert.equal(inetPton(AF_INET, inetNtop(AF_INET, b4)), b4);
    assert.equal(inetAton(inetNtop(AF_INET, b4)), b4);
    // Zero-heavy 16 bytes so `::` lands everywhere.
    const b16 = Uint8Array.from({ length: 16 }, () => (Math.random() < 0.6 ? 0 : Math.floor(Math.random() * 256)));
    const text = inetNtop(AF_INET6, b16);
    assert.equal(v6(text), b16, text);
    assert.equal(v6(text.toUpperCase()), b16, text);
    assert.is(inetNtop(AF_INET6, v6(text)!), text);
  }
});

test('parseAddress: the errors say what is wrong and where', () => {
  const cases: Array<[string, string]> = [
    ['192.168.1.01', 'IPv4 field has octet with leading zero (field 4, "01")'],
    ['256.1.1.1', 'IPv4 field has value >255 (field 1, "256")'],
    ['1.2.3', 'IPv4 address too short: 3 fields, needs 4'],
    ['127.1', 'IPv4 address too short: 2 fields, needs 4'],
    ['1.2.3.4.5', 'IPv4 address too long: 5 fields, needs 4'],
    ['1..2.3', 'IPv4 field must have at least one digit (field 2)'],
    ['1.2.3.', 'IPv4 field must have at least one digit (field 4)'],
    ['1.2.3.4 ', 'unexpected character " " at position 8'],
    ['0x7f.1', 'unexpected character "x" at position 2'],
    ['1::2::3', 'multiple :: in address'],
    ['fe80::1%eth0', 'IPv6 zone id "%eth0" is not accepted (inet_pton takes none)'],
    ['[fe80::1%1]', 'IPv6 zone id "%1]" is not accepted (inet_pton takes none)'.replace('%1]', '%1')],
    ['::g', 'unexpected character "g" at position 3'],
    ['[::g]', 'unexpected character "g" at position 4'],
    ['12345::', 'IPv6 field has more than 4 hex digits ("12345" at position 1)'],
    ['1:2:3', 'IPv6 address too short: 3 fields, needs 8 or a ::'],
    ['1:2:3:4:5:6:7:8:9', 'IPv6 address too long: 9 fields, at most 8'],
    ['1:2:3:4:5:6:7::8', 'IPv6 address too long: 8 fields and a :: (which stands for at least one zero field)'],
    [':1::', 'each colon-separated field must have at least one digit (at position 1)'],
    ['1:::2', 'each colon-separated field must have at least one digit (at position 4)'],
    ['::1.2.3.04', 'embedded IPv4 address: IPv4 field has octet with leading zero (field 4, "04")'],
    ['1.2.3.4::', 'an embedded IPv4 address must be the last field (at position 1)'],
    ['[1.2.3.4]', 'brackets go around IPv6 addresses only'],
    ['localhost', NOT_AN_ADDRESS],
    ['', NOT_AN_ADDRESS],
  ];
  for (const [text, error] of cases) assert.equal(parseAddress(text), { error }, JSON.stringify(text));
});

test('parseAddress: IPv4 first, then IPv6, brackets for IPv6 only', () => {
  assert.equal(parseAddress('127.0.0.1'), { family: AF_INET, bytes: Uint8Array.of(127, 0, 0, 1), address: '127.0.0.1' });
  const one = parseAddress('[::1]');
  assert.ok(!('error' in one) && one.family === AF_INET6 && one.address === '::1' && hex(one.bytes) === '0'.repeat(31) + '1');
  assert.equal(stripBrackets('[::1]'), { inner: '::1', bracketed: true });
  assert.equal(stripBrackets('::1'), { inner: '::1', bracketed: false });
  assert.equal(stripBrackets('['), { inner: '[', bracketed: false });
  assert.equal(stripBrackets('[]'), { inner: '', bracketed: true });
  assert.is(hex(unmapIPv4(v6('::ffff:10.1.2.3')!)), '0a010203');
  assert.is(unmapIPv4(v6('::10.1.2.3')!), null);
  assert.is(unmapIPv4(v6('1::ffff:10.1.2.3')!), null);
  assert.is(unmapIPv4(Uint8Array.of(1, 2, 3, 4)), null);
});

test('parseAddress accepts exactly what inet_pton accepts, and explains nearly every refusal', () => {
  // The decision is inetPton's (glibc-exact, tests/address-glibc.test.ts);
  // here: parseAddress never disagrees with it, and a refused text that
  // looks like an address gets words more specific than NOT_AN_ADDRESS.
  const random = seededRandom(13);
  const pick = (s: string) => s[Math.floor(random() * s.length)];
  const seeds = ['192.168.1.1', '0.0.0.0', '255.255.255.255', '::1', '::', '2001:db8::1', '::ffff:1.2.3.4', 'fe80::1:2:3:4', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:1.2.3.4'];
  let refused = 0;
  let generic = 0;
  for (let i = 0; i < 20000; i++) {
    let text = seeds[i % seeds.length];
    for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
      const at = Math.floor(random() * (text.length + 1));
      const op = random();
      const char = pick('0123456789abcdefABCDEF.:.:%x ');
      if (op < 0.4) text = text.slice(0, at) + char + text.slice(at);
      else if (op < 0.8) text = text.slice(0, at) + text.slice(at + 1);
      else text = text.slice(0, at) + char + text.slice(at + 1);
    }
    const parsed = parseAddress(text);
    const accepted = inetPton(AF_INET, text) ?? inetPton(AF_INET6, text);
    assert.is(!('error' in parsed), accepted !== null, JSON.stringify(text));
    if (accepted) {
      assert.is(hex((parsed as { bytes: Uint8Array }).bytes), hex(accepted));
      continue;
    }
    refused++;
    if (text !== '' && (parsed as { error: string }).error === NOT_AN_ADDRESS && /[.:]/.test(text)) generic++;
  }
  assert.ok(refused > 5000, `${refused} refused`);
  assert.is(generic, 0, `${generic} of ${refused} refusals had no specific words`);
  assert.is(explainAddress('example'), null);
});

test('hton, --host, --allow and the client\'s HOST give the same words', async () => {
  const runs = await Promise.all([
    runScript('hton', ['192.168.1.01']),
    runScript('echo-server', ['--host', '192.168.1.01', '--port', '0']),
    runScript('echo-server', ['--allow', '1::2::3', '--port', '0']),
    runScript('client', ['fe80::1%eth0', '9']),
  ]);
  const [hton, host, allow, client] = runs;
  for (const run of runs) {
    assert.is(run.code, 2, run.stderr);
    assert.is(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.ok(!hasStackTrace(run.stderr), run.stderr);
  }
  assert.match(hton.stderr, /^hton: error: "192\.168\.1\.01": IPv4 field has octet with leading zero \(field 4, "01"\)( \(inet_aton .*\))?; expected a number/);
  assert.match(host.stderr, /^echo-server: error: --host "192\.168\.1\.01": expected an IPv4 address .* or a host name; IPv4 field has octet with leading zero \(field 4, "01"\)\n$/);
  assert.match(allow.stderr, /^echo-server: error: --allow "1::2::3": not an IPv4 or IPv6 address; multiple :: in address; expected ADDRESS/);
  assert.match(client.stderr, /^client: error: HOST "fe80::1%eth0": expected an IPv4 address .* or a host name; IPv6 zone id "%eth0" is not accepted \(inet_pton takes none\)\n$/);
});

test.run();
