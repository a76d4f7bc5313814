// lib/hexdump.ts: known lines, and the util-linux `hexdump -C` itself as the
// oracle for random data, repeated lines and every length around a line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { HexDumper, hexLine, hexdump } from '../lib/wire/hexdump.ts';
import { needs } from './helpers.ts';

function oracle(data: Buffer): string | null {
  try {
    return execFileSync('hexdump', ['-C'], { input: data, encoding: 'utf8' });
  } catch {
    return null;
  }
}
const hasOracle = oracle(Buffer.from('x')) !== null;

test('known lines', () => {
  assert.is(hexdump(Buffer.from('hello\n')), '00000000  68 65 6c 6c 6f 0a                                 |hello.|\n00000006\n');
  assert.is(
    hexLine(Uint8Array.from({ length: 16 }, (_, i) => i + 0x1e), 0x10),
    '00000010  1e 1f 20 21 22 23 24 25  26 27 28 29 2a 2b 2c 2d  |.. !"#$%&\'()*+,-|',
  );
  assert.is(hexdump(new Uint8Array(0)), '');
  assert.is(
    hexdump(new Uint8Array(40)),
    '00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n' +
      '*\n' +
      '00000020  00 00 00 00 00 00 00 00                           |........|\n' +
      '00000028\n',
  );
  assert.is(hexLine(Uint8Array.of(0x7e, 0x7f, 0x80, 0xff), 0), '00000000  7e 7f 80 ff' + ' '.repeat(39) + '|~...|');
});

const oracleTest = needs(test, 'hexdump', hasOracle ? undefined : 'no hexdump(1) on this machine');

oracleTest('equals hexdump -C for random data of every length around a line', () => {
  for (const length of [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 4096, 70001]) {
    const data = crypto.randomBytes(length);
    assert.is(hexdump(data), oracle(data), `length ${length}`);
  }
});

oracleTest('equals hexdump -C with repeated lines folded into *', () => {
  const line = Buffer.from('0123456789abcdef');
  const data = Buffer.concat([line, line, line, Buffer.from('x'), line, line, Buffer.alloc(100), Buffer.from('tail')]);
  assert.is(hexdump(data), oracle(data));
});

test('streaming in random chunks gives the same output as one buffer', () => {
  const data = Buffer.concat([crypto.randomBytes(1000), Buffer.alloc(200, 0x41), crypto.randomBytes(333)]);
  const whole = hexdump(data);
  for (let round = 0; round < 20; round++) {
    const dumper = new HexDumper();
    let out = '';
    for (let at = 0; at < data.length; ) {
      const size = 1 + crypto.randomInt(60);
      out += dumper.push(data.subarray(at, at + size));
      at += size;
    }
    out += dumper.end();
    assert.is(out, whole);
  }
});

test('flush prints a partial line at once; the next line continues at the real offset', () => {
  const dumper = new HexDumper();
  assert.is(dumper.push(Buffer.from('hi\n')), '');
  assert.is(dumper.flush(), '00000000  68 69 0a' + ' '.repeat(42) + '|hi.|\n');
  assert.is(dumper.push(Buffer.from('ok\n')) + dumper.flush(), '00000003  6f 6b 0a' + ' '.repeat(42) + '|ok.|\n');
  assert.is(dumper.end(), '00000006\n');
});

test.run();
