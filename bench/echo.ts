// Echo throughput: scripts/echo-server.ts --quiet against the minimal Node
// echo server (`net.createServer(s => s.pipe(s))`), measured in the same run
// by a load generator written here in TypeScript:
//   ping-pong  C connections, one 64-byte message in flight each: msgs/s
//   bulk       4 connections stream 64 KiB writes and read the echo: MB/s (10^6 B)
// Every echoed byte is counted and ping-pong replies are checked; the servers
// run in turn (A B A B ... with --rounds), each measurement bounded in time.
// With taskset and 2+ cores, the servers are pinned to core 1 and this load
// generator to core 0. The goal: echo-server keeps >= 0.9 of the baseline.
//
// With --c-loadgen (and gcc), the same measurements are also made with the C
// epoll load generator (LOADGEN_C, default ../shared/bench/loadgen.c), which
// is faster than this one, so the servers rather than the client are the limit.
//
//   npx tsx bench/echo.ts                       1 round, ~5 s per measurement
//   npx tsx bench/echo.ts --rounds 3 --seconds 3 --c-loadgen
//
// Writes bench/results/echo.json.
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4.5' },
    rounds: { type: 'string', default: '1' },
    'c-loadgen': { type: 'boolean', default: false },
  },
});
const SECONDS = Math.min(30, Math.max(0.5, Number(values.seconds) || 4.5));
const WARMUP_MS = 500;
const ROUNDS = Math.min(9, Math.max(1, Number(values.rounds) || 1));

const BASELINE = `
const net = require('node:net');
const server = net.createServer((s) => { s.on('error', () => {}); s.pipe(s); });
server.listen(0, '127.0.0.1', () => process.stderr.write('listening on 127.0.0.1:' + server.address().port + ' (tcp)\\n'));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));`;

const canPin = os.cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0;
if (canPin) spawnSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });

interface Server {
  name: string;
  start: () => string[];
}
const SERVERS: Server[] = [
  { name: 'echo-server', start: () => [process.execPath, '--import', 'tsx', path.join(ROOT, 'scripts/echo-server.ts'), '--port', '0', '--quiet'] },
  { name: 'node-pipe', start: () => [process.execPath, '-e', BASELINE] },
];

async function startServer(server: Server): Promise<{ child: ChildProcess; port: number }> {
  const argv = server.start();
  const command = canPin ? ['taskset', '-c', '1', ...argv] : argv;
  const child = spawn(command[0], command.slice(1), { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${server.name} did not start: ${stderr}`)), 20000);
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
      const match = /listening on 127\.0\.0\.1:(\d+) \(tcp\)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.on('exit', () => reject(new Error(`${server.name} exited: ${stderr}`)));
  });
  child.stderr!.resume();
  return { child, port };
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function openConnections(port: number, count: number): Promise<net.Socket[]> {
  return Promise.all(
    Array.from({ length: count }, () => new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(socket));
      socket.once('error', reject);
    })),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Ping-pong: one 64-byte message in flight per connection; returns msgs/s. */
async function pingPong(port: number, connections: number, size = 64): Promise<number> {
  const sockets = await openConnections(port, connections);
  const message = Buffer.alloc(size);
  for (let i = 0; i < size; i++) message[i] = 97 + (i % 26);
  let counting = false;
  let messages = 0;
  let running = true;
  let failure: Error | null = null;
  for (const socket of sockets) {
    let got = 0;
    socket.on('data', (chunk: Buffer) => {
      if (chunk[0] !== message[got % size]) failure ??= new Error('ping-pong: wrong byte echoed');
      got += chunk.length;
      if (got > size) failure ??= new Error('ping-pong: more bytes than sent');
      if (got === size) {
        got = 0;
        if (counting) messages++;
        if (running) socket.write(message);
      }
    });
    socket.on('error', (error) => (failure ??= error));
    socket.write(message);
  }
  await sleep(WARMUP_MS);
  counting = true;
  const started = performance.now();
  await sleep(SECONDS * 1000);
  counting = false;
  const elapsed = (performance.now() - started) / 1000;
  running = false;
  for (const socket of sockets) socket.destroy();
  if (failure) throw failure;
  return messages / elapsed;
}

/** Bulk: each connection streams 64 KiB writes and reads the echo; returns MB/s. */
async function bulk(port: number, connections: number): Promise<number> {
  const sockets = await openConnections(port, connections);
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  let counting = false;
  let received = 0;
  let running = true;
  let failure: Error | null = null;
  for (const socket of sockets) {
    let sent = 0;
    let got = 0;
    const pump = () => {
      // Keep at most 4 MiB in flight per connection so the echo keeps up.
      while (running && sent - got < 4 << 20) {
        sent += chunk.length;
        if (!socket.write(chunk)) return;
      }
    };
    socket.on('data', (data: Buffer) => {
      got += data.length;
      if (counting) received += data.length;
      if (data[0] !== 0x5a) failure ??= new Error('bulk: wrong byte echoed');
      pump();
    });
    socket.on('drain', pump);
    socket.on('error', (error) => (failure ??= error));
    pump();
  }
  await sleep(WARMUP_MS);
  counting = true;
  const started = performance.now();
  await sleep(SECONDS * 1000);
  counting = false;
  const elapsed = (performance.now() - started) / 1000;
  running = false;
  for (const socket of sockets) socket.destroy();
  if (failure) throw failure;
  return received / elapsed / 1e6;
}

interface Measure {
  key: string;
  label: string;
  unit: string;
  ts: (port: number) => Promise<number>;
  c: string[];
}
const MEASURES: Measure[] = [
  { key: 'pingpong_c1', label: 'ping-pong 64 B, 1 conn', unit: 'msgs/s', ts: (p) => pingPong(p, 1), c: ['-m', 'pingpong', '-c', '1', '-s', '64'] },
  { key: 'pingpong_c50', label: 'ping-pong 64 B, 50 conns', unit: 'msgs/s', ts: (p) => pingPong(p, 50), c: ['-m', 'pingpong', '-c', '50', '-s', '64'] },
  { key: 'bulk_c4', label: 'bulk, 4 conns', unit: 'MB/s', ts: (p) => bulk(p, 4), c: ['-m', 'bulk', '-c', '4'] },
];

function buildCLoadgen(): string | null {
  const source = process.env.LOADGEN_C ?? path.join(ROOT, '..', 'shared', 'bench', 'loadgen.c');
  if (!fs.existsSync(source)) {
    console.log(`(--c-loadgen: ${source} not found; skipped)`);
    return null;
  }
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'loadgen-')), 'loadgen');
  const built = spawnSync('gcc', ['-O2', '-o', out, source], { stdio: 'inherit' });
  if (built.status !== 0) {
    console.log('(--c-loadgen: gcc failed or is missing; skipped)');
    return null;
  }
  return out;
}

function runCLoadgen(binary: string, port: number, args: string[]): number {
  const argv = [binary, '-p', String(port), ...args, '-d', String(SECONDS), '-q'];
  const command = canPin ? ['taskset', '-c', '0', ...argv] : argv;
  const result = spawnSync(command[0], command.slice(1), { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 });
  const line = /RESULT .*/.exec(result.stdout ?? '')?.[0] ?? '';
  const value = /(?:msgs_per_s|mb_per_s)=([\d.]+)/.exec(line)?.[1];
  if (result.status !== 0 || value === undefined) {
    throw new Error(`loadgen ${args.join(' ')} failed (exit ${result.status}): ${result.stdout}${result.stderr}`);
  }
  return Number(value);
}

const median = (numbers: number[]) => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const cLoadgen = values['c-loadgen'] ? buildCLoadgen() : null;
const generators = ['ts', ...(cLoadgen ? ['c'] : [])] as const;
// samples[generator][measure][server] = values over rounds
const samples: Record<string, Record<string, Record<string, number[]>>> = {};
const started = Date.now();
console.log(
  `echo bench: ${SECONDS} s per measurement (+${WARMUP_MS} ms warm-up), ${ROUNDS} round(s), ` +
    `${canPin ? 'servers pinned to core 1, load generator to core 0' : 'not pinned'}; ` +
    `${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(2)}`,
);
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which server goes first, so drift in the machine's load is shared.
  const order = round % 2 === 0 ? SERVERS : [...SERVERS].reverse();
  for (const server of order) {
    const { child, port } = await startServer(server);
    try {
      for (const generator of generators) {
        for (const measure of MEASURES) {
          const value = generator === 'ts' ? await measure.ts(port) : runCLoadgen(cLoadgen!, port, measure.c);
          ((samples[generator] ??= {})[measure.key] ??= {})[server.name] ??= [];
          samples[generator][measure.key][server.name].push(value);
          process.stdout.write(`  round ${round + 1} ${generator.padEnd(2)} ${server.name.padEnd(11)} ${measure.label.padEnd(26)} ${value.toFixed(1)} ${measure.unit}\n`);
        }
      }
    } finally {
      await stopServer(child);
    }
  }
}

const rows: Array<Record<string, unknown>> = [];
console.log(
  `\n${'generator'.padEnd(12)}${'measurement'.padEnd(27)}${'unit'.padEnd(8)}` +
    `${'echo-server'.padStart(12)}${'node-pipe'.padStart(12)}${'ratio'.padStart(8)}`,
);
for (const generator of generators) {
  for (const measure of MEASURES) {
    const ours = median(samples[generator][measure.key]['echo-server']);
    const base = median(samples[generator][measure.key]['node-pipe']);
    const ratio = ours / base;
    rows.push({
      generator: generator === 'ts' ? 'bench/echo.ts' : 'loadgen.c',
      measure: measure.key,
      unit: measure.unit,
      echoServer: ours,
      nodePipe: base,
      ratio,
      samples: samples[generator][measure.key],
    });
    const digits = measure.unit === 'MB/s' ? 1 : 0;
    console.log(
      `${(generator === 'ts' ? 'TypeScript' : 'C loadgen').padEnd(12)}${measure.label.padEnd(27)}${measure.unit.padEnd(8)}` +
        `${ours.toFixed(digits).padStart(12)}${base.toFixed(digits).padStart(12)}${ratio.toFixed(2).padStart(8)}`,
    );
  }
}
console.log(`(MB/s = 10^6 bytes/s; ratio = echo-server / node-pipe; medians of ${ROUNDS} round(s); ${((Date.now() - started) / 1000).toFixed(0)} s)`);

const resultsDir = path.join(ROOT, 'bench', 'results');
fs.mkdirSync(resultsDir, { recursive: true });
fs.writeFileSync(
  path.join(resultsDir, 'echo.json'),
  JSON.stringify(
    {
      bench: 'echo',
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      loadAverage: os.loadavg()[0],
      pinned: canPin,
      secondsPerMeasurement: SECONDS,
      rounds: ROUNDS,
      results: rows,
    },
    null,
    2,
  ) + '\n',
);
console.log(`wrote ${path.relative(process.cwd(), path.join(resultsDir, 'echo.json'))}`);
