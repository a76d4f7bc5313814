// EMFILE: echo-server under a descriptor limit of 64 (`ulimit -n 64` in the
// shell that execs it), hit by 300 connection attempts at once. The server
// survives, the first clients still echo, the condition is logged at most
// once a second, the CPU does not spin (utime+stime from /proc/PID/stat over
// a window), and once the clients leave new ones are served again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { ROOT, readBytes, startCommand, withDeadline } from './helpers.ts';

const LIMIT = 64;
const ATTEMPTS = 300;

function cpuTicks(pid: number): number {
  // Fields after the ")" of comm: utime is the 14th field, stime the 15th.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function openFds(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** Connects, sends `text`, resolves with what came back ('' when closed without an echo). */
async function attempt(port: number, text: string, keep: net.Socket[]): Promise<string> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  keep.push(socket);
  socket.on('error', () => {});
  try {
    await withDeadline(once(socket, 'connect'), 10000, 'connect');
  } catch {
    return '';
  }
  socket.write(text);
  const got = await readBytes(socket, text.length, 10000).catch(() => Buffer.alloc(0));
  return got.toString();
}

test(`ulimit -n ${LIMIT}: ${ATTEMPTS} connection attempts; the server survives, keeps its clients, serves new ones after`, async () => {
  const script = `${ROOT}scripts/echo-server.ts`;
  const server = startCommand('bash', ['-c', `ulimit -n ${LIMIT} && exec "$0" --import tsx "$1" --port 0 --quiet`, process.execPath, script]);
  const sockets: net.Socket[] = [];
  try {
    const { port } = await server.listening();
    const pid = server.pid; // exec: the shell became node
    const limits = fs.readFileSync(`/proc/${pid}/limits`, 'utf8');
    assert.match(limits, new RegExp(`Max open files\\s+${LIMIT}\\s+${LIMIT}`));
    const baseline = openFds(pid);

    // The first clients, one by one: they echo.
    const first: net.Socket[] = [];
    for (let i = 0; i < 5; i++) {
      assert.is(await attempt(port, `first ${i}\n`, first), `first ${i}\n`);
    }

    // The storm: 300 at once. Some get in (until the limit), the rest are
    // closed at once by libuv's EMFILE trick; none is left hanging.
    const results = await Promise.all(Array.from({ length: ATTEMPTS }, (_, i) => attempt(port, `storm ${i}\n`, sockets)));
    const echoed = results.filter((r, i) => r === `storm ${i}\n`).length;
    const turnedAway = results.filter((r) => r === '').length;
    assert.is(echoed + turnedAway, ATTEMPTS, 'every attempt either echoed or was closed');
    assert.ok(turnedAway > 0, 'the limit was reached');
    assert.ok(echoed > 0 && echoed <= LIMIT, `echoed ${echoed}`);
    await server.waitForStderr(/out of file descriptors: too many open files \(EMFILE\); new connections are closed at once; serving the \d+ clients already connected/, 5000);

    // At the limit, holding every descriptor: the CPU must not spin.
    const t0 = cpuTicks(pid);
    const w0 = Date.now();
    // Keep knocking while we measure: each knock is closed at once.
    const knocks: net.Socket[] = [];
    for (let i = 0; i < 20; i++) {
      await attempt(port, 'knock\n', knocks);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000)); // the measurement window itself
    const ticks = cpuTicks(pid) - t0;
    const windowTicks = ((Date.now() - w0) / 1000) * 100; // USER_HZ = 100
    assert.ok(ticks < windowTicks * 0.5, `CPU ${ticks} ticks in a ${windowTicks.toFixed(0)}-tick window`);

    // The first clients still echo.
    for (const [i, socket] of first.entries()) {
      socket.write(`again ${i}\n`);
      assert.is((await readBytes(socket, `again ${i}\n`.length)).toString(), `again ${i}\n`);
    }

    // Everyone leaves; the server is back to its idle descriptors and serves new clients.
    for (const socket of [...first, ...sockets, ...knocks]) socket.destroy();
    await withDeadline(
      (async () => {
        while (openFds(pid) > baseline) await new Promise((resolve) => setTimeout(resolve, 50));
      })(),
      10000,
      `descriptors back to ${baseline}`,
    );
    await server.waitForStderr(/file descriptors available again; accepting new connections/, 5000);
    const later: net.Socket[] = [];
    for (let i = 0; i < 10; i++) assert.is(await attempt(port, `later ${i}\n`, later), `later ${i}\n`);
    for (const socket of later) socket.destroy();

    // Logged at most once a second, never once per refused client.
    const lines = server.stderr.split('\n').filter((line) => line.startsWith('out of file descriptors'));
    assert.ok(lines.length >= 1 && lines.length <= 10, `${lines.length} EMFILE lines`);
    assert.is((await server.stop()).code, 0);
    assert.match(server.stderr, /summary: \d+ connections/);
    console.log(
      `  limit ${LIMIT}: ${echoed} of ${ATTEMPTS} echoed, ${turnedAway} closed at once; ` +
        `CPU ${ticks} ticks / ${windowTicks.toFixed(0)} at the limit; fds ${baseline} idle; ${lines.length} EMFILE log line(s)`,
    );
  } finally {
    for (const socket of sockets) socket.destroy();
    server.child.kill('SIGKILL');
  }
});

test.run();
