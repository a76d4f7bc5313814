// lib/acl.ts: CIDR parsing and the --allow/--deny decision (vectors), then
// every server script with a list: one client that must get through and one
// that must be turned away (closed at once, `deny SRC -> DST`, counted).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { AccessList, parseCidr, peerAddress } from '../lib/serve/acl.ts';
import { UsageError } from '../lib/errors.ts';
import { connect, readAll, readBytes, runScript, startScript, withDeadline } from './helpers.ts';

test('parseCidr: IPv4, IPv6, bare addresses, mapped IPv4, host bits', () => {
  const cases: Array<[string, string, number, string]> = [
    ['10.0.0.0/8', '10.0.0.0', 8, 'ipv4'],
    ['127.0.0.1', '127.0.0.1', 32, 'ipv4'],
    ['0.0.0.0/0', '0.0.0.0', 0, 'ipv4'],
    ['::1', '::1', 128, 'ipv6'],
    ['[::1]/128', '::1', 128, 'ipv6'],
    ['fd00::/8', 'fd00::', 8, 'ipv6'],
    ['::/0', '::', 0, 'ipv6'],
    ['2001:DB8::/32', '2001:db8::', 32, 'ipv6'],
    ['::ffff:10.0.0.0/104', '10.0.0.0', 8, 'ipv4'],
    ['::ffff:127.0.0.1', '127.0.0.1', 32, 'ipv4'],
    ['10.1.2.3/8', '10.1.2.3', 8, 'ipv4'],
  ];
  for (const [text, address, prefix, family] of cases) {
    assert.equal(parseCidr(text), { address, prefix, family }, text);
  }
});

test('parseCidr: bad input is a UsageError naming the flag and the input', () => {
  const bad = ['', '/', '10.0.0.0/', '10.0.0.0/33', '::/129', '10.0.0/8', '127.1', '01.2.3.4', 'localhost',
    '10.0.0.0/08x', '10.0.0.0/-1', '10.0.0.0/ 8', 'fe80::1%eth0', '1::2::3/64', 'x'.repeat(100), '١٠.0.0.0/8'];
  for (const text of bad) {
    try {
      parseCidr(text, '--deny');
      assert.unreachable(`accepted ${JSON.stringify(text)}`);
    } catch (error) {
      assert.instance(error, UsageError, text);
      assert.ok((error as Error).message.startsWith(`--deny ${JSON.stringify(text)}: `), (error as Error).message);
    }
  }
});

test('peerAddress: IPv4-mapped IPv6 peers are judged as IPv4', () => {
  assert.equal(peerAddress('::ffff:127.0.0.1'), { address: '127.0.0.1', family: 'ipv4' });
  assert.equal(peerAddress('::ffff:7f00:2'), { address: '127.0.0.2', family: 'ipv4' });
  assert.equal(peerAddress('::1'), { address: '::1', family: 'ipv6' });
  assert.equal(peerAddress('10.0.0.1'), { address: '10.0.0.1', family: 'ipv4' });
  assert.is(peerAddress(undefined), null);
  assert.is(peerAddress('example.com'), null);
});

test('AccessList: no rules = no list; --deny only; any --allow = default deny; --deny wins', () => {
  assert.is(AccessList.fromFlags([], []), null);
  assert.is(AccessList.fromFlags(undefined, undefined), null);
  const denyOnly = AccessList.fromFlags([], ['10.0.0.0/8', '2001:db8::/32'])!;
  const table: Array<[AccessList, string, boolean]> = [
    [denyOnly, '10.1.2.3', false],
    [denyOnly, '::ffff:10.1.2.3', false],
    [denyOnly, '11.0.0.1', true],
    [denyOnly, '2001:db8::5', false],
    [denyOnly, '2001:db9::5', true],
    [denyOnly, '::1', true],
  ];
  const mixed = AccessList.fromFlags(['127.0.0.0/8', '::1'], ['127.0.0.2'])!;
  table.push(
    [mixed, '127.0.0.1', true],
    [mixed, '::ffff:127.0.0.1', true],
    [mixed, '127.0.0.2', false], // --deny wins over --allow 127.0.0.0/8
    [mixed, '::ffff:127.0.0.2', false],
    [mixed, '::1', true],
    [mixed, '::2', false], // default deny once an --allow exists
    [mixed, '192.168.1.1', false],
    [mixed, undefined as unknown as string, false],
  );
  const everyone = AccessList.fromFlags(['0.0.0.0/0', '::/0'], [])!;
  table.push([everyone, '203.0.113.9', true], [everyone, 'fe80::1', true]);
  for (const [acl, peer, expected] of table) assert.is(acl.allows(peer), expected, `${acl.describe()} / ${peer}`);
  assert.is(mixed.describe(), 'allow 127.0.0.0/8; allow ::1/128; deny 127.0.0.2/32; deny everyone else');
});

/** Connects and reports whether the server echoed `hello` or closed at once. */
async function tryEcho(port: number, host = '127.0.0.1', localAddress?: string): Promise<'echoed' | 'closed'> {
  const socket = net.connect({ port, host, localAddress });
  socket.on('error', () => {});
  await withDeadline(once(socket, 'connect'), 5000, 'connect');
  socket.write('hello');
  const got = await readBytes(socket, 5).catch(() => Buffer.alloc(0));
  socket.destroy();
  return got.toString() === 'hello' ? 'echoed' : 'closed';
}

test('echo-server TCP: --allow lets 127.0.0.1 in, --deny 127.0.0.2 is closed at once and logged', async () => {
  const server = startScript('echo-server', ['--port', '0', '--quiet', '--allow', '127.0.0.0/8', '--deny', '127.0.0.2']);
  try {
    const { port } = await server.listening();
    assert.is(await tryEcho(port, '127.0.0.1', '127.0.0.1'), 'echoed');
    assert.is(await tryEcho(port, '127.0.0.1', '127.0.0.2'), 'closed');
    await server.waitForStderr(new RegExp(`deny 127\\.0\\.0\\.2:\\d+ -> 127\\.0\\.0\\.1:${port} \\(--allow/--deny\\)`));
    assert.is((await server.stop()).code, 0);
    assert.match(server.stderr, /summary: 1 connection, 5 bytes echoed, 1 denied \(--allow\/--deny\)\n/);
    assert.not.match(server.stderr, /open 127\.0\.0\.2/);
  } finally {
    server.child.kill('SIGKILL');
  }
});

test('echo-server on dual-stack ::  matches IPv4-mapped peers against IPv4 rules', async () => {
  const server = startScript('echo-server', ['--host', '::', '--port', '0', '--quiet', '--deny', '127.0.0.2']);
  try {
    const { port } = await server.listening();
    assert.is(await tryEcho(port, '127.0.0.1', '127.0.0.1'), 'echoed');
    assert.is(await tryEcho(port, '127.0.0.1', '127.0.0.2'), 'closed');
    assert.is(await tryEcho(port, '::1'), 'echoed');
    await server.waitForStderr(/deny \[::ffff:127\.0\.0\.2\]:\d+ -> /);
  } finally {
    await server.stop().catch(() => {});
    server.child.kill('SIGKILL');
  }
});

test('echo-server UDP: a denied datagram is dropped and counted, an allowed one echoes', async () => {
  const server = startScript('echo-server', ['--udp', '--port', '0', '--quiet', '--allow', '127.0.0.1']);
  const sockets: dgram.Socket[] = [];
  try {
    const { port } = await server.listening();
    const ask = async (local: string): Promise<string> => {
      const socket = dgram.createSocket('udp4');
      sockets.push(socket);
      await new Promise<void>((resolve) => socket.bind(0, local, resolve));
      const reply = new Promise<string>((resolve) => socket.once('message', (m) => resolve(m.toString())));
      socket.send('ping', port, '127.0.0.1');
      // No reply is the expected answer for a denied sender: wait 1 s for one.
      return Promise.race([reply, new Promise<string>((resolve) => setTimeout(() => resolve('(none)'), 1000))]);
    };
    assert.is(await ask('127.0.0.1'), 'ping');
    assert.is(await ask('127.0.0.3'), '(none)');
    await server.waitForStderr(/deny datagram from 127\.0\.0\.3:\d+ \(--allow\/--deny\)/);
    assert.is((await server.stop()).code, 0);
    assert.match(server.stderr, /summary: 1 datagram, 4 bytes echoed, 1 denied \(--allow\/--deny\)\n/);
  } finally {
    for (const socket of sockets) socket.close();
    server.child.kill('SIGKILL');
  }
});

test('talk-server and http-hello: a denied client is closed at once with a deny line', async () => {
  const talk = startScript('talk-server', ['--port', '0', '--deny', '127.0.0.1'], { stdin: 'pipe' });
  const http = startScript('http-hello', ['--port', '0', '--allow', '::1']);
  try {
    const [t, h] = await Promise.all([talk.listening(), http.listening()]);
    for (const [proc, port] of [[talk, t.port], [http, h.port]] as const) {
      const socket = await connect(port);
      socket.on('error', () => {});
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      // Closed with our bytes unread: a FIN or, as often, a reset.
      assert.is((await readAll(socket).catch(() => Buffer.alloc(0))).length, 0, 'nothing comes back');
      await proc.waitForStderr(new RegExp(`deny 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${port} \\(--allow/--deny\\)`));
      assert.not.match(proc.stderr, /open 127/);
    }
    assert.is((await talk.stop()).code, 0);
    assert.match(talk.stderr, /summary: 0 connections, .*1 denied \(--allow\/--deny\)/);
  } finally {
    talk.child.kill('SIGKILL');
    await http.stop().catch(() => {});
    http.child.kill('SIGKILL');
  }
});

test('http-hello: an allowed client gets in', async () => {
  const http = startScript('http-hello', ['--port', '0', '--allow', '127.0.0.0/8', '--deny', '10.0.0.0/8']);
  try {
    const { port } = await http.listening();
    const socket = await connect(port);
    socket.write('GET / HTTP/1.0\r\n\r\n');
    assert.match((await readAll(socket)).toString(), /^HTTP\/1\.1 200 OK/);
    await http.waitForStderr(/open 127\.0\.0\.1/);
  } finally {
    await http.stop().catch(() => {});
    http.child.kill('SIGKILL');
  }
});

test('listen-only: the list applies at accept(): a denied queued client is closed', async () => {
  const server = startScript('listen-only', ['--port', '0', '--for', '1', '--deny', '127.0.0.1']);
  try {
    const { port } = await server.listening();
    const socket = await connect(port); // the kernel queues it whatever the list says
    socket.on('error', () => {});
    socket.write('queued');
    assert.is((await readAll(socket, 8000).catch(() => Buffer.alloc(0))).length, 0);
    await server.waitForStderr(/deny 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ \(--allow\/--deny\)/, 8000);
    assert.is((await server.wait(8000)).code, 0);
    assert.not.match(server.stdout, /accepted 127/);
  } finally {
    server.child.kill('SIGKILL');
  }
});

test('every server: a bad CIDR exits 2 in one line; --unix with a list exits 2', async () => {
  const sock = path.join(os.tmpdir(), `acl-${process.pid}.sock`);
  const runs: Array<[string, string[], RegExp]> = [
    ['echo-server', ['--allow', '10.0.0.0/33'], /^echo-server: error: --allow "10\.0\.0\.0\/33": the prefix length must be 0-32; /],
    ['echo-server', ['--udp', '--deny', 'nope'], /^echo-server: error: --deny "nope": not an IPv4 or IPv6 address; /],
    ['talk-server', ['--deny', '::/129'], /^talk-server: error: --deny "::\/129": the prefix length must be 0-128; /],
    ['http-hello', ['--allow', ''], /^http-hello: error: --allow "": not an IPv4 or IPv6 address; /],
    ['listen-only', ['--allow', '127.1'], /^listen-only: error: --allow "127\.1": not an IPv4 or IPv6 address; /],
    ['echo-server', ['--unix', sock, '--allow', '127.0.0.1'], /^echo-server: error: --allow\/--deny filter IP addresses and Unix socket peers have none; /],
    ['talk-server', ['--unix', sock, '--deny', '::1'], /^talk-server: error: --allow\/--deny filter IP addresses/],
  ];
  const results = await Promise.all(runs.map(([name, args]) => runScript(name, args)));
  results.forEach((result, i) => {
    assert.is(result.code, 2, `${runs[i][0]} ${runs[i][1].join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, runs[i][2]);
    assert.is(result.stderr.split('\n').length, 2, result.stderr);
  });
});

test.run();
