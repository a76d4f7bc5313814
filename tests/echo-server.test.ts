// scripts/echo-server.ts as a process on real loopback sockets: byte-exact
// echo (SHA-256 of 16 MiB), many clients, resets, half-close, bounded memory
// under a client that never reads, UDP, IPv6, Unix paths, signals and every
// error exit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { once } from 'node:events';
import {
  startScript, runScript, runCommand, needs, missingCommand, connect, readBytes, readAll, withDeadline, hasStackTrace, type ScriptProcess,
} from './helpers.ts';
import { readSockets } from '../lib/kernel/table.ts';

const sha256 = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'echo-test-'));

/** Sends `data`, half-closes, returns everything echoed until the server's FIN. */
async function echoOnce(port: number, data: Buffer, host = '127.0.0.1', ms = 10000): Promise<Buffer> {
  const socket = await connect(port, host);
  const reply = readAll(socket, ms);
  socket.end(data);
  return reply;
}

function vmKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]);
}

let server: ScriptProcess;
let port: number;

test.before(async () => {
  server = startScript('echo-server', ['--port', '0', '--quiet']);
  ({ port } = await server.listening());
});
test.after(async () => {
  await server.stop('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('ready line names the real port', () => {
  assert.match(server.stderr, /^listening on 127\.0\.0\.1:\d+ \(tcp\)\n/);
  assert.ok(port > 0);
});

test('one byte, one line', async () => {
  assert.equal(await echoOnce(port, Buffer.from([0])), Buffer.from([0]));
  assert.equal((await echoOnce(port, Buffer.from('hello, socket\n'))).toString(), 'hello, socket\n');
});

test('16 MiB of random bytes come back byte-exact (SHA-256)', async () => {
  const data = crypto.randomBytes(16 << 20);
  const reply = await echoOnce(port, data, '127.0.0.1', 30000);
  assert.is(reply.length, data.length);
  assert.is(sha256(reply), sha256(data));
});

test('open and close lines carry the four-tuple and the byte count', async () => {
  const socket = await connect(port);
  const src = `127.0.0.1:${socket.localPort}`;
  const reply = readAll(socket);
  socket.end('twelve bytes');
  await reply;
  await server.waitForStderr(new RegExp(`open ${src} -> 127\\.0\\.0\\.1:${port}\\n`));
  await server.waitForStderr(new RegExp(`close ${src} -> 127\\.0\\.0\\.1:${port} \\(12 bytes\\)\\n`));
});

test('200 concurrent clients each get their own bytes back', async () => {
  const clients = Array.from({ length: 200 }, async (_, i) => {
    const data = crypto.randomBytes(1000 + i * 37);
    const socket = await connect(port);
    const reply = readAll(socket, 20000);
    // Two writes with a pause between them, so the connections overlap.
    socket.write(data.subarray(0, 500));
    await new Promise((resolve) => setImmediate(resolve));
    socket.end(data.subarray(500));
    assert.is(sha256(await reply), sha256(data), `client ${i}`);
  });
  await withDeadline(Promise.all(clients), 30000, '200 clients');
});

test('a client that resets mid-stream does not disturb the others, and its close line says reset', async () => {
  const good = await connect(port);
  const goodData = crypto.randomBytes(1 << 20);
  const goodReply = readBytes(good, goodData.length, 15000);
  good.write(goodData.subarray(0, 1 << 19));

  const bad = await connect(port);
  bad.on('error', () => {});
  const badPort = bad.localPort;
  bad.write(crypto.randomBytes(1 << 20));
  await readBytes(bad, 1); // the server is echoing to it now
  bad.resetAndDestroy(); // RST in the middle of the stream
  await server.waitForStderr(new RegExp(`reset 127\\.0\\.0\\.1:${badPort} -> 127\\.0\\.0\\.1:${port} \\(\\d+ bytes\\)\\n`));
  assert.not.match(server.stderr, new RegExp(`close 127\\.0\\.0\\.1:${badPort} `));

  good.write(goodData.subarray(1 << 19));
  assert.is(sha256(await goodReply), sha256(goodData));
  good.end();
  // And the server still takes new clients.
  assert.equal((await echoOnce(port, Buffer.from('still here'))).toString(), 'still here');
});

test('the summary counts the bytes the kernel took: not those still queued in the server when its client reset', async () => {
  const proc = startScript('echo-server', ['--port', '0', '--quiet']);
  try {
    const { port: p } = await proc.listening();
    const hog = await connect(p);
    hog.on('error', () => {});
    hog.pause(); // never read: the echo backs up into the server
    hog.write(Buffer.alloc(32 << 20, 0x61));
    const src = hog.localPort!;
    // The server stops reading only when its own writes are stuck (it pauses
    // on a full send side): its Recv-Q then stays put, not drained to 0,
    // and echo bytes are queued in the server, not yet taken by the kernel.
    const serverSide = () =>
      readSockets({ tcp: true, udp: false, unix: false }).find((row) => row.localPort === p && row.remotePort === src);
    let last = -1;
    const stuck = async () => {
      for (let i = 0; i < 300; i++) {
        const recvQ = serverSide()?.recvQ ?? 0;
        if (recvQ > 0 && recvQ === last) return true;
        last = recvQ;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    };
    assert.ok(await withDeadline(stuck(), 40000, 'the server to stop reading'), `the server stopped reading (Recv-Q ${last})`);
    hog.resetAndDestroy();
    const [, received] = await proc.waitForStderr(new RegExp(`reset 127\\.0\\.0\\.1:${src} -> 127\\.0\\.0\\.1:${p} \\((\\d+) bytes\\)\n`));
    await proc.stop('SIGTERM');
    const [, echoed] = proc.stderr.match(/summary: 1 connection, (\d+) bytes echoed/) ?? [];
    assert.ok(echoed !== undefined, proc.stderr);
    assert.ok(Number(echoed) < Number(received), `echoed ${echoed} of ${received} received: the bytes the reset dropped in the server count as echoed`);
    assert.ok(Number(received) - Number(echoed) <= 4 << 20, `at most the server's own queue is missing (${received} - ${echoed})`);
  } finally {
    await proc.stop('SIGKILL');
  }
});

test('half-close: the server echoes what is in flight, then closes', async () => {
  const socket = await connect(port);
  const data = crypto.randomBytes(4 << 20);
  const reply = readAll(socket, 15000);
  socket.end(data); // FIN right behind 4 MiB
  const echoed = await reply;
  assert.is(sha256(echoed), sha256(data));
  // readAll resolved on the server's FIN ('end'), not on an error.
  assert.ok(socket.readableEnded);
});

test('a reader that keeps stopping gets every byte back while other clients ping-pong', async () => {
  // The server reads into a buffer shared by all connections (lib/fastecho.ts)
  // and writes that the kernel cannot take at once must not see it reused:
  // a client that reads in fits and starts forces partial writes, while a
  // second client's small reads go through the shared buffer meanwhile.
  const slow = await connect(port);
  const data = crypto.randomBytes(8 << 20);
  const chunks: Buffer[] = [];
  let got = 0;
  const done = new Promise<void>((resolve, reject) => {
    slow.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const before = got;
      got += chunk.length;
      if (got >> 18 !== before >> 18) {
        slow.pause(); // every 256 KiB, stop reading for a moment
        setTimeout(() => slow.resume(), 15);
      }
    });
    slow.on('end', resolve);
    slow.on('error', reject);
  });
  slow.end(data);
  const pinger = await connect(port);
  const pinged = (async () => {
    for (let i = 0; i < 200; i++) {
      const message = Buffer.from(`ping ${i} ${'x'.repeat(i % 50)}`);
      const reply = readBytes(pinger, message.length);
      pinger.write(message);
      assert.equal((await reply).toString(), message.toString());
    }
  })();
  await withDeadline(Promise.all([done, pinged]), 30000, 'slow reader and pinger');
  pinger.destroy();
  assert.is(got, data.length);
  assert.is(sha256(Buffer.concat(chunks)), sha256(data));
});

test('half-close: the client can still read long after its FIN', async () => {
  const socket = await connect(port);
  socket.pause(); // do not read yet
  socket.end('late reader');
  await once(socket, 'finish');
  const reply = readAll(socket);
  socket.resume();
  assert.is((await reply).toString(), 'late reader');
});

test('backpressure: a client that sends 64 MiB and never reads keeps the server RSS bounded', async () => {
  const pid = server.pid;
  const before = vmKiB(pid, 'VmRSS');
  const socket = await connect(port);
  socket.pause(); // never read: the server's send side fills up
  const chunk = crypto.randomBytes(1 << 20);
  const total = 64 << 20;
  let sent = 0;
  let lastProgress = Date.now();
  let stalled = false;
  const writer = (async () => {
    while (sent < total && !socket.destroyed) {
      const ok = socket.write(chunk);
      sent += chunk.length;
      lastProgress = Date.now();
      if (!ok) await once(socket, 'drain');
    }
  })();
  writer.catch(() => {});
  // Wait (with a deadline) until the writer has made no progress for 1.5 s:
  // the server stopped reading, so the kernel buffers are full.
  await withDeadline(
    (async () => {
      while (Date.now() - lastProgress < 1500 && sent < total) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      stalled = sent < total;
    })(),
    30000,
    'the writer to stall',
  );
  const rss = vmKiB(pid, 'VmRSS');
  const hwm = vmKiB(pid, 'VmHWM');
  console.log(
    `    backpressure: stalled=${stalled} after ${(sent / 2 ** 20).toFixed(0)} MiB sent; ` +
      `server VmRSS ${before} -> ${rss} kB (peak ${hwm} kB)`,
  );
  assert.ok(stalled, 'the server kept reading a client that never reads');
  assert.ok(sent < total, `sent all ${total} bytes: no backpressure`);
  // Bound: the measured growth is a few MiB (kernel buffers hold the rest);
  // 48 MiB of growth would mean the server buffered most of what it read.
  assert.ok(rss - before < 48 * 1024, `server RSS grew by ${rss - before} kB`);
  // Now read: the stalled bytes flow again and everything comes back.
  const hash = crypto.createHash('sha256');
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    socket.on('data', (data: Buffer) => {
      received += data.length;
      if (received >= sent) resolve();
    });
    socket.on('error', reject);
  });
  socket.resume();
  await withDeadline(Promise.all([done, writer]), 30000, 'reading the echo back');
  assert.is(received, sent);
  socket.destroy();
  hash.digest();
});

test('UDP: each datagram goes back to its sender unchanged', async () => {
  const udp = startScript('echo-server', ['--udp', '--port', '0', '--quiet']);
  try {
    const { port: udpPort, transport } = await udp.listening();
    assert.is(transport, 'udp');
    assert.match(udp.stderr, /^listening on 127\.0\.0\.1:\d+ \(udp\)\n/);
    const client = dgram.createSocket('udp4');
    client.connect(udpPort, '127.0.0.1');
    await once(client, 'connect');
    const datagrams = [Buffer.from('one'), crypto.randomBytes(1200), Buffer.from([0, 255, 0])];
    for (const datagram of datagrams) {
      const reply = once(client, 'message');
      client.send(datagram);
      const [message] = await withDeadline(reply, 5000, 'UDP reply');
      assert.equal(message, datagram);
    }
    client.close();
    await udp.stop('SIGINT');
    assert.match(udp.stderr, /summary: 3 datagrams, 1206 bytes echoed\n/);
  } finally {
    udp.child.kill('SIGKILL');
  }
});

test('IPv6 on ::1', async () => {
  const v6 = startScript('echo-server', ['--host', '::1', '--port', '0', '--quiet']);
  try {
    const ready = await v6.waitFor(
      () => /listening on (.+) \(tcp\)\n/.exec(v6.stderr) ?? /EADDRNOTAVAIL|EAFNOSUPPORT/.exec(v6.stderr),
      'ready or no IPv6',
      15000,
    ).catch((error) => (/EADDRNOTAVAIL|EAFNOSUPPORT/.test(v6.stderr) ? null : Promise.reject(error)));
    if (!ready || !ready[1]) {
      console.log('    SKIP IPv6: ::1 is not available on this machine');
      return;
    }
    const { port: v6Port } = await v6.listening();
    assert.match(v6.stderr, /^listening on \[::1\]:\d+ \(tcp\)\n/);
    const socket = await connect(v6Port, '::1');
    const src = socket.localPort;
    const reply = readAll(socket);
    socket.end('over IPv6');
    assert.is((await reply).toString(), 'over IPv6');
    await v6.waitForStderr(new RegExp(`close \\[::1\\]:${src} -> \\[::1\\]:${v6Port} \\(9 bytes\\)`));
  } finally {
    await v6.stop();
  }
});

test('stdout gets the client data; --hex gives a hexdump -C view', async () => {
  const plain = startScript('echo-server', ['--port', '0']);
  const hex = startScript('echo-server', ['--port', '0', '--hex']);
  try {
    const [{ port: p1 }, { port: p2 }] = await Promise.all([plain.listening(), hex.listening()]);
    await echoOnce(p1, Buffer.from('copied\n'));
    await plain.waitForStdout(/^copied\n$/);
    await echoOnce(p2, Buffer.from('hello\n'));
    await hex.waitForStdout(/^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+:\n00000000  68 65 6c 6c 6f 0a {33}\|hello\.\|\n$/);
  } finally {
    await Promise.all([plain.stop(), hex.stop()]);
  }
});

test('a closed stdout (EPIPE) stops the copy, not the echo', async () => {
  const proc = startScript('echo-server', ['--port', '0']);
  try {
    const { port: p } = await proc.listening();
    proc.child.stdout!.destroy(); // the reader goes away, as with `echo-server | head -c0`
    assert.is((await echoOnce(p, Buffer.from('first'))).toString(), 'first');
    await proc.waitForStderr(/stdout was closed; no longer copying/);
    const big = crypto.randomBytes(1 << 20);
    assert.is(sha256(await echoOnce(p, big)), sha256(big));
    const exit = await proc.stop('SIGTERM');
    assert.is(exit.code, 0);
    assert.not.ok(hasStackTrace(proc.stderr));
  } finally {
    proc.child.kill('SIGKILL');
  }
});

test('--max-conns: past the cap a new connection is closed at once and logged', async () => {
  const proc = startScript('echo-server', ['--port', '0', '--quiet', '--max-conns', '2']);
  try {
    const { port: p } = await proc.listening();
    const a = await connect(p);
    const b = await connect(p);
    const aPort = a.localPort;
    await proc.waitForStderr(new RegExp(`open 127\\.0\\.0\\.1:${b.localPort} `));
    const c = await connect(p);
    c.on('error', () => {});
    const cPort = c.localPort;
    await withDeadline(once(c, 'close'), 5000, 'the third connection to be closed');
    await proc.waitForStderr(new RegExp(`refuse 127\\.0\\.0\\.1:${cPort} -> .*\\(--max-conns 2 reached\\)`));
    // The first two still work; after one leaves a new client gets in.
    const reply = readAll(a);
    a.end('a');
    assert.is((await reply).toString(), 'a');
    await proc.waitForStderr(new RegExp(`close 127\\.0\\.0\\.1:${aPort} `));
    assert.is((await echoOnce(p, Buffer.from('d'))).toString(), 'd');
    b.destroy();
    await proc.stop('SIGINT');
    assert.match(proc.stderr, /summary: 3 connections, 2 bytes echoed, 1 refused \(--max-conns 2\)\n/);
  } finally {
    proc.child.kill('SIGKILL');
  }
});

test('--idle-timeout closes a silent connection and logs why', async () => {
  const proc = startScript('echo-server', ['--port', '0', '--quiet', '--idle-timeout', '0.3']);
  try {
    const { port: p } = await proc.listening();
    const socket = await connect(p);
    const src = socket.localPort;
    const gone = readAll(socket);
    assert.is((await gone).length, 0);
    await proc.waitForStderr(new RegExp(`idle 127\\.0\\.0\\.1:${src} -> .* \\(no traffic for 0\\.3 s\\), closing`));
  } finally {
    await proc.stop();
  }
});

test('Unix socket: echo, file removed on exit', async () => {
  const sock = path.join(tmp, 'echo.sock');
  const proc = startScript('echo-server', ['--unix', sock, '--quiet']);
  try {
    const ready = await proc.listening();
    assert.is(ready.transport, 'unix');
    assert.is(ready.path, sock);
    const socket = net.connect({ path: sock });
    await once(socket, 'connect');
    const reply = readAll(socket);
    socket.end('over a Unix socket');
    assert.is((await reply).toString(), 'over a Unix socket');
    await proc.waitForStderr(new RegExp(`close ${sock}#\\d+ -> ${sock} \\(18 bytes\\)`));
    const exit = await proc.stop('SIGTERM');
    assert.is(exit.code, 0);
    assert.not.ok(fs.existsSync(sock), 'socket file left behind');
  } finally {
    proc.child.kill('SIGKILL');
  }
});

test('Unix socket: a stale file is replaced, a live one is refused', async () => {
  const sock = path.join(tmp, 'stale.sock');
  // A stale socket file: bound by a process that is gone (python binds, exits).
  const stale = await runScriptPython(`import socket; s=socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(sock)})`);
  assert.is(stale, 0);
  assert.ok(fs.lstatSync(sock).isSocket());
  const first = startScript('echo-server', ['--unix', sock, '--quiet']);
  try {
    await first.listening();
    const second = await runScript('echo-server', ['--unix', sock]);
    assert.is(second.code, 1);
    assert.match(second.stderr, new RegExp(`^echo-server: error: cannot listen on ${sock}: a live server is using it; .+\\n$`));
    assert.not.ok(hasStackTrace(second.stderr));
    // The live server was not disturbed.
    const socket = net.connect({ path: sock });
    await once(socket, 'connect');
    const reply = readAll(socket);
    socket.end('ok');
    assert.is((await reply).toString(), 'ok');
  } finally {
    await first.stop();
  }
  assert.not.ok(fs.existsSync(sock));
});

async function runScriptPython(code: string): Promise<number | null> {
  const { spawn } = await import('node:child_process');
  const child = spawn('python3', ['-c', code], { stdio: 'ignore' });
  const [exitCode] = await withDeadline(once(child, 'close'), 5000, 'python3');
  return exitCode as number | null;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal}: connections closed, one summary line, exit 0, no socket file`, async () => {
    const sock = path.join(tmp, `${signal}.sock`);
    const proc = startScript('echo-server', ['--unix', sock, '--quiet']);
    try {
      await proc.listening();
      const socket = net.connect({ path: sock });
      await once(socket, 'connect');
      const reply = readBytes(socket, 5);
      socket.write('abcde');
      await reply;
      const closed = once(socket, 'close');
      const exit = await proc.stop(signal);
      await withDeadline(closed, 5000, 'the client to be closed');
      assert.equal(exit, { code: 0, signal: null });
      const summaries = proc.stderr.match(/^summary: .*$/gm) ?? [];
      assert.equal(summaries, ['summary: 1 connection, 5 bytes echoed']);
      assert.not.ok(fs.existsSync(sock), 'socket file left behind');
      assert.not.ok(hasStackTrace(proc.stderr));
    } finally {
      proc.child.kill('SIGKILL');
    }
  });
}

test('port in use: one line naming who holds it (pid/program, as netstat -p), exit 1', async () => {
  const result = await runScript('echo-server', ['--port', String(port)]);
  assert.is(result.code, 1);
  assert.is(
    result.stderr,
    `echo-server: error: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE), held by ${server.pid}/node; see \`netstat --port ${port}\`, or try --port 0\n`,
  );
  const udpBusy = dgram.createSocket('udp4');
  udpBusy.bind(0, '127.0.0.1');
  await once(udpBusy, 'listening');
  try {
    const udp = await runScript('echo-server', ['--udp', '--port', String(udpBusy.address().port)]);
    assert.is(udp.code, 1);
    assert.match(udp.stderr, new RegExp(`^echo-server: error: cannot listen on 127\\.0\\.0\\.1:\\d+: address already in use \\(EADDRINUSE\\), held by ${process.pid}/\\S+; see`));
  } finally {
    udpBusy.close();
  }
});

test('--unix in a directory that does not exist: names the directory (libuv says EACCES), exit 1', async () => {
  const result = await runScript('echo-server', ['--unix', '/nonexistent-socket-lab/dir/x.sock']);
  assert.is(result.code, 1);
  assert.is(
    result.stderr,
    'echo-server: error: cannot listen on /nonexistent-socket-lab/dir/x.sock: the directory /nonexistent-socket-lab/dir does not exist (/nonexistent-socket-lab is missing) (ENOENT); create it or choose another --unix path\n',
  );
});

needs(test, 'ss', missingCommand('ss', ['-V']))('the backlog --help states is the one the kernel shows as Send-Q (ss -ltn)', async () => {
  const help = await runScript('echo-server', ['--help']);
  const stated = Number(/listen\(fd, (\d+)\)/.exec(help.stdout)?.[1]);
  assert.ok(stated > 0, help.stdout);
  assert.not.match(help.stdout, /listen\(\w+, 64\)|INADDR_ANY:8001/);
  const somaxconn = Number(fs.readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  const ss = await runCommand('ss', ['-Hltn', `sport = :${port}`]);
  const columns = ss.stdout.trim().split(/\s+/); // State Recv-Q Send-Q Local Peer
  assert.is(columns[0], 'LISTEN', ss.stdout);
  assert.is(Number(columns[2]), Math.min(stated, somaxconn), ss.stdout);
  assert.is(columns[3], `127.0.0.1:${port}`);
});

const RESET_CLIENTS = `
import socket, struct, sys
for _ in range(10):
    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()  # RST at once, before the server's accept() runs
`;

needs(test, 'python3', missingCommand('python3'))('a connection reset before accept() is logged as such, never as open ?:0; every one ends in a reset line', async () => {
  const proc = startScript('echo-server', ['--port', '0', '--quiet']);
  try {
    const { port: p } = await proc.listening();
    const run = await runCommand('python3', ['-c', RESET_CLIENTS, String(p)]);
    assert.is(run.code, 0, run.stderr);
    await proc.waitFor(() => (proc.stderr.match(/^(reset before accept|reset 127)/gm) ?? []).length === 10, '10 reset lines', 10000);
    assert.not.match(proc.stderr, /\?:0|^close /m);
    const early = proc.stderr.match(/^reset before accept: a connection to 127\.0\.0\.1:\d+ was reset by its peer while it waited in the accept queue; its address is gone with it$/gm) ?? [];
    const opened = proc.stderr.match(/^open 127\.0\.0\.1:\d+ -> /gm) ?? [];
    assert.is(early.length + opened.length, 10, proc.stderr);
    console.log(`  reset before accept: ${early.length} of 10 (the rest accepted first, then reset)`);
  } finally {
    await proc.stop();
  }
});

test('UDP logs from SRC per datagram (none with --quiet); --hex labels each sender, offsets per sender', async () => {
  const udp = startScript('echo-server', ['--udp', '--port', '0', '--hex']);
  const quiet = startScript('echo-server', ['--udp', '--port', '0', '--quiet']);
  const a = dgram.createSocket('udp4');
  const b = dgram.createSocket('udp4');
  try {
    const [{ port: p }, { port: q }] = await Promise.all([udp.listening(), quiet.listening()]);
    a.bind(0, '127.0.0.1');
    b.bind(0, '127.0.0.1');
    await Promise.all([once(a, 'listening'), once(b, 'listening')]);
    const pa = a.address().port;
    const pb = b.address().port;
    const send = async (socket: dgram.Socket, text: string, to: number) => {
      const reply = once(socket, 'message');
      socket.send(text, to, '127.0.0.1');
      await withDeadline(reply, 5000, 'echo');
    };
    await send(a, 'aaaa', p);
    await send(b, 'bb', p);
    await send(a, 'cc', p);
    await send(a, 'quiet', q);
    const dst = `127.0.0.1:${p}`;
    await udp.waitForStderr(new RegExp(`from 127\\.0\\.0\\.1:${pa} -> ${dst} \\(2 bytes\\)\\n`));
    assert.match(udp.stderr, `from 127.0.0.1:${pa} -> ${dst} (4 bytes)\nfrom 127.0.0.1:${pb} -> ${dst} (2 bytes)\nfrom 127.0.0.1:${pa} -> ${dst} (2 bytes)\n`);
    await udp.waitFor(() => udp.stdout.split('\n').length >= 7, 'three labelled dumps', 5000);
    assert.is(
      udp.stdout,
      `127.0.0.1:${pa} -> ${dst}:\n00000000  61 61 61 61                                       |aaaa|\n` +
        `127.0.0.1:${pb} -> ${dst}:\n00000000  62 62                                             |bb|\n` +
        `127.0.0.1:${pa} -> ${dst}:\n00000004  63 63                                             |cc|\n`,
    );
    await quiet.stop();
    assert.not.match(quiet.stderr, /from /);
  } finally {
    a.close();
    b.close();
    await Promise.all([udp.stop(), quiet.stop()]);
  }
});

test('--port -1 says the range, not "needs a value"', async () => {
  const result = await runScript('echo-server', ['--port', '-1']);
  assert.is(result.code, 2);
  assert.is(result.stderr, 'echo-server: error: --port "-1": expected an integer 0-65535\n');
});

test('a port below 1024 without privilege: says so, exit 1', async () => {
  const unprivilegedStart = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
  if (unprivilegedStart <= 80) {
    console.log(`    SKIP low port: ip_unprivileged_port_start is ${unprivilegedStart}, anyone may bind port 80`);
    return;
  }
  // As root, run the server as nobody (uid 65534), who has no such privilege.
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/echo-server.ts', '--port', '80'], {
    cwd: new URL('..', import.meta.url).pathname,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOME: os.tmpdir() },
    ...asNobody,
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  try {
    const [code] = await withDeadline(once(child, 'close'), 15000, 'echo-server --port 80');
    if (/Cannot find|EACCES: permission denied, open|ERR_MODULE_NOT_FOUND/.test(stderr)) {
      console.log(`    SKIP low port: cannot run the script as uid 65534 here: ${stderr.split('\n')[0]}`);
      return;
    }
    assert.is(code, 1, stderr);
    assert.match(
      stderr,
      /^echo-server: error: cannot listen on 127\.0\.0\.1:80: permission denied \(EACCES\); ports below 1024 need root or CAP_NET_BIND_SERVICE; .+\n$/,
    );
  } finally {
    child.kill('SIGKILL');
  }
});

test('usage errors: one line, exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--bogus'], /^echo-server: error: unknown option --bogus; see --help\n$/],
    [['--port', 'abc'], /^echo-server: error: --port "abc": expected an integer 0-65535\n$/],
    [['--port', '65536'], /^echo-server: error: --port "65536": expected an integer 0-65535\n$/],
    [['--port'], /^echo-server: error: option --port needs a value; see --help\n$/],
    [['--host', '300.1.1.1'], /^echo-server: error: --host "300\.1\.1\.1": expected an IPv4 address/],
    [['--max-conns', '0'], /^echo-server: error: --max-conns "0": expected an integer >= 1\n$/],
    [['--idle-timeout=-1'], /^echo-server: error: --idle-timeout "-1": expected a number >= 0\n$/],
    [['--unix', '/tmp/x.sock', '--udp'], /^echo-server: error: --unix and --udp cannot be combined/],
    [['stray'], /^echo-server: error: unexpected argument "stray"/],
  ];
  const results = await Promise.all(cases.map(([args]) => runScript('echo-server', args)));
  results.forEach((result, i) => {
    assert.is(result.code, 2, cases[i][0].join(' '));
    assert.match(result.stderr, cases[i][1]);
    assert.is(result.stderr.split('\n').length, 2, 'one line');
    assert.is(result.stdout, '');
  });
});

test('--help lists the flags and exit codes, exit 0', async () => {
  const result = await runScript('echo-server', ['--help']);
  assert.is(result.code, 0);
  for (const flag of ['--host', '--port', '--udp', '--unix', '--max-conns', '--idle-timeout', '--quiet', '--hex', 'Exit codes']) {
    assert.ok(result.stdout.includes(flag), flag);
  }
});

test.run();
