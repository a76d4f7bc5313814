// client.ts against misbehaving servers (in-test servers on loopback): one
// that floods without reading, one that resets, one that accepts and never
// answers, one that never reads. Each: bounded memory (the client's peak
// RSS, VmHWM in /proc/PID/status), one clear line on stderr, exit 1 as
// --help documents.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ROOT, hasStackTrace, withDeadline } from './helpers.ts';

const MiB = 1024 * 1024;

interface ClientRun {
  code: number | null;
  stdoutBytes: number;
  stderr: string;
  peakRssMiB: number;
  seconds: number;
}

/** Runs client.ts with `input` streamed to its stdin, counting (not keeping) its stdout. */
async function runClient(args: string[], input: Buffer | null, deadlineMs = 30000): Promise<ClientRun> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}scripts/client.ts`, ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdoutBytes = 0;
  let stderr = '';
  let peak = 0;
  child.stdout.on('data', (chunk: Buffer) => (stdoutBytes += chunk.length));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  child.stdin.on('error', () => {}); // it exits before reading everything
  if (input) child.stdin.end(input);
  const sample = () => {
    try {
      const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (hwm) peak = Math.max(peak, Number(hwm[1]) / 1024);
    } catch {
      // already gone
    }
  };
  const sampler = setInterval(sample, 100);
  try {
    const [code] = (await withDeadline(once(child, 'exit'), deadlineMs, `client ${args.join(' ')}`)) as [number | null];
    return { code, stdoutBytes, stderr, peakRssMiB: Math.round(peak), seconds: (Date.now() - started) / 1000 };
  } finally {
    clearInterval(sampler);
    child.kill('SIGKILL');
  }
}

async function serve(onConnection: (socket: net.Socket) => void): Promise<{ server: net.Server; port: number }> {
  // allowHalfOpen: the client's FIN must not make Node close our side for us.
  const server = net.createServer({ allowHalfOpen: true }, onConnection);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port };
}

test('a server that floods 128 MiB and never reads: all of it arrives, memory bounded, exit 1 once it stalls', async () => {
  const FLOOD = 128 * MiB;
  const { server, port } = await serve((socket) => {
    socket.on('error', () => {});
    socket.pause(); // never read what the client sends
    const block = Buffer.alloc(MiB, 0x78);
    let sent = 0;
    const pump = () => {
      while (sent < FLOOD) {
        sent += block.length;
        if (!socket.write(block)) return void socket.once('drain', pump);
      }
      socket.end(); // FIN after the flood; still not reading
    };
    pump();
  });
  try {
    const run = await runClient(['127.0.0.1', String(port), '--timeout', '1'], Buffer.alloc(32 * MiB, 0x41));
    assert.is(run.stdoutBytes, FLOOD, 'every flooded byte reached stdout');
    assert.is(run.code, 1, run.stderr);
    assert.is(
      run.stderr,
      `client: error: connection to 127.0.0.1:${port}: the server has not read what was sent for 1 s (ETIMEDOUT); try --timeout\n`,
    );
    assert.ok(run.peakRssMiB < 200, `peak RSS ${run.peakRssMiB} MiB (32 MiB in, 128 MiB out)`);
    console.log(`  flood: 128 MiB received, 32 MiB offered, client peak RSS ${run.peakRssMiB} MiB`);
  } finally {
    server.close();
  }
});

test('a server that resets: one line with ECONNRESET, exit 1', async () => {
  const { server, port } = await serve((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.resetAndDestroy());
  });
  try {
    // An endless input: the reset, not the end of input, ends the client.
    const run = await runClient(['127.0.0.1', String(port)], Buffer.alloc(64 * MiB, 0x43));
    assert.is(run.code, 1, run.stderr);
    assert.is(run.stderr, `client: error: connection to 127.0.0.1:${port}: connection reset by peer (ECONNRESET)\n`);
  } finally {
    server.close();
  }
});

test('a server that accepts and never answers: gives up --timeout s after the end of input, exit 1', async () => {
  const { server, port } = await serve((socket) => {
    socket.on('error', () => {});
    socket.resume(); // reads and discards, never answers, never closes
  });
  try {
    const run = await runClient(['127.0.0.1', String(port), '--timeout', '1'], Buffer.from('hello?\n'));
    assert.is(run.code, 1, run.stderr);
    assert.is(
      run.stderr,
      `client: error: connection to 127.0.0.1:${port}: no data from the server for 1 s after the end of input (ETIMEDOUT); try --timeout\n`,
    );
    assert.ok(!hasStackTrace(run.stderr));
  } finally {
    server.close();
  }
});

test('a server that never reads while input keeps coming: bounded memory, exit 1 after --timeout', async () => {
  const sockets: net.Socket[] = [];
  const { server, port } = await serve((socket) => {
    socket.on('error', () => {});
    socket.pause();
    sockets.push(socket);
  });
  try {
    const run = await runClient(['127.0.0.1', String(port), '--timeout', '1'], Buffer.alloc(96 * MiB, 0x42));
    assert.is(run.code, 1, run.stderr);
    assert.match(run.stderr, /^client: error: connection to 127\.0\.0\.1:\d+: the server has not read what was sent for 1 s \(ETIMEDOUT\); try --timeout\n$/);
    assert.ok(run.peakRssMiB < 150, `peak RSS ${run.peakRssMiB} MiB with 96 MiB offered`);
    console.log(`  not reading: 96 MiB offered, client peak RSS ${run.peakRssMiB} MiB`);
  } finally {
    for (const socket of sockets) socket.destroy();
    server.close();
  }
});

test.run();
