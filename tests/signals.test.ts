// Signals under load: SIGTERM while 100 clients stream data into the echo
// server (TCP, then a Unix socket) gives exit 0 within 2 s with the summary
// line, no listening socket left (`ss -ltnH` / `ss -lxH`) and no socket file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { startCommand, startScript, withDeadline } from './helpers.ts';

const CLIENTS = 100;

/** 100 clients that write as fast as the server takes it and read the echo back. */
async function stream(connectTo: net.NetConnectOpts): Promise<{ sockets: net.Socket[]; received: () => number }> {
  const sockets: net.Socket[] = [];
  let received = 0;
  const block = Buffer.alloc(16 * 1024, 0x61);
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const socket = net.connect(connectTo);
      sockets.push(socket);
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => (received += chunk.length));
      await withDeadline(once(socket, 'connect'), 10000, 'connect');
      const pump = () => {
        while (!socket.destroyed && socket.write(block));
      };
      socket.on('drain', pump);
      pump();
    }),
  );
  return { sockets, received: () => received };
}

function ss(args: string[]): string {
  const result = spawnSync('ss', args, { encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
  return result.stdout;
}

/** Streaming for real: echoes are flowing back to all the clients. */
function echoesFlowing(load: { received(): number }): Promise<void> {
  return withDeadline(
    (async () => {
      while (load.received() < CLIENTS * 64 * 1024) await new Promise((resolve) => setTimeout(resolve, 20));
    })(),
    10000,
    'echo traffic',
  );
}

test('TCP: SIGTERM with 100 clients streaming -> exit 0 within 2 s, summary, no listener left', async () => {
  const server = startScript('echo-server', ['--port', '0', '--quiet']);
  let sockets: net.Socket[] = [];
  try {
    const { port } = await server.listening();
    const load = await stream({ port, host: '127.0.0.1' });
    sockets = load.sockets;
    await echoesFlowing(load);
    assert.match(ss(['-ltnH', `sport = :${port}`]), new RegExp(`:${port}\\b`));
    const t0 = Date.now();
    const exit = await server.stop('SIGTERM', 2000);
    const ms = Date.now() - t0;
    assert.is(exit.code, 0, server.stderr.slice(-2000));
    assert.match(server.stderr, /summary: \d+ connections, \d+ bytes echoed\n/);
    assert.is(ss(['-ltnH', `sport = :${port}`]).trim(), '', 'no listening socket left');
    console.log(`  TCP: exit 0 after ${ms} ms, ${(load.received() / 1024 / 1024).toFixed(0)} MiB echoed to ${CLIENTS} clients`);
  } finally {
    for (const socket of sockets) socket.destroy();
    server.child.kill('SIGKILL');
  }
});

test('Unix: SIGTERM with 100 clients streaming -> exit 0 within 2 s, summary, socket file removed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signals-'));
  const sock = path.join(dir, 'echo.sock');
  const server = startScript('echo-server', ['--unix', sock, '--quiet']);
  let sockets: net.Socket[] = [];
  try {
    await server.listening();
    const load = await stream({ path: sock });
    sockets = load.sockets;
    await echoesFlowing(load);
    assert.ok(ss(['-lxH']).includes(sock));
    // Every client accepted (and logged) before the signal, so the count is exact.
    await server.waitFor(() => (server.stderr.match(/^open /gm)?.length ?? 0) >= CLIENTS, `${CLIENTS} open lines`);
    const exit = await server.stop('SIGTERM', 2000);
    assert.is(exit.code, 0, server.stderr.slice(-2000));
    assert.match(server.stderr, new RegExp(`summary: ${CLIENTS} connections, \\d+ bytes echoed\n`));
    assert.not.ok(fs.existsSync(sock), 'socket file removed');
    assert.not.ok(ss(['-lxH']).includes(sock), 'no listening Unix socket left');
  } finally {
    for (const socket of sockets) socket.destroy();
    server.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('talk-server and http-hello: SIGTERM with clients connected -> exit 0, no listener left', async () => {
  const talk = startScript('talk-server', ['--port', '0'], { stdin: 'pipe' });
  const http = startScript('http-hello', ['--port', '0']);
  const sockets: net.Socket[] = [];
  try {
    const ports = [(await talk.listening()).port, (await http.listening()).port];
    for (const port of ports) {
      for (let i = 0; i < 10; i++) {
        const socket = net.connect({ port, host: '127.0.0.1' });
        socket.on('error', () => {});
        sockets.push(socket);
        await once(socket, 'connect');
        socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
      }
    }
    await talk.waitForStderr(/wait .+9 waiting/);
    const exits = await Promise.all([talk.stop('SIGTERM', 2000), http.stop('SIGTERM', 2000)]);
    assert.equal(exits.map((e) => e.code), [0, 0], talk.stderr + http.stderr);
    assert.match(talk.stderr, /summary: 1 connection, /);
    for (const port of ports) assert.is(ss(['-ltnH', `sport = :${port}`]).trim(), '', `listener on ${port} left`);
  } finally {
    for (const socket of sockets) socket.destroy();
    talk.child.kill('SIGKILL');
    http.child.kill('SIGKILL');
  }
});

// However the README starts a server, a signal to the pid the shell printed
// (`kill $!`: npm's, not the script's) or that process dying stops the
// server: no orphan keeps the port.
const LAUNCHES: Array<[string, string, string[]]> = [
  ['npx tsx', 'npx', ['tsx', 'scripts/echo-server.ts', '--port', '0']],
  ['the shebang', './scripts/echo-server.ts', ['--port', '0']],
  ['npm start', 'npm', ['start', '--silent', '--', '--port', '0']],
];
const portFree = (port: number) => !ss(['-ltnH', `sport = :${port}`]).trim();
const orphans = (port: number) =>
  fs.readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('scripts/echo-server.ts') &&
        fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`SOCKET_LAB_SIGNAL_TEST=${port}`);
    } catch {
      return false;
    }
  });
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return check();
}

for (const [how, command, args] of LAUNCHES) {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    test(`${how}: ${signal} to the pid the shell sees stops the server, port free, no orphan`, async () => {
      const tag = String(process.pid * 10 + LAUNCHES.findIndex(([h]) => h === how) + (signal === 'SIGKILL' ? 5 : 0));
      const server = startCommand(command, args, { env: { SOCKET_LAB_SIGNAL_TEST: tag } });
      try {
        const { port } = await server.listening(30000);
        assert.ok(orphans(Number(tag)).length > 0, 'the server process is found by its tag');
        process.kill(server.pid, signal);
        // The launchers' pipes close only when the last of them exits: wait on the kernel's view.
        assert.ok(await until(() => portFree(port), 10000), `port ${port} still held after ${signal} to ${how}`);
        assert.ok(await until(() => orphans(Number(tag)).length === 0, 10000), `orphans: ${orphans(Number(tag))}`);
      } finally {
        for (const pid of orphans(Number(tag))) process.kill(Number(pid), 'SIGKILL');
        await server.stop('SIGKILL').catch(() => {});
      }
    });
  }
}

test.run();
