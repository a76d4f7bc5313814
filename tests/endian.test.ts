// scripts/endian.ts run as a process: report, --json, --help, bad input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import os from 'node:os';
import { hasStackTrace, runScript } from './helpers.ts';

const ORDER = os.endianness() === 'LE' ? 'little' : 'big';

test('prints the byte order, 0x01020304 both ways, and os.endianness()', async () => {
  const { code, stdout, stderr } = await runScript('endian');
  assert.is(code, 0, stderr);
  assert.is(stderr, '');
  assert.match(stdout, new RegExp(`^host byte order: ${ORDER}-endian`, 'm'));
  assert.match(stdout, new RegExp(`^0x01020304 in host order: +${ORDER === 'little' ? '04 03 02 01' : '01 02 03 04'}$`, 'm'));
  assert.match(stdout, /^0x01020304 in network order: +01 02 03 04\b/m);
  assert.match(stdout, new RegExp(`^os.endianness\\(\\): ${os.endianness()} \\(agrees\\)$`, 'm'));
});

test('--json is one object with byteOrder', async () => {
  const { code, stdout, stderr } = await runScript('endian', ['--json']);
  assert.is(code, 0, stderr);
  const report = JSON.parse(stdout);
  assert.is(report.byteOrder, ORDER);
  assert.is(report.hostOrder, ORDER === 'little' ? '04 03 02 01' : '01 02 03 04');
  assert.is(report.networkOrder, '01 02 03 04');
  assert.is(report.osEndianness, os.endianness());
  assert.is(report.agrees, true);
  assert.is(report.unionFirstByte, ORDER === 'little' ? 1 : 0);
});

test('--help exits 0 and lists the exit codes; bad input exits 2 with one line', async () => {
  const [help, flag, extra] = await Promise.all([
    runScript('endian', ['--help']),
    runScript('endian', ['--bogus']),
    runScript('endian', ['extra']),
  ]);
  assert.is(help.code, 0);
  assert.match(help.stdout, /^Usage: endian/);
  assert.match(help.stdout, /Exit codes:/);
  for (const [run, what] of [[flag, /--bogus/], [extra, /"extra"/]] as const) {
    assert.is(run.code, 2, run.stderr);
    assert.is(run.stdout, '');
    assert.is(run.stderr.trimEnd().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /^endian: error: /);
    assert.match(run.stderr, what);
    assert.not.ok(hasStackTrace(run.stderr));
  }
});

test.run();
