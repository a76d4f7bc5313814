// The mixed soak: for SOAK_SECONDS (default 15; `npm run soak` runs 60) one
// echo-server (--idle-timeout 2 --max-conns 150) takes, all at once:
// ping-pong clients, bulk clients checking SHA-256, clients that reset
// mid-write, clients that half-close, slow readers, idle clients the
// --idle-timeout must close, clients sending random garbage, and bursts of
// connections beyond --max-conns. Afterwards the server is alive and answers
// a new client, every well-behaved client got exactly its bytes back, the
// server's descriptor count is back to its idle baseline and its RSS is
// within 20 MiB of where it started. "Where it started" is the server after
// a warm-up with the same mix (15 s, or a third of a longer soak): from a
// cold start V8's young generation and glibc's arenas grow ~35-50 MiB to what
// this load needs and keep it (a forced full GC brings the JS heap and the
// Buffer memory back to their start-up size, so it is not a leak); the cold
// figure is printed beside the others.
//
// A well-behaved client first sends one byte and waits for its echo: a
// connection refused by --max-conns (closed at once) never echoes it, so the
// client tries again; after that first echo any loss is a failure.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { connect, readBytes, startScript, withDeadline } from './helpers.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 15);
const MAX_CONNS = 150;
const IDLE_SECONDS = 2;
// At least 15 s (a third of a longer soak): measured here, RSS climbs ~35 MiB in the
// first 15 s of this mix and then levels off (+6 MiB over the next 15 s, +11 over 30 more).
const WARMUP_SECONDS = Math.max(15, Math.round(SECONDS / 3));

const counts = {
  pingPong: 0,
  bulkRuns: 0,
  bulkBytes: 0,
  resets: 0,
  halfCloses: 0,
  slowReads: 0,
  idleClosed: 0,
  garbage: 0,
  burstRefused: 0,
  burstAccepted: 0,
  retried: 0,
};
const failures: string[] = [];

function procStatus(pid: number): { rssKiB: number; fds: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssKiB: Number(/VmRSS:\s+(\d+)/.exec(status)![1]), fds: fs.readdirSync(`/proc/${pid}/fd`).length };
}

/** A connection past the hello byte (retrying while --max-conns turns it away). */
async function wellBehaved(port: number): Promise<net.Socket> {
  for (;;) {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.on('error', () => {});
    try {
      await withDeadline(once(socket, 'connect'), 10000, 'connect');
      socket.write('H');
      const hello = await readBytes(socket, 1, 10000);
      if (hello.length === 1 && hello[0] === 0x48) return socket;
    } catch {
      // closed at once: refused
    }
    socket.destroy();
    counts.retried++;
  }
}

/** Writes `data` respecting backpressure; optionally half-closes after it. */
async function writeAll(socket: net.Socket, data: Buffer, end: boolean): Promise<void> {
  for (let at = 0; at < data.length; at += 64 * 1024) {
    if (!socket.write(data.subarray(at, at + 64 * 1024))) await once(socket, 'drain');
  }
  if (end) socket.end();
}

const sha = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');

function loop(deadline: number, name: string, body: () => Promise<void>): Promise<void> {
  return (async () => {
    while (Date.now() < deadline) {
      try {
        await body();
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message.split('\n')[0]}`);
        return;
      }
    }
  })();
}

test(`soak ${SECONDS} s: every kind of client at once; nothing lost, nothing leaked`, async () => {
  const server = startScript('echo-server', ['--port', '0', '--quiet', '--idle-timeout', String(IDLE_SECONDS), '--max-conns', String(MAX_CONNS)]);
  try {
    const { port } = await server.listening();
    const pid = server.pid;
    // The idle baseline after one full round trip (lazy start-up allocations done).
    const warm = await connect(port);
    warm.write('warm');
    await readBytes(warm, 4);
    warm.destroy();
    const cold = procStatus(pid);
    // A short warm-up with the same mix: V8 grows its young generation and
    // glibc its arenas to what this load needs within seconds, and keeps
    // them (no leak: see the README). "Where it started" is the server in
    // that state; the cold start-up figure is printed too.
    await mix(port, Date.now() + WARMUP_SECONDS * 1000);
    assert.equal(failures, [], failures.join('\n'));
    await settled(pid, cold.fds);
    const before = procStatus(pid);
    for (const key of Object.keys(counts) as Array<keyof typeof counts>) counts[key] = 0;
    await mix(port, Date.now() + SECONDS * 1000);
    assert.equal(failures, [], failures.join('\n'));

    // Afterwards: alive, answering, no leak.
    const fresh = await connect(port);
    fresh.write('still alive\n');
    assert.is((await readBytes(fresh, 12)).toString(), 'still alive\n');
    fresh.destroy();
    let after = await settled(pid, before.fds);
    assert.is(after.fds, before.fds, 'descriptors back to the idle baseline');
    // RSS settles as the freed buffers are returned; give it a few seconds.
    await withDeadline(
      (async () => {
        while ((after = procStatus(pid)).rssKiB > before.rssKiB + 20 * 1024) await new Promise((resolve) => setTimeout(resolve, 250));
      })(),
      10000,
      `RSS within 20 MiB of ${before.rssKiB} KiB (now ${procStatus(pid).rssKiB} KiB)`,
    ).catch((error) => assert.unreachable(error.message));

    const summary = await server.stop();
    assert.is(summary.code, 0);
    const line = /summary: .+/.exec(server.stderr)![0];
    assert.ok(counts.pingPong > 0 && counts.bulkRuns > 0 && counts.halfCloses > 0 && counts.slowReads > 0, JSON.stringify(counts));
    assert.ok(counts.idleClosed > 0 && counts.garbage > 0 && counts.resets > 0, JSON.stringify(counts));
    assert.ok(counts.burstRefused > 0, `no connection beyond --max-conns was refused: ${JSON.stringify(counts)}`);
    assert.match(line, /refused \(--max-conns 150\)/);
    const mib = (kib: number) => (kib / 1024).toFixed(1);
    console.log(`  ${SECONDS} s: ${JSON.stringify(counts)}`);
    console.log(
      `  fds ${before.fds} -> ${after.fds}; RSS cold ${mib(cold.rssKiB)} MiB, after ${WARMUP_SECONDS} s warm-up ${mib(before.rssKiB)} MiB, ` +
        `after the soak ${mib(after.rssKiB)} MiB (${after.rssKiB >= before.rssKiB ? '+' : ''}${mib(after.rssKiB - before.rssKiB)})`,
    );
    console.log(`  server: ${line}`);
  } finally {
    server.child.kill('SIGKILL');
  }
});

/** Waits until the server's descriptors are back to `fds` (its connections closed). */
async function settled(pid: number, fds: number): Promise<{ rssKiB: number; fds: number }> {
  let now = procStatus(pid);
  await withDeadline(
    (async () => {
      while ((now = procStatus(pid)).fds > fds) await new Promise((resolve) => setTimeout(resolve, 100));
    })(),
    10000,
    `descriptors back to ${fds} (now ${procStatus(pid).fds})`,
  );
  return now;
}

/** Every kind of client at once until `deadline`. */
async function mix(port: number, deadline: number): Promise<void> {
    const loops: Promise<void>[] = [];

    // Ping-pong: one line, its echo, again, on long-lived connections.
    for (let c = 0; c < 8; c++) {
      loops.push(
        (async () => {
          const socket = await wellBehaved(port);
          await loop(deadline, 'ping-pong', async () => {
            const line = `ping ${counts.pingPong} ${crypto.randomBytes(8).toString('hex')}\n`;
            socket.write(line);
            const got = (await readBytes(socket, line.length)).toString();
            if (got !== line) throw new Error(`sent ${JSON.stringify(line)}, got ${JSON.stringify(got)}`);
            counts.pingPong++;
          });
          socket.destroy();
        })(),
      );
    }

    // Bulk: 256 KiB - 4 MiB of random bytes, half-close, all of it back by SHA-256.
    for (let c = 0; c < 3; c++) {
      loops.push(
        loop(deadline, 'bulk', async () => {
          const data = crypto.randomBytes(256 * 1024 + crypto.randomInt(4 * 1024 * 1024 - 256 * 1024));
          const socket = await wellBehaved(port);
          const back = readBytes(socket, Number.POSITIVE_INFINITY, 30000);
          await writeAll(socket, data, true);
          const got = await back;
          socket.destroy();
          if (sha(got) !== sha(data)) throw new Error(`${data.length} bytes sent, ${got.length} back, SHA-256 differs`);
          counts.bulkRuns++;
          counts.bulkBytes += data.length;
        }),
      );
    }

    // Resets mid-write: a lot of data, then RST before the echo is read.
    loops.push(
      loop(deadline, 'reset', async () => {
        const socket = net.connect({ port, host: '127.0.0.1' });
        socket.on('error', () => {});
        await withDeadline(once(socket, 'connect'), 10000, 'connect');
        socket.write(crypto.randomBytes(512 * 1024));
        await new Promise((resolve) => setTimeout(resolve, crypto.randomInt(20)));
        socket.resetAndDestroy();
        counts.resets++;
      }),
    );

    // Half-close: a few bytes, FIN, then everything back and the server's FIN.
    loops.push(
      loop(deadline, 'half-close', async () => {
        const socket = await wellBehaved(port);
        const text = `half ${counts.halfCloses} ${'x'.repeat(crypto.randomInt(2000))}`;
        const back = readBytes(socket, Number.POSITIVE_INFINITY, 10000);
        socket.end(text);
        const got = (await back).toString();
        socket.destroy();
        if (got !== text) throw new Error(`half-close: ${text.length} bytes sent, ${got.length} back`);
        counts.halfCloses++;
      }),
    );

    // Slow reader: 1 MiB out, read back in small sips with pauses.
    loops.push(
      loop(deadline, 'slow reader', async () => {
        const data = crypto.randomBytes(1024 * 1024);
        const socket = await wellBehaved(port);
        const chunks: Buffer[] = [];
        let total = 0;
        const done = new Promise<void>((resolve, reject) => {
          socket.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            total += chunk.length;
            socket.pause();
            setTimeout(() => socket.resume(), 5);
            if (total >= data.length) resolve();
          });
          socket.on('close', () => (total >= data.length ? resolve() : reject(new Error(`closed after ${total} bytes`))));
        });
        await writeAll(socket, data, false);
        await withDeadline(done, 60000, 'slow read');
        socket.destroy();
        if (!Buffer.concat(chunks).equals(data)) throw new Error('slow reader: bytes differ');
        counts.slowReads++;
      }),
    );

    // Idle clients: connect, say nothing; --idle-timeout must close them.
    loops.push(
      loop(deadline, 'idle', async () => {
        const socket = net.connect({ port, host: '127.0.0.1' });
        socket.on('error', () => {});
        await withDeadline(once(socket, 'connect'), 10000, 'connect');
        const t0 = Date.now();
        await withDeadline(once(socket, 'close'), (IDLE_SECONDS + 5) * 1000, 'the idle timeout');
        if (Date.now() - t0 < IDLE_SECONDS * 1000 - 100) {
          // Closed early: refused by --max-conns during a burst, not idle.
          counts.retried++;
          return;
        }
        counts.idleClosed++;
      }),
    );

    // Garbage: random bytes of random lengths; echoed as they are.
    loops.push(
      loop(deadline, 'garbage', async () => {
        const socket = await wellBehaved(port);
        const junk = crypto.randomBytes(1 + crypto.randomInt(65536));
        socket.write(junk);
        const got = await readBytes(socket, junk.length);
        socket.destroy();
        if (!got.equals(junk)) throw new Error('garbage was not echoed byte for byte');
        counts.garbage++;
      }),
    );

    // Bursts beyond --max-conns: open MAX_CONNS + 30 at once, hold, close.
    loops.push(
      loop(deadline, 'burst', async () => {
        const burst = await Promise.all(
          Array.from({ length: MAX_CONNS + 30 }, async () => {
            const socket = net.connect({ port, host: '127.0.0.1' });
            socket.on('error', () => {});
            await withDeadline(once(socket, 'connect'), 10000, 'connect');
            return socket;
          }),
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        for (const socket of burst) {
          if (socket.readableEnded || socket.destroyed) counts.burstRefused++;
          else counts.burstAccepted++;
          socket.destroy();
        }
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }),
    );

    await Promise.all(loops);
}

test.run();
