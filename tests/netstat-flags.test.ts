// lib/netstat-flags.ts and lib/watch.ts's flag half: netstat's argv read
// into a filter, the tables to read and the --watch interval, and each
// mistake as a UsageError in one sentence.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../lib/errors.ts';
import { parseNetstatFlags, parseState, parseWantedPort } from '../lib/netstat-flags.ts';
import { takeOptionalValue, watchSeconds } from '../lib/watch.ts';

const flags = (...argv: string[]) => parseNetstatFlags('netstat', 'help', argv)!;

test('takeOptionalValue: --watch, --watch N, --watch=N; -- ends the search', () => {
  assert.equal(takeOptionalValue(['-t', '--watch'], '--watch'), { present: true, value: undefined, rest: ['-t'] });
  assert.equal(takeOptionalValue(['--watch', '2', '-t'], '--watch'), { present: true, value: '2', rest: ['-t'] });
  assert.equal(takeOptionalValue(['--watch=0.5'], '--watch'), { present: true, value: '0.5', rest: [] });
  // The next token is the value only when it looks like a number.
  assert.equal(takeOptionalValue(['--watch', 'abc'], '--watch'), { present: true, value: undefined, rest: ['abc'] });
  assert.equal(takeOptionalValue(['--watch', '-1'], '--watch').rest, ['-1']);
  assert.equal(takeOptionalValue(['--', '--watch'], '--watch'), { present: false, value: undefined, rest: ['--', '--watch'] });
});

test('watchSeconds: 0 without the flag, 1 bare, 0.1-86400 given', () => {
  assert.is(watchSeconds({ present: false, rest: [] }), 0);
  assert.is(watchSeconds({ present: true, rest: [] }), 1);
  assert.is(watchSeconds({ present: true, value: '2.5', rest: [] }), 2.5);
  assert.throws(() => watchSeconds({ present: true, value: '0', rest: [] }), (e: Error) => e instanceof UsageError && e.message === '--watch "0": expected a number 0.1-86400');
});

test('parseWantedPort and parseState', () => {
  assert.is(parseWantedPort('8001'), 8001);
  assert.throws(() => parseWantedPort('0'), /no socket has port 0/);
  assert.throws(() => parseWantedPort('65536'), /expected an integer 0-65535/);
  assert.is(parseState('time-wait'), 'TIME_WAIT');
  assert.is(parseState('ESTAB'), 'ESTABLISHED');
  assert.throws(() => parseState('bogus'), (e: Error) => e instanceof UsageError && e.message.startsWith('--state "bogus": unknown state; expected one of ESTABLISHED, '));
});

test('parseNetstatFlags: tables default to tcp+udp; filters; watch args for the heading', () => {
  const none = flags();
  assert.equal(none.kinds, { tcp: true, udp: true, unix: false });
  assert.equal(none.filter, { port: undefined, state: undefined, listening: false });
  assert.is(none.interval, 0);
  assert.equal(flags('-x').kinds, { tcp: false, udp: false, unix: true });
  const lesson = flags('-tlnp', '--port', '8001', '--watch', '2');
  assert.equal(lesson.kinds, { tcp: true, udp: false, unix: false });
  assert.equal(lesson.filter, { port: 8001, state: undefined, listening: true });
  assert.is(lesson.interval, 2);
  assert.equal(lesson.watchArgs, ['-tlnp', '--port', '8001']);
  const s = flags('-s', '--json', '--explain');
  assert.equal([s.statistics, s.json, s.explain], [true, true, true]);
});

test('parseNetstatFlags: mistakes, in the order the script reported them', () => {
  assert.throws(() => flags('--bogus'), /unknown option --bogus/);
  assert.throws(() => flags('extra'), /unexpected argument "extra"/);
  // --port is checked before --watch's value.
  assert.throws(() => flags('--port', '0', '--watch', '0'), /--port 0/);
  assert.throws(() => flags('--watch', '0'), /--watch "0"/);
});

test.run();
