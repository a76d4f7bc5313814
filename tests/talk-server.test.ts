// scripts/talk-server.ts as a process with its stdin driven through a pipe:
// both directions at once (raw sockets and client.ts), one client at a time
// with the next one waiting, --once, end of stdin, signals and errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { startScript, runScript, connect, readBytes, readAll, withDeadline, hasStackTrace } from './helpers.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'talk-test-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function startTalk(args: string[] = []) {
  return startScript('talk-server', ['--port', '0', ...args], { stdin: 'pipe' });
}

test('both directions at once: either side may speak first, or twice in a row', async () => {
  const talk = startTalk();
  try {
    const { port } = await talk.listening();
    assert.match(talk.stderr, /^listening on 127\.0\.0\.1:\d+ \(tcp\)\n/);
    const socket = await connect(port);
    const src = `127.0.0.1:${socket.localPort}`;
    await talk.waitForStderr(new RegExp(`open ${src} -> 127\\.0\\.0\\.1:${port}\\n`));
    // The server speaks first (the lesson's loop would block in read(cfd)).
    const greeting = readBytes(socket, 'hello from the terminal\n'.length);
    talk.child.stdin!.write('hello from the terminal\n');
    assert.is((await greeting).toString(), 'hello from the terminal\n');
    // The client says two things without waiting for a reply.
    socket.write('one\n');
    await talk.waitForStdout(/^one\n$/);
    socket.write('two\n');
    await talk.waitForStdout(/^one\ntwo\n$/);
    // And the terminal answers twice.
    const answers = readBytes(socket, 'a\nb\n'.length);
    talk.child.stdin!.write('a\n');
    talk.child.stdin!.write('b\n');
    assert.is((await answers).toString(), 'a\nb\n');
    socket.end();
    await talk.waitForStderr(new RegExp(`close ${src} -> 127\\.0\\.0\\.1:${port} \\(8 bytes\\)\\n`));
    const exit = await talk.stop('SIGINT');
    assert.equal(exit, { code: 0, signal: null });
    assert.match(talk.stderr, /summary: 1 connection, 8 bytes received, 28 bytes sent\n$/);
  } finally {
    talk.child.kill('SIGKILL');
  }
});

test('with client.ts: lines typed on each side reach the other', async () => {
  const talk = startTalk(['--once']);
  try {
    const { port } = await talk.listening();
    const client = startScript('client', ['127.0.0.1', String(port)], { stdin: 'pipe' });
    try {
      await talk.waitForStderr(/open /);
      client.child.stdin!.write('hi from client.ts\n');
      await talk.waitForStdout(/^hi from client\.ts\n$/);
      talk.child.stdin!.write('hi from talk-server\n');
      await client.waitForStdout(/^hi from talk-server\n$/);
      client.child.stdin!.end(); // the client leaves: FIN
      assert.equal(await client.wait(10000), { code: 0, signal: null });
      // --once: the server exits after its first client.
      assert.equal(await talk.wait(10000), { code: 0, signal: null });
      assert.match(talk.stderr, /summary: 1 connection, 18 bytes received, 20 bytes sent\n$/);
    } finally {
      client.child.kill('SIGKILL');
    }
  } finally {
    talk.child.kill('SIGKILL');
  }
});

test("the talk-server's Ctrl-D (its FIN) does not quit client.ts while the client's typist is still typing", async () => {
  const talk = startTalk(['--once']);
  try {
    const { port } = await talk.listening();
    const client = startScript('client', ['127.0.0.1', String(port)], { stdin: 'pipe' });
    try {
      await talk.waitForStderr(/open /);
      talk.child.stdin!.end('bye from talk-server\n'); // Ctrl-D on the server's terminal
      await client.waitForStdout(/^bye from talk-server\n$/);
      await new Promise((resolve) => setTimeout(resolve, 500)); // the client's FIN-read is done by now
      assert.is(client.child.exitCode, null, 'the client quit on the server FIN');
      client.child.stdin!.write('still typing\n');
      await talk.waitForStdout(/^still typing\n$/);
      client.child.stdin!.end();
      assert.equal(await client.wait(10000), { code: 0, signal: null });
      assert.equal(await talk.wait(10000), { code: 0, signal: null });
    } finally {
      client.child.kill('SIGKILL');
    }
  } finally {
    talk.child.kill('SIGKILL');
  }
});

test('one client at a time: the next one waits, then gets its turn with what it sent meanwhile', async () => {
  const talk = startTalk();
  try {
    const { port } = await talk.listening();
    const first = await connect(port);
    await talk.waitForStderr(/open /);
    const second = await connect(port);
    const secondSrc = `127.0.0.1:${second.localPort}`;
    await talk.waitForStderr(new RegExp(`wait ${secondSrc} -> .*\\(another client is talking; 1 waiting\\)\\n`));
    second.write('said while waiting\n');
    first.write('first\n');
    await talk.waitForStdout(/^first\n$/);
    // Typed now, it goes to the talking client only.
    const toFirst = readBytes(first, 'for first\n'.length);
    talk.child.stdin!.write('for first\n');
    assert.is((await toFirst).toString(), 'for first\n');
    first.end();
    await talk.waitForStderr(new RegExp(`open ${secondSrc} -> `));
    await talk.waitForStdout(/^first\nsaid while waiting\n$/);
    const toSecond = readBytes(second, 'for second\n'.length);
    talk.child.stdin!.write('for second\n');
    assert.is((await toSecond).toString(), 'for second\n');
    second.destroy();
    await talk.waitForStderr(new RegExp(`close ${secondSrc} `));
    await talk.stop('SIGTERM');
  } finally {
    talk.child.kill('SIGKILL');
  }
});

test('end of stdin: the server shuts down its side but still prints what the client sends', async () => {
  const talk = startTalk();
  try {
    const { port } = await talk.listening();
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await withDeadline(once(socket, 'connect'), 5000, 'connect');
    await talk.waitForStderr(/open /);
    const rest = readAll(socket);
    talk.child.stdin!.end('last words\n');
    assert.is((await rest).toString(), 'last words\n'); // then FIN
    socket.write('still listening?\n');
    await talk.waitForStdout(/^still listening\?\n$/);
    socket.end();
    await talk.waitForStderr(/close .* \(17 bytes\)\n/);
    await talk.stop('SIGTERM');
  } finally {
    talk.child.kill('SIGKILL');
  }
});

test('--hex prints what the client sends as hexdump -C lines', async () => {
  const talk = startTalk(['--hex']);
  try {
    const { port } = await talk.listening();
    const socket = await connect(port);
    socket.write('hello\n');
    await talk.waitForStdout(/^00000000  68 65 6c 6c 6f 0a {33}\|hello\.\|\n$/);
    socket.destroy();
    await talk.stop('SIGTERM');
  } finally {
    talk.child.kill('SIGKILL');
  }
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`Unix socket, ${signal} while a client talks: exit 0, summary, no file left`, async () => {
    const sock = path.join(tmp, `${signal}.sock`);
    const talk = startScript('talk-server', ['--unix', sock], { stdin: 'pipe' });
    try {
      const ready = await talk.listening();
      assert.is(ready.path, sock);
      const socket = net.connect({ path: sock });
      await once(socket, 'connect');
      socket.on('error', () => {});
      socket.write('over unix\n');
      await talk.waitForStdout(/^over unix\n$/);
      const closed = once(socket, 'close');
      assert.equal(await talk.stop(signal), { code: 0, signal: null });
      await withDeadline(closed, 5000, 'the client to be closed');
      assert.equal(talk.stderr.match(/^summary: .*$/gm), ['summary: 1 connection, 10 bytes received, 0 bytes sent']);
      assert.not.ok(fs.existsSync(sock));
      assert.not.ok(hasStackTrace(talk.stderr));
    } finally {
      talk.child.kill('SIGKILL');
    }
  });
}

test('errors: port in use exit 1, usage exit 2', async () => {
  const busy = net.createServer();
  busy.listen(0, '127.0.0.1');
  await once(busy, 'listening');
  try {
    const port = (busy.address() as net.AddressInfo).port;
    const inUse = await runScript('talk-server', ['--port', String(port)]);
    assert.is(inUse.code, 1);
    assert.is(
      inUse.stderr,
      `talk-server: error: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE), held by ${process.pid}/node; see \`netstat --port ${port}\`, or try --port 0\n`,
    );
  } finally {
    busy.close();
  }
  const cases: Array<[string[], RegExp]> = [
    [['--port', 'x'], /^talk-server: error: --port "x": expected an integer 0-65535\n$/],
    [['--host', '1.2.3.4.5'], /^talk-server: error: --host "1\.2\.3\.4\.5": expected/],
    [['--udp'], /^talk-server: error: unknown option --udp; see --help\n$/],
    [['--unix', '/tmp/t.sock', '--port', '1'], /^talk-server: error: --unix PATH replaces --host and --port/],
  ];
  const results = await Promise.all(cases.map(([args]) => runScript('talk-server', args)));
  results.forEach((result, i) => {
    assert.is(result.code, 2, cases[i][0].join(' '));
    assert.match(result.stderr, cases[i][1]);
  });
  const help = await runScript('talk-server', ['--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /--once[\s\S]*Exit codes/);
});

test.run();
