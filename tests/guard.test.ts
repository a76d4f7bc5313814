// lib/guard.ts: the rate-limited logger (with a fake clock), the reflection
// port table, and echo-server --udp against datagrams from the source ports
// of auto-answering services (dropped, counted, logged at most once a second)
// and from an ordinary port (echoed). Binding a port below 1024 needs root
// (or CAP_NET_BIND_SERVICE); a port that cannot be bound is skipped with a
// visible line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import dgram from 'node:dgram';
import { REFLECTION_PORTS, RateLimitedLog, isReflectionPort } from '../lib/serve/guard.ts';
import { startScript, withDeadline } from './helpers.ts';

test('RateLimitedLog: once per interval, the rest counted and reported with the next line', () => {
  let now = 0;
  const lines: string[] = [];
  const log = new RateLimitedLog((line) => lines.push(line), { now: () => now });
  for (let i = 0; i < 1000; i++) log.log('drop');
  assert.equal(lines, ['drop']);
  assert.is(log.suppressed, 999);
  now = 999;
  assert.is(log.log('drop'), false);
  now = 1000;
  assert.is(log.log('drop'), true);
  assert.equal(lines, ['drop', 'drop (1000 more not logged since the last such line)']);
  const burst = new RateLimitedLog((line) => lines.push(line), { now: () => now, burst: 3 });
  lines.length = 0;
  for (let i = 0; i < 10; i++) burst.log(`deny ${i}`);
  assert.equal(lines, ['deny 0', 'deny 1', 'deny 2']);
});

test('isReflectionPort: the issue\'s list and more; ordinary ports pass', () => {
  for (const port of [7, 13, 17, 19, 37, 53, 123, 161, 1900]) assert.ok(isReflectionPort(port), String(port));
  for (const port of REFLECTION_PORTS) assert.ok(isReflectionPort(port));
  for (const port of [1, 8, 80, 443, 1024, 8001, 40000, 65535]) assert.not.ok(isReflectionPort(port), String(port));
});

async function bound(port: number): Promise<dgram.Socket | string> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.close();
      resolve(error.code ?? error.message);
    });
    socket.bind(port, '127.0.0.1', () => resolve(socket));
  });
}

test('echo-server --udp: datagrams from port 7/13/17/19/37/53/123/161/1900 are dropped and counted; port N echoes', async () => {
  const server = startScript('echo-server', ['--udp', '--port', '0', '--quiet']);
  const sockets: dgram.Socket[] = [];
  try {
    const { port } = await server.listening();
    // An ordinary sender first: it must be answered.
    const normal = (await bound(0)) as dgram.Socket;
    sockets.push(normal);
    const normalReplies: Buffer[] = [];
    normal.on('message', (m) => normalReplies.push(m));
    const firstReply = new Promise((resolve) => normal.once('message', resolve));
    normal.send('ordinary', port, '127.0.0.1');
    await withDeadline(firstReply, 5000, 'the reply to an ordinary port');
    assert.is(normalReplies[0].toString(), 'ordinary');

    let dropped = 0;
    const received: Array<[number, number]> = [];
    for (const source of [7, 13, 17, 19, 37, 53, 123, 161, 1900]) {
      const socket = await bound(source);
      if (typeof socket === 'string') {
        console.log(`  skip: cannot bind UDP source port ${source} (${socket}); needs root or CAP_NET_BIND_SERVICE`);
        continue;
      }
      sockets.push(socket);
      socket.on('message', () => received.push([source, 1]));
      // A burst, as a reflected flood or an echo loop would be.
      for (let i = 0; i < 50; i++) socket.send(`from ${source}`, port, '127.0.0.1');
      dropped += 50;
    }
    if (dropped === 0) {
      console.log('  skip: no well-known source port could be bound');
      return;
    }
    // Then the ordinary sender again: the server is still answering, in order,
    // so by the time this comes back every earlier datagram was handled.
    const lastReply = new Promise((resolve) => normal.once('message', resolve));
    normal.send('still here', port, '127.0.0.1');
    await withDeadline(lastReply, 5000, 'the second reply to an ordinary port');
    assert.equal(received, [], 'no datagram went back to a well-known port');

    assert.is((await server.stop()).code, 0);
    assert.match(server.stderr, new RegExp(`summary: 2 datagrams, 18 bytes echoed, ${dropped} dropped \\(reflection guard\\)\\n`));
    const logLines = server.stderr.split('\n').filter((line) => line.startsWith('drop datagram'));
    assert.ok(logLines.length >= 1 && logLines.length <= 3, `at most one drop line a second, got ${logLines.length}:\n${server.stderr}`);
    assert.match(logLines[0], /^drop datagram from 127\.0\.0\.1:\d+: source port \d+ is an auto-answering UDP service \(reflection guard\)$/);
    console.log(`  ${dropped} datagrams from well-known ports dropped, ${logLines.length} log line(s)`);
  } finally {
    for (const socket of sockets) socket.close();
    server.child.kill('SIGKILL');
  }
});

test('echo-server --udp: never sends more than it receives (one reply per datagram, same size)', async () => {
  const server = startScript('echo-server', ['--udp', '--port', '0', '--quiet']);
  const socket = (await bound(0)) as dgram.Socket;
  try {
    const { port } = await server.listening();
    const sizes = [0, 1, 100, 1400, 9000, 65000];
    const replies: number[] = [];
    // A marker last: on loopback, one socket, one thread, replies come back in
    // order, so any extra reply would arrive before the marker's.
    const marker = new Promise<void>((resolve) =>
      socket.on('message', (m) => (m.toString() === 'marker' ? resolve() : replies.push(m.length))),
    );
    for (const size of sizes) socket.send(Buffer.alloc(size, 0x61), port, '127.0.0.1');
    socket.send('marker', port, '127.0.0.1');
    await withDeadline(marker, 5000, 'the replies');
    assert.equal(replies, sizes);
  } finally {
    socket.close();
    server.child.kill('SIGKILL');
  }
});

test.run();
