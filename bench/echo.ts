// Echo throughput, server CPU and memory: scripts/echo-server.ts --quiet
// against the minimal Node echo server (`net.createServer(s => s.pipe(s))`)
// and, with --c-loadgen, the reference C epoll server, all in the same run.
//
// Servers (each started in turn, A B C ... then reversed each round):
//   echo-server      node --import tsx scripts/echo-server.ts --quiet (what `npm start` runs)
//   echo-bundle      node dist/echo-server.mjs --quiet (built here first, tools/build.ts)
//   node-pipe        ../shared/bench/node-pipe.mjs, or the same code inline
//   echo-epoll       ../shared/bench/echo-epoll.c built with gcc -O2 (--c-loadgen only)
// Measurements:
//   ping-pong  C connections, one 64-byte message in flight each: msgs/s
//   bulk       4 connections stream and read the echo: MB/s (10^6 B)
//   cpu/msg    the server's utime+stime (/proc/PID/stat) over the measured
//              window divided by the messages (µs), or by the MB (ms/MB)
//   memory     idle VmRSS after start, VmRSS per idle connection with
//              --idle-conns (default 10000) connections open, and (with
//              --c-loadgen) VmHWM under `loadgen -m hog` (20 clients that send
//              and never read)
// Load generators: this file's TypeScript one (--ts-loadgen, the issue 3
// figure: slower than the servers, so ratios near 1) and, with --c-loadgen,
// ../shared/bench/loadgen.c (LOADGEN_C), which checks every echoed byte and
// is fast enough that the servers are the limit. With taskset and 2+ cores,
// the servers are pinned to core 1 and the load generators to core 0.
//
//   npx tsx bench/echo.ts                                 TS load generator, 1 round
//   npx tsx bench/echo.ts --c-loadgen --rounds 3 --seconds 3
//   npx tsx bench/echo.ts --c-loadgen --no-ts-loadgen --no-memory
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
const SHARED = path.join(ROOT, '..', 'shared', 'bench');
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4.5' },
    rounds: { type: 'string', default: '1' },
    'c-loadgen': { type: 'boolean', default: false },
    'ts-loadgen': { type: 'boolean', default: true },
    'no-ts-loadgen': { type: 'boolean', default: false },
    memory: { type: 'boolean', default: true },
    'no-memory': { type: 'boolean', default: false },
    'idle-conns': { type: 'string', default: '10000' },
  },
});
const SECONDS = Math.min(30, Math.max(0.5, Number(values.seconds) || 4.5));
const WARMUP_MS = 500;
const ROUNDS = Math.min(9, Math.max(1, Number(values.rounds) || 1));
const TS_LOADGEN = values['ts-loadgen'] && !values['no-ts-loadgen'];
const MEMORY = values.memory && !values['no-memory'];
const IDLE_CONNS = Math.min(15000, Math.max(100, Number(values['idle-conns']) || 10000));
const CLK_TCK = 100; // USER_HZ on Linux

const BASELINE = `
const net = require('node:net');
const server = net.createServer((s) => { s.on('error', () => {}); s.pipe(s); });
server.listen(0, '127.0.0.1', () => process.stderr.write('listening on 127.0.0.1:' + server.address().port + ' (tcp)\\n'));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));`;

const canPin = os.cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0;
if (canPin) spawnSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });

/** Builds a C file from ../shared/bench with gcc -O2 into a temp folder; null if not possible. */
function buildC(name: string, envVar: string): string | null {
  const source = process.env[envVar] ?? path.join(SHARED, `${name}.c`);
  if (!fs.existsSync(source)) {
    console.log(`(--c-loadgen: ${source} not found; skipped)`);
    return null;
  }
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`)), name);
  const built = spawnSync('gcc', ['-O2', '-o', out, source], { stdio: 'inherit' });
  if (built.status !== 0) {
    console.log(`(--c-loadgen: gcc failed or is missing for ${name}; skipped)`);
    return null;
  }
  return out;
}

const cLoadgen = values['c-loadgen'] ? buildC('loadgen', 'LOADGEN_C') : null;
const cEpoll = cLoadgen ? buildC('echo-epoll', 'ECHO_EPOLL_C') : null;
const built = spawnSync(process.execPath, ['--import', 'tsx', 'tools/build.ts', 'echo-server'], { cwd: ROOT, encoding: 'utf8' });
const haveBundle = built.status === 0 && fs.existsSync(path.join(ROOT, 'dist', 'echo-server.mjs'));
if (!haveBundle) console.log(`(could not build dist/echo-server.mjs; bundle skipped: ${built.stderr})`);
const pipeFile = path.join(SHARED, 'node-pipe.mjs');

interface Server {
  name: string;
  start: (port: number) => string[];
}
const SERVERS: Server[] = [
  { name: 'echo-server', start: (p) => [process.execPath, '--import', 'tsx', 'scripts/echo-server.ts', '--port', String(p), '--quiet'] },
  ...(haveBundle ? [{ name: 'echo-bundle', start: (p: number) => [process.execPath, 'dist/echo-server.mjs', '--port', String(p), '--quiet'] }] : []),
  {
    name: 'node-pipe',
    start: (p) => (fs.existsSync(pipeFile) && p > 0 ? [process.execPath, pipeFile, String(p)] : [process.execPath, '-e', BASELINE]),
  },
  ...(cEpoll ? [{ name: 'echo-epoll', start: (p: number) => [cEpoll, String(p), '127.0.0.1'] }] : []),
];
const OURS = ['echo-server', 'echo-bundle'];
const BASES = ['node-pipe', 'echo-epoll'];

/** A free port (the C server and node-pipe.mjs want one on the command line). */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${ms} ms`);
    await sleep(50);
  }
}

async function startServer(server: Server): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const argv = server.start(port);
  const command = canPin ? ['taskset', '-c', '1', ...argv] : argv;
  const child = spawn(command[0], command.slice(1), { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  child.stderr!.resume(); // open/close lines: read and dropped
  const exited = new Promise<never>((_, reject) => child.on('exit', (code) => reject(new Error(`${server.name} exited (${code})`))));
  exited.catch(() => {});
  await Promise.race([waitForPort(port, 20000), exited]);
  await sleep(300); // let the first test connection's close settle
  return { child, port };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** The server's own pid: taskset execs the program, so it is the child's pid. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
}

async function openConnections(port: number, count: number): Promise<net.Socket[]> {
  return Promise.all(
    Array.from({ length: count }, () => new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(socket));
      socket.once('error', reject);
    })),
  );
}

// Ctrl-C: do not leave a pinned server behind.
const children = new Set<ChildProcess>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const child of children) child.kill('SIGKILL');
    process.exit(130);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A measured value and the server CPU it took (s). */
interface Sample {
  value: number;
  count: number; // messages, or MB for bulk
  cpu: number;
}

/**
 * The measured window both load generators share: a warm-up, then SECONDS
 * with counting on, timed, and the server's CPU time over the same span.
 */
async function measureWindow(pid: number, setCounting: (on: boolean) => void): Promise<{ elapsed: number; cpu: number }> {
  await sleep(WARMUP_MS);
  setCounting(true);
  const cpu0 = cpuSeconds(pid);
  const started = performance.now();
  await sleep(SECONDS * 1000);
  setCounting(false);
  return { elapsed: (performance.now() - started) / 1000, cpu: cpuSeconds(pid) - cpu0 };
}

/** Ping-pong with this file's load generator: one 64-byte message in flight per connection. */
async function pingPong(pid: number, port: number, connections: number, size = 64): Promise<Sample> {
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
      for (let i = 0; i < chunk.length; i++) {
        if (chunk[i] !== message[(got + i) % size]) failure ??= new Error('ping-pong: wrong byte echoed');
      }
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
  const { elapsed, cpu } = await measureWindow(pid, (on) => (counting = on));
  running = false;
  for (const socket of sockets) socket.destroy();
  if (failure) throw failure;
  return { value: messages / elapsed, count: messages, cpu };
}

/** Bulk with this file's load generator: 64 KiB writes, the echo read and checked. */
async function bulk(pid: number, port: number, connections: number): Promise<Sample> {
  const sockets = await openConnections(port, connections);
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251;
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
      const offset = got % chunk.length;
      if (data[0] !== chunk[offset] || data[data.length - 1] !== chunk[(offset + data.length - 1) % chunk.length]) {
        failure ??= new Error('bulk: wrong byte echoed');
      }
      got += data.length;
      if (counting) received += data.length;
      pump();
    });
    socket.on('drain', pump);
    socket.on('error', (error) => (failure ??= error));
    pump();
  }
  const { elapsed, cpu } = await measureWindow(pid, (on) => (counting = on));
  running = false;
  for (const socket of sockets) socket.destroy();
  if (failure) throw failure;
  return { value: received / elapsed / 1e6, count: received / 1e6, cpu };
}

/** One run of the C load generator (no warm-up inside: a 1 s run before it warms the server). */
function runCLoadgen(pid: number, port: number, args: string[]): Sample {
  const run = (seconds: number) => {
    const argv = [cLoadgen!, '-p', String(port), ...args, '-d', String(seconds), '-w', '0', '-q'];
    const command = canPin ? ['taskset', '-c', '0', ...argv] : argv;
    const result = spawnSync(command[0], command.slice(1), { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
    const line = /RESULT .*/.exec(result.stdout ?? '')?.[0] ?? '';
    const field = (name: string) => new RegExp(`(?:^| )${name}=([\\d.]+)`).exec(line)?.[1];
    if (result.status !== 0 || !line) {
      throw new Error(`loadgen ${args.join(' ')} failed (exit ${result.status}): ${result.stdout}${result.stderr}`);
    }
    if (field('mismatches') !== '0') throw new Error(`loadgen found corrupted bytes: ${line}`);
    return field;
  };
  run(1);
  const cpu0 = cpuSeconds(pid);
  const field = run(SECONDS);
  const cpu = cpuSeconds(pid) - cpu0;
  const msgs = field('msgs_per_s');
  if (msgs !== undefined) return { value: Number(msgs), count: Number(msgs) * SECONDS, cpu };
  const mbps = Number(field('mb_per_s'));
  return { value: mbps, count: mbps * SECONDS, cpu };
}

interface Measure {
  key: string;
  label: string;
  unit: string;
  perUnit: string; // cpu per message (µs) or per MB (ms)
  ts: (pid: number, port: number) => Promise<Sample>;
  c: string[];
}
const MEASURES: Measure[] = [
  { key: 'pingpong_c1', label: 'ping-pong 64 B, 1 conn', unit: 'msgs/s', perUnit: 'µs/msg', ts: (pid, p) => pingPong(pid, p, 1), c: ['-m', 'pingpong', '-c', '1', '-s', '64'] },
  { key: 'pingpong_c50', label: 'ping-pong 64 B, 50 conns', unit: 'msgs/s', perUnit: 'µs/msg', ts: (pid, p) => pingPong(pid, p, 50), c: ['-m', 'pingpong', '-c', '50', '-s', '64'] },
  { key: 'bulk_c4', label: 'bulk, 4 conns', unit: 'MB/s', perUnit: 'ms/MB', ts: (pid, p) => bulk(pid, p, 4), c: ['-m', 'bulk', '-c', '4'] },
];

/** RSS of an idle server, then per idle connection with `count` open; closes them. */
async function idleMemory(pid: number, port: number, count: number): Promise<{ idleKiB: number; perConnKiB: number }> {
  const idleKiB = statusKiB(pid, 'VmRSS');
  const sockets: net.Socket[] = [];
  for (let i = 0; i < count; i += 500) sockets.push(...(await openConnections(port, Math.min(500, count - i))));
  // Wait (bounded) until the server holds a descriptor for every connection.
  const deadline = Date.now() + 30000;
  while (fs.readdirSync(`/proc/${pid}/fd`).length < count && Date.now() < deadline) await sleep(100);
  await sleep(1000);
  const perConnKiB = (statusKiB(pid, 'VmRSS') - idleKiB) / count;
  for (const socket of sockets) socket.destroy();
  return { idleKiB, perConnKiB };
}

/** VmHWM under `loadgen -m hog`: 20 clients send up to 64 MiB each and never read. */
function hogMemory(pid: number, port: number): { before: number; peak: number; stop: string } {
  const before = statusKiB(pid, 'VmRSS');
  const argv = [cLoadgen!, '-p', String(port), '-m', 'hog', '-c', '20', '-B', '64', '-d', '10', '-H', '1', '-q'];
  const command = canPin ? ['taskset', '-c', '0', ...argv] : argv;
  const result = spawnSync(command[0], command.slice(1), { encoding: 'utf8', timeout: 60000 });
  const stop = /stop=(\w+)/.exec(result.stdout ?? '')?.[1] ?? `exit ${result.status}`;
  return { before, peak: statusKiB(pid, 'VmHWM'), stop };
}

const median = (numbers: number[]) => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const generators = [...(TS_LOADGEN ? ['ts'] : []), ...(cLoadgen ? ['c'] : [])];
// samples[generator][measure][server] = samples over rounds
const samples: Record<string, Record<string, Record<string, Sample[]>>> = {};
const memory: Record<string, { idleKiB: number[]; perConnKiB: number[]; hogPeakKiB: number[]; hogStop: string[] }> = {};
const started = Date.now();
const loadBefore = os.loadavg()[0];
console.log(
  `echo bench: ${SECONDS} s per measurement, ${ROUNDS} round(s), servers ${SERVERS.map((s) => s.name).join(', ')}; ` +
    `${canPin ? 'servers pinned to core 1, load generators to core 0' : 'not pinned'}; ` +
    `${os.cpus().length} cores, load average ${loadBefore.toFixed(2)}`,
);
for (let round = 0; round < ROUNDS; round++) {
  // Alternate the order, so drift in the machine's load is shared.
  const order = round % 2 === 0 ? SERVERS : [...SERVERS].reverse();
  for (const server of order) {
    const { child, port } = await startServer(server);
    const pid = child.pid!;
    try {
      for (const generator of generators) {
        for (const measure of MEASURES) {
          const sample = generator === 'ts' ? await measure.ts(pid, port) : runCLoadgen(pid, port, measure.c);
          ((samples[generator] ??= {})[measure.key] ??= {})[server.name] ??= [];
          samples[generator][measure.key][server.name].push(sample);
          const per = (sample.cpu / sample.count) * (measure.unit === 'MB/s' ? 1e3 : 1e6);
          console.log(
            `  round ${round + 1} ${generator.padEnd(2)} ${server.name.padEnd(11)} ${measure.label.padEnd(26)} ` +
              `${sample.value.toFixed(1)} ${measure.unit}, server cpu ${per.toFixed(2)} ${measure.perUnit}`,
          );
        }
      }
    } finally {
      await stopServer(child);
    }
  }
}

// Memory, each figure from a fresh server: idle VmRSS a second after start,
// VmRSS per idle connection, then (another fresh server) the peak under hog.
for (let round = 0; MEMORY && round < ROUNDS; round++) {
  const order = round % 2 === 0 ? SERVERS : [...SERVERS].reverse();
  for (const server of order) {
    const m = (memory[server.name] ??= { idleKiB: [], perConnKiB: [], hogPeakKiB: [], hogStop: [] });
    let line = `  round ${round + 1} mem ${server.name.padEnd(11)}`;
    let { child, port } = await startServer(server);
    try {
      await sleep(1000);
      const idle = await idleMemory(child.pid!, port, IDLE_CONNS);
      m.idleKiB.push(idle.idleKiB);
      m.perConnKiB.push(idle.perConnKiB);
      line += ` idle ${(idle.idleKiB / 1024).toFixed(1)} MiB, ${idle.perConnKiB.toFixed(2)} KiB per idle connection (${IDLE_CONNS})`;
    } finally {
      await stopServer(child);
    }
    if (cLoadgen) {
      ({ child, port } = await startServer(server));
      try {
        const hog = hogMemory(child.pid!, port);
        m.hogPeakKiB.push(hog.peak);
        m.hogStop.push(hog.stop);
        line += `; hog: VmRSS ${(hog.before / 1024).toFixed(1)} -> peak ${(hog.peak / 1024).toFixed(1)} MiB (${hog.stop})`;
      } finally {
        await stopServer(child);
      }
    }
    console.log(line);
  }
}

// The table: medians, then ratios of ours to each baseline.
const rows: Array<Record<string, unknown>> = [];
const names = SERVERS.map((s) => s.name);
const ratioCols = OURS.filter((o) => names.includes(o)).flatMap((o) => BASES.filter((b) => names.includes(b)).map((b) => [o, b]));
const shortName = (n: string) => n.replace('echo-', '').replace('node-', '');
console.log(
  `\n${'generator'.padEnd(11)}${'measurement'.padEnd(26)}${'unit'.padEnd(8)}` +
    names.map((n) => n.padStart(12)).join('') +
    ratioCols.map(([o, b]) => `${shortName(o)}/${shortName(b)}`.padStart(14)).join(''),
);
for (const generator of generators) {
  for (const measure of MEASURES) {
    const per = samples[generator][measure.key];
    const value = (n: string) => median(per[n].map((s) => s.value));
    const cpu = (n: string) => median(per[n].map((s) => (s.cpu / s.count) * (measure.unit === 'MB/s' ? 1e3 : 1e6)));
    const digits = measure.unit === 'MB/s' ? 1 : 0;
    const label = generator === 'ts' ? 'TypeScript' : 'C loadgen';
    console.log(
      `${label.padEnd(11)}${measure.label.padEnd(26)}${measure.unit.padEnd(8)}` +
        names.map((n) => value(n).toFixed(digits).padStart(12)).join('') +
        ratioCols.map(([o, b]) => (value(o) / value(b)).toFixed(2).padStart(14)).join(''),
    );
    console.log(
      `${''.padEnd(11)}${'  server cpu'.padEnd(26)}${measure.perUnit.padEnd(8)}` +
        names.map((n) => cpu(n).toFixed(2).padStart(12)).join('') +
        ratioCols.map(([o, b]) => (cpu(o) / cpu(b)).toFixed(2).padStart(14)).join(''),
    );
    rows.push({
      generator: generator === 'ts' ? 'bench/echo.ts' : 'loadgen.c',
      measure: measure.key,
      unit: measure.unit,
      medians: Object.fromEntries(names.map((n) => [n, value(n)])),
      cpuPer: measure.perUnit,
      cpuMedians: Object.fromEntries(names.map((n) => [n, cpu(n)])),
      ratios: Object.fromEntries(ratioCols.map(([o, b]) => [`${o}/${b}`, value(o) / value(b)])),
      samples: per,
    });
  }
}
const memoryRows: Record<string, unknown> = {};
if (MEMORY) {
  console.log(`\n${'memory'.padEnd(45)}` + names.map((n) => n.padStart(12)).join(''));
  const line = (label: string, f: (n: string) => number, digits: number) =>
    console.log(label.padEnd(45) + names.map((n) => f(n).toFixed(digits).padStart(12)).join(''));
  line('idle VmRSS (MiB)', (n) => median(memory[n].idleKiB) / 1024, 1);
  line(`VmRSS per idle connection, ${IDLE_CONNS} open (KiB)`, (n) => median(memory[n].perConnKiB), 2);
  if (cLoadgen) line('VmHWM under hog, 20 x 64 MiB never read (MiB)', (n) => median(memory[n].hogPeakKiB) / 1024, 1);
  for (const n of names) {
    memoryRows[n] = {
      idleKiB: median(memory[n].idleKiB),
      perIdleConnKiB: median(memory[n].perConnKiB),
      hogPeakKiB: cLoadgen ? median(memory[n].hogPeakKiB) : null,
      samples: memory[n],
    };
  }
}
const loadAfter = os.loadavg()[0];
console.log(
  `(MB/s = 10^6 bytes/s; ratios of medians of ${ROUNDS} round(s); server cpu = utime+stime per message or MB; ` +
    `load average ${loadBefore.toFixed(2)} -> ${loadAfter.toFixed(2)}; ${((Date.now() - started) / 1000).toFixed(0)} s)`,
);

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
      loadAverage: [loadBefore, loadAfter],
      pinned: canPin,
      secondsPerMeasurement: SECONDS,
      rounds: ROUNDS,
      servers: names,
      results: rows,
      memory: MEMORY ? { idleConnections: IDLE_CONNS, servers: memoryRows } : null,
    },
    null,
    2,
  ) + '\n',
);
console.log(`wrote ${path.relative(process.cwd(), path.join(resultsDir, 'echo.json'))}`);
