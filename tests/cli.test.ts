// lib/cli.ts: value validation, errno in words, parseCli, and the exit code
// each kind of error maps to.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitCodesHelp, parseCli, parseHost, parseHostPort, parseNumber, parsePort, reportError } from '../lib/cli.ts';
import { plural, summaryLine } from '../lib/serve/summary.ts';
import { spawn } from 'node:child_process';
import { ROOT, runScript, withDeadline } from './helpers.ts';
import { EXIT_FAILURE, EXIT_USAGE, Failure, UsageError, describeError, errorCode } from '../lib/errors.ts';

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.instance(error, UsageError);
    return (error as Error).message;
  }
  assert.unreachable('expected a UsageError');
  return '';
}

// Captures what fn writes on stdout/stderr.
function capture(fn: () => unknown): { result: unknown; stdout: string; stderr: string } {
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  try {
    return { result: fn(), stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

test('parsePort accepts decimal 0-65535', () => {
  for (const [text, port] of [['0', 0], ['1', 1], ['80', 80], ['8001', 8001], ['65535', 65535], ['00080', 80]] as const) {
    assert.is(parsePort(text), port, text);
  }
});

test('parsePort rejects everything else, naming the flag and the text', () => {
  for (const text of ['65536', '-1', '+1', '1e3', '0x1f41', '', ' 80', '80 ', '123456', 'abc', '8.0', '٨٠']) {
    assert.is(usageMessage(() => parsePort(text)), `--port ${JSON.stringify(text)}: expected an integer 0-65535`);
  }
  assert.match(usageMessage(() => parsePort('x', '--to')), /^--to "x": /);
});

test('parseNumber: range, fractions, integers', () => {
  assert.is(parseNumber('2.5', '--idle-timeout'), 2.5);
  assert.is(parseNumber('0', '--n', { integer: true }), 0);
  assert.is(parseNumber('10', '--n', { min: 1, max: 10, integer: true }), 10);
  assert.is(usageMessage(() => parseNumber('2.5', '--n', { integer: true })), '--n "2.5": expected an integer >= 0');
  assert.is(usageMessage(() => parseNumber('11', '--n', { min: 1, max: 10 })), '--n "11": expected a number 1-10');
  assert.is(usageMessage(() => parseNumber('0', '--n', { min: 1, max: 10 })), '--n "0": expected a number 1-10');
  for (const text of ['-1', '1e3', 'NaN', 'Infinity', '', '.5', '5.', '0x10', ' 1']) {
    assert.match(usageMessage(() => parseNumber(text, '--n')), /^--n ".*": expected a number >= 0$/, text);
  }
});

test('parseHost: numeric addresses as inet_pton takes them, or names', () => {
  const ok: Array<[string, string]> = [
    ['127.0.0.1', '127.0.0.1'], ['0.0.0.0', '0.0.0.0'], ['::1', '::1'], ['[::1]', '::1'], ['::', '::'],
    ['::ffff:127.0.0.1', '::ffff:127.0.0.1'], ['localhost', 'localhost'], ['example.com', 'example.com'],
    ['my-host.local.', 'my-host.local.'], ['host1', 'host1'],
  ];
  for (const [text, host] of ok) assert.is(parseHost(text), host, text);
  for (const text of ['127.1', '0x7f.1', '0x7f000001', '256.1.1.1', '1.2.3.04', '1.2.3', 'fe80::1%eth0', '', ' ', 'a b', '-foo', 'foo_bar', '[localhost]', '1.2.3.4:80', '2130706433']) {
    assert.match(usageMessage(() => parseHost(text)), /^--host ".*": expected an IPv4 address \(127\.0\.0\.1\), an IPv6 address \(::1\) or a host name(; .+)?$/, text);
  }
});

test('describeError: errno codes in words, else the message', () => {
  const errno = (code: string, message = `${code.toLowerCase()} happened`) => Object.assign(new Error(message), { code });
  assert.is(describeError(errno('EADDRINUSE')), 'address already in use (EADDRINUSE)');
  assert.is(describeError(errno('ECONNREFUSED')), 'connection refused (ECONNREFUSED)');
  assert.is(describeError(errno('EACCES')), 'permission denied (EACCES)');
  assert.is(describeError(errno('ETIMEDOUT')), 'timed out (ETIMEDOUT)');
  assert.is(describeError(errno('ENOTFOUND')), 'host not found (ENOTFOUND)');
  assert.is(describeError(errno('EWEIRD', 'boom')), 'boom (EWEIRD)');
  assert.is(describeError(errno('EWEIRD', 'boom EWEIRD')), 'boom EWEIRD');
  assert.is(describeError(new Error('plain')), 'plain');
  assert.is(describeError('a string'), 'a string');
  assert.is(errorCode(errno('EPIPE')), 'EPIPE');
  assert.is(errorCode(new Error('x')), undefined);
  assert.is(errorCode(null), undefined);
});

test('parseCli: strict flags, --help, positionals', () => {
  const spec = { name: 't', help: 'Usage: t [--json]', options: { json: { type: 'boolean' as const } } };
  assert.is(parseCli(spec, ['--json'])?.values.json, true);
  const help = capture(() => parseCli(spec, ['--help']));
  assert.is(help.result, null);
  assert.is(help.stdout, 'Usage: t [--json]\n');
  assert.is(capture(() => parseCli(spec, ['-h'])).result, null);
  assert.is(usageMessage(() => parseCli(spec, ['--nope'])), 'unknown option --nope; see --help');
  assert.match(usageMessage(() => parseCli(spec, ['--json=1'])), /^option --json takes no value/);
  assert.match(usageMessage(() => parseCli(spec, ['extra'])), /^unexpected argument "extra"/);
  assert.equal(parseCli({ ...spec, maxPositionals: 2 }, ['a', 'b'])?.positionals, ['a', 'b']);
  assert.match(usageMessage(() => parseCli({ ...spec, maxPositionals: 1 }, ['a', 'b'])), /^too many arguments: "b"/);
  const port = { name: 't', help: '', options: { port: { type: 'string' as const } } };
  assert.match(usageMessage(() => parseCli(port, ['--port'])), /^option --port needs a value/);
});

test('reportError: one line and the exit code for each kind of error', () => {
  const usage = capture(() => reportError('t', new UsageError('bad flag')));
  assert.is(usage.result, EXIT_USAGE);
  assert.is(usage.stderr, 't: error: bad flag\n');
  const failure = capture(() => reportError('t', new Failure('port busy')));
  assert.is(failure.result, EXIT_FAILURE);
  assert.is(failure.stderr, 't: error: port busy\n');
  const errno = capture(() => reportError('t', Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' })));
  assert.is(errno.result, EXIT_FAILURE);
  assert.is(errno.stderr, 't: error: address already in use (EADDRINUSE)\n');
  const bug = capture(() => reportError('t', new TypeError('x is undefined')));
  assert.is(bug.result, EXIT_FAILURE);
  assert.is(bug.stderr.split('\n').length, 2, 'one line, no stack');
});

test('exitCodesHelp: a server says what Ctrl-C gives, directly and under npm; others do not talk of servers', () => {
  const server = exitCodesHelp({ server: true });
  assert.match(server, /Ctrl-C or SIGTERM/);
  assert.match(server, /npm reports 130 for Ctrl-C and 143 for SIGTERM/);
  const plain = exitCodesHelp();
  assert.not.match(plain, /Ctrl-C|server|port/i);
  assert.match(plain, /^Exit codes:\n  0  success\n  1  .+\n  2  a usage error/);
});

test('endian and hton --help: exit codes that apply to them (no server, no port in use, no Ctrl-C)', async () => {
  for (const name of ['endian', 'hton']) {
    const help = await runScript(name, ['--help']);
    const block = help.stdout.slice(help.stdout.indexOf('Exit codes:'));
    assert.ok(block.startsWith('Exit codes:'), name);
    assert.not.match(block, /server|port in use|Ctrl-C|SIGTERM/i, `${name}: ${block}`);
  }
  for (const name of ['echo-server', 'listen-only', 'talk-server', 'http-hello']) {
    const help = await runScript(name, ['--help']);
    assert.match(help.stdout, /Exit codes:\n  0  success, and when stopped with Ctrl-C or SIGTERM/, name);
  }
});

test('a shutdown that fails is one line on stderr and exit 1 (no unhandled rejection, no stack)', async () => {
  const program = `
    import { runMain } from './lib/cli.ts';
    import { onShutdown } from './lib/net.ts';
    import { Failure } from './lib/errors.ts';
    await runMain('demo', () => {
      onShutdown(async () => { throw new Failure('cannot stop: it broke'); });
      setInterval(() => {}, 1000);
      process.stderr.write('ready\\n');
    });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
    if (stderr.includes('ready\n')) child.kill('SIGTERM');
  });
  const code = await withDeadline(new Promise((resolve) => child.on('exit', resolve)), 15000, 'demo exit');
  assert.is(code, 1, stderr);
  assert.is(stderr, 'ready\ndemo: error: cannot stop: it broke\n');
});

test('parseHostPort: HOST PORT, HOST:PORT, [v6]:PORT; a bare IPv6 address stays a host', () => {
  const defaults = { host: '127.0.0.1', port: 8001 };
  assert.equal(parseHostPort([], defaults), { host: '127.0.0.1', port: 8001 });
  assert.equal(parseHostPort(['10.0.0.1'], defaults), { host: '10.0.0.1', port: 8001 });
  assert.equal(parseHostPort(['10.0.0.1', '9'], defaults), { host: '10.0.0.1', port: 9 });
  assert.equal(parseHostPort(['127.0.0.1:8002'], defaults), { host: '127.0.0.1', port: 8002 });
  assert.equal(parseHostPort(['[::1]:8003'], defaults), { host: '::1', port: 8003 });
  assert.equal(parseHostPort(['::1'], defaults), { host: '::1', port: 8001 });
  assert.equal(parseHostPort(['localhost:80'], defaults), { host: 'localhost', port: 80 });
  assert.throws(() => parseHostPort([':8001'], defaults), (e: Error) => e instanceof UsageError && /the host is missing/.test(e.message));
  assert.throws(() => parseHostPort(['127.0.0.1:x'], defaults), (e: Error) => e instanceof UsageError && /^PORT "x"/.test(e.message));
});

test('summaryLine: the parts, then each extra that is not zero', () => {
  assert.is(plural(1, 'connection'), '1 connection');
  assert.is(plural(0, 'datagram'), '0 datagrams');
  assert.is(summaryLine(['3 connections', '12 bytes echoed'], [[1, 'refused (--max-conns 2)'], [0, 'denied']]), 'summary: 3 connections, 12 bytes echoed, 1 refused (--max-conns 2)');
});

test.run();
