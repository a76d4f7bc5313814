// syscalls, for real: echo-server, client and a UDP echo traced by strace
// with a real client on loopback, and the refusals (no strace on PATH, a
// command that does not exist), each one line and exit 1.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { connect, hasStackTrace, missingCommand, needs, readBytes, runScript, startScript, withDeadline } from './helpers.ts';

const withStrace = needs(test, 'strace', missingCommand('strace', ['-V']));

withStrace('syscalls -- echo-server --port 0 --quiet: socket, bind htons(0), getsockname with the real port, listen 511, accept4, read, write, summary', async () => {
  const proc = startScript('syscalls', ['--', 'echo-server', '--port', '0', '--quiet']);
  const { port } = await proc.listening(30000);
  // The getsockname after bind shows the port the kernel chose, as htons.
  await proc.waitForStderr(new RegExp(`getsockname\\(\\d+, \\{sa_family=AF_INET, sin_port=htons\\(${port}\\)`), 10000);
  const client = await connect(port);
  client.write('hello\n');
  assert.is((await readBytes(client, 6)).toString(), 'hello\n');
  const clientPort = client.localPort!;
  client.end();
  await once(client, 'close');
  await proc.waitForStderr(/close\(\d+\) = 0/, 10000);
  const exit = await proc.stop('SIGTERM', 15000);
  assert.is(exit.code, 0, proc.stderr);
  const err = proc.stderr;
  assert.match(err, /socket\(AF_INET, SOCK_STREAM\|SOCK_CLOEXEC\|SOCK_NONBLOCK, IPPROTO_IP\) = (\d+)/);
  assert.match(err, /setsockopt\(\d+, SOL_SOCKET, SO_REUSEADDR, \[1\], 4\) = 0/);
  assert.match(err, /bind\(\d+, \{sa_family=AF_INET, sin_port=htons\(0\), sin_addr=inet_addr\("127.0.0.1"\)\}, 16\) = 0/);
  assert.match(err, /sockaddr_in 127\.0\.0\.1 port 0 \(sin_port=htons\(0\)\): 02 00 00 00 7f 00 00 01 00 00 00 00 00 00 00 00/);
  const portBytes = `${(port >> 8).toString(16).padStart(2, '0')} ${(port & 0xff).toString(16).padStart(2, '0')}`;
  assert.ok(err.includes(`port ${port} (sin_port=htons(${port})): 02 00 ${portBytes} 7f 00 00 01`), `the real port's bytes ${portBytes}\n${err}`);
  assert.match(err, /listen\(\d+, 511\) = 0/);
  assert.match(err, /accept4\(\d+, NULL, NULL, SOCK_CLOEXEC\|SOCK_NONBLOCK\) = \d+/);
  assert.ok(err.includes(`127.0.0.1:${port} <- 127.0.0.1:${clientPort} (the client)`), err);
  assert.match(err, /read\(\d+, "hello\\n", 65536\) = 6/);
  assert.match(err, /write\(\d+, "hello\\n", 6\) = 6/);
  assert.match(err, /summary \(exit code 0\):\n/);
  assert.match(err, /\n {2}accept4 ×1\n/);
  assert.match(err, /\n {2}read ×\d+, 6 bytes\n/);
  // Not the runtime's plumbing: no Unix socket, no pipe, no file.
  assert.not.match(err, /AF_UNIX|UNIX-STREAM|tsx-\d+/);
  assert.not.ok(hasStackTrace(err));
});

withStrace('syscalls -- client 127.0.0.1 PORT shows connect, the data both ways and the exit code', async () => {
  const server = net.createServer((socket) => socket.pipe(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  try {
    const result = await runScript('syscalls', ['--', 'client', '127.0.0.1', String(port)], { input: 'hi\n', deadlineMs: 30000 });
    assert.is(result.code, 0, result.stderr);
    assert.is(result.stdout, 'hi\n', 'the traced program keeps its stdout');
    assert.match(result.stderr, new RegExp(`connect\\(\\d+, \\{sa_family=AF_INET, sin_port=htons\\(${port}\\), sin_addr=inet_addr\\("127.0.0.1"\\)\\}, 16\\) = -1 EINPROGRESS`));
    assert.match(result.stderr, /write\(\d+, "hi\\n", 3\) = 3/);
    assert.match(result.stderr, /connect ×1 \(1 EINPROGRESS\)/);
  } finally {
    server.close();
  }
});

withStrace('syscalls --json -- echo-server --udp: recvmsg and sendmsg with the sender, one JSON document; SIGINT passed on', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syscalls-test-'));
  const out = path.join(dir, 'trace.json');
  const proc = startScript('syscalls', ['--json', '-o', out, '--', 'echo-server', '--udp', '--port', '0', '--quiet']);
  try {
    const { port } = await proc.listening(30000);
    const socket = dgram.createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    socket.send('ping\n', port, '127.0.0.1');
    const [reply] = (await withDeadline(once(socket, 'message'), 5000, 'the echo')) as [Buffer];
    assert.is(reply.toString(), 'ping\n');
    const myPort = socket.address().port;
    socket.close();
    // SIGINT to syscalls alone (stdin is no terminal): passed on, the server stops, exit 0.
    const exit = await proc.stop('SIGINT', 15000);
    assert.is(exit.code, 0, proc.stderr);
    const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.is(doc.exitCode, 0);
    const names = doc.calls.map((c: { name: string }) => c.name);
    assert.ok(names.includes('socket') && names.includes('bind'), names.join(' '));
    const received = doc.calls.find((c: { name: string; data?: string }) => /^recv/.test(c.name) && c.data === 'ping\n');
    assert.ok(received, JSON.stringify(doc.calls, null, 1));
    assert.is(received.sockaddr.port, myPort);
    assert.is(received.result, 5);
    const sent = doc.calls.find((c: { name: string }) => /^send/.test(c.name));
    assert.is(sent.data, 'ping\n');
    assert.is(sent.sockaddr.port, myPort);
    const row = doc.summary.find((r: { name: string }) => r.name === received.name);
    assert.ok(row.bytes >= 5);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

withStrace('syscalls --all -- echo-server --unix PATH: the Unix socket on PATH is shown, with epoll; tsx\'s IPC socket is not', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syscalls-unix-'));
  const sock = path.join(dir, 'echo.sock');
  const proc = startScript('syscalls', ['--all', '--', 'echo-server', '--unix', sock, '--quiet']);
  try {
    await proc.listening(30000);
    const client = net.connect(sock);
    await once(client, 'connect');
    client.write('unix\n');
    assert.is((await readBytes(client, 5)).toString(), 'unix\n');
    client.end();
    await once(client, 'close');
    await proc.waitForStderr(/read\(\d+, "", 65536\) = 0/, 10000);
    const exit = await proc.stop('SIGTERM', 15000);
    assert.is(exit.code, 0, proc.stderr);
    const err = proc.stderr;
    assert.match(err, /^epoll: Node never blocks in accept\(\) or read\(\)/m);
    assert.ok(err.includes(`bind(`) && err.includes(`sun_path="${sock}"`), err);
    assert.match(err, /socket\(AF_UNIX, SOCK_STREAM/);
    assert.match(err, /accept4\(\d+, NULL, NULL/);
    assert.match(err, /read\(\d+, "unix\\n", 65536\) = 5/);
    assert.match(err, /epoll_ctl\(\d+, EPOLL_CTL_ADD, \d+, /);
    assert.match(err, /\n {2}epoll_ctl ×\d+\n/);
    assert.not.match(err, /tsx-\d+|\.pipe"/);
  } finally {
    proc.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

withStrace("the traced program's exit code is syscalls' own: echo-server on a port in use exits 1", async () => {
  const busy = net.createServer();
  busy.listen(0, '127.0.0.1');
  await once(busy, 'listening');
  try {
    const port = String((busy.address() as net.AddressInfo).port);
    const result = await runScript('syscalls', ['--', 'echo-server', '--port', port], { deadlineMs: 30000 });
    assert.is(result.code, 1, result.stderr);
    assert.match(result.stderr, /bind\(\d+, .*\) = -1 EADDRINUSE \(Address already in use\)/);
    assert.match(result.stderr, /summary \(exit code 1\):/);
  } finally {
    busy.close();
  }
});

withStrace('a command that does not exist: one line naming it, exit 1', async () => {
  const result = await runScript('syscalls', ['--', 'no-such-command-xyz', '--flag']);
  assert.is(result.code, 1);
  assert.is(result.stderr, 'syscalls: error: command not found: no-such-command-xyz\n');
});

test('strace not on PATH: one line, install strace, exit 1', async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'syscalls-path-'));
  try {
    const result = await runScript('syscalls', ['--', 'echo-server', '--port', '0'], { env: { PATH: empty } });
    assert.is(result.code, 1);
    assert.is(result.stderr, 'syscalls: error: strace not found on PATH: install strace (Debian package strace)\n');
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('ptrace refused (a strace that says so, first on PATH): one line naming it, exit 1', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syscalls-ptrace-'));
  try {
    // What strace prints in a container without CAP_SYS_PTRACE.
    fs.writeFileSync(path.join(dir, 'strace'), '#!/bin/sh\necho "strace: ptrace(PTRACE_TRACEME, ...): Operation not permitted" >&2\nexit 1\n', { mode: 0o755 });
    const result = await runScript('syscalls', ['--', 'echo-server'], { env: { PATH: `${dir}:${process.env.PATH}` } });
    assert.is(result.code, 1);
    assert.match(result.stderr, /^syscalls: error: ptrace refused \(ptrace\(PTRACE_TRACEME, \.\.\.\): Operation not permitted\): .*CAP_SYS_PTRACE.*\n$/);
    assert.is(result.stderr.split('\n').length, 2);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('usage: no command, an unknown flag', async () => {
  const none = await runScript('syscalls', ['--all']);
  assert.is(none.code, 2);
  assert.match(none.stderr, /^syscalls: error: no command to trace/);
  const bad = await runScript('syscalls', ['--nope', 'echo-server']);
  assert.is(bad.code, 2);
  assert.is(bad.stderr.split('\n').length, 2);
});

test.run();
