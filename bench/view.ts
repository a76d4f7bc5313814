// socket-view at scale: with N loopback connections open (default 10,000),
// the time of one refresh as socket-view does it (read and parse every
// table, owners from the per-inode cache, the one viewer's filtered
// document as JSON) against `ss -tanp` in the same run, the commands taking
// turns; the first refresh (every owner new: one /proc/*/fd walk) shown
// apart. Then the CPU of a real `socket-view` at its default interval
// (500 ms) with one /events viewer, from /proc/PID/stat over --seconds.
//
//   npx tsx bench/view.ts                  10,000 connections, 7 runs, 10 s of CPU
//   npx tsx bench/view.ts --runs 3 1000
//
// Writes bench/results/view.json.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Sampler } from '../lib/kernel/sampler.ts';
import { ViewHub } from '../lib/serve/view.ts';
import { CLIENTS, SERVER } from './_connections.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '7' }, seconds: { type: 'string', default: '10' } },
  allowPositionals: true,
});
const RUNS = Math.max(1, Math.min(30, Number(values.runs) || 7));
const SECONDS = Math.max(2, Math.min(120, Number(values.seconds) || 10));
const N = Number(positionals[0] ?? 10000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

function readLine(child: ChildProcess, pattern = /\n/): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('no answer within 60 s')), 60_000);
    const on = (chunk: Buffer) => {
      text += chunk;
      if (pattern.test(text)) {
        clearTimeout(timer);
        resolve(text);
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.on('exit', () => reject(new Error(`exited: ${text}`)));
  });
}

function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in USER_HZ ticks
}

const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
const port = Number((await readLine(server)).trim());
const clients = spawn(process.execPath, ['-e', CLIENTS, String(port), String(N)], { stdio: ['pipe', 'pipe', 'inherit'] });
const [opened] = (await readLine(clients)).trim().split(' ').map(Number);
console.log(`${opened} connections open to 127.0.0.1:${port} (load ${os.loadavg()[0].toFixed(2)})`);

try {
  // One refresh as the hub does it for one viewer filtered to nothing.
  const sampler = new Sampler();
  const hub = new ViewHub({ intervalMs: 500, host: '127.0.0.1', port: 1, sampler });
  const refresh = async () => {
    const t = performance.now();
    const snap = await sampler.read();
    JSON.stringify(hub.document(snap, {}));
    return performance.now() - t;
  };
  const first = await refresh();
  const ours: number[] = [];
  const ss: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push(await refresh());
    const t = performance.now();
    const result = spawnSync('ss', ['-tanp'], { stdio: 'ignore', maxBuffer: 1 << 28 });
    if (result.status === 0) ss.push(performance.now() - t);
  }
  const ourMs = median(ours);
  const ssMs = ss.length ? median(ss) : null;
  console.log(`refresh (cached owners): ${ourMs.toFixed(1)} ms median of ${RUNS}; first (every owner new): ${first.toFixed(1)} ms`);
  console.log(`ss -tanp: ${ssMs === null ? 'not available' : `${ssMs.toFixed(1)} ms`}; ratio ${ssMs ? (ourMs / ssMs).toFixed(2) : '-'} (< 1: faster)`);

  // CPU of a real socket-view, default interval, one viewer.
  const view = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/socket-view.ts'), '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const viewPort = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(await readLine(view, /listening on 127\.0\.0\.1:\d+/))![1]);
  const viewer = net.connect(viewPort, '127.0.0.1');
  let bytes = 0;
  viewer.on('data', (chunk) => (bytes += chunk.length));
  viewer.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${viewPort}\r\n\r\n`);
  await new Promise((resolve) => setTimeout(resolve, 2000)); // start-up and the first walk
  const ticks0 = cpuTicks(view.pid!);
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  const cpu = ((cpuTicks(view.pid!) - ticks0) / 100 / ((performance.now() - t0) / 1000)) * 100;
  console.log(`socket-view, interval 500 ms, one viewer: ${cpu.toFixed(1)}% of one core over ${SECONDS} s (${(bytes / 1e6).toFixed(1)} MB sent)`);
  viewer.destroy();
  view.kill('SIGINT');

  fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  const result = {
    date: new Date().toISOString(),
    connections: opened,
    runs: RUNS,
    refreshMs: ourMs,
    firstRefreshMs: first,
    ssTanpMs: ssMs,
    ratioVsSs: ssMs ? ourMs / ssMs : null,
    cpuPercentOneViewer: cpu,
    cpuSeconds: SECONDS,
    load: os.loadavg()[0],
  };
  fs.writeFileSync(path.join(ROOT, 'bench/results/view.json'), JSON.stringify(result, null, 2) + '\n');
} finally {
  clients.stdin!.end();
  await new Promise((resolve) => clients.on('exit', resolve));
  server.stdin!.end();
}
