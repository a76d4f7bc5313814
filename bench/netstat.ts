// netstat.ts --json against `ss -tanp` and `netstat -tanp` (net-tools) with
// 1,000 and 10,000 loopback connections open, median wall time of several
// runs each, the commands taking turns (A/B/C/...) so a burst of load from
// elsewhere hits all of them alike; ratios < 1 mean we are faster. Then
// where our time goes, measured in this process, phase by phase as
// scripts/netstat.ts runs them: reading /proc/net/tcp{,6,udp,udp6}, parsing,
// starting ss (zx import + spawn), the /proc/*/fd walk (ss runs meanwhile),
// waiting for ss, JSON; the first run (cold code, as in a fresh process) and
// the median. `node -e 0` gives start-up. The load average is recorded: the
// machine is shared.
//
// The connections are opened by two child processes (one accepts and holds
// the server sides, one holds the clients) so no process needs more than
// ~10,000 descriptors; 10k is skipped, visibly, when `ulimit -n` is lower.
//
//   npx tsx bench/netstat.ts                 1,000 and 10,000, 5 runs each
//   npx tsx bench/netstat.ts --runs 3 1000   fewer runs, only 1,000
//
// Writes bench/results/netstat.json.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import os from 'node:os';
import { writeJson } from '../lib/kernel/format.ts';
import { readProcFile } from '../lib/kernel/procfile.ts';
import { startBacklogs } from '../lib/kernel/ss.ts';
import { attachOwners, filterRows, readSockets } from '../lib/kernel/table.ts';
import { parseInetTable, type InetProto, type SocketRow } from '../lib/kernel/procnet.ts';
import { CLIENTS, SERVER } from './_connections.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'node_modules', '.bin');
const { values, positionals } = parseArgs({ options: { runs: { type: 'string', default: '5' } }, allowPositionals: true });
const RUNS = Math.max(1, Math.min(20, Number(values.runs) || 5));
const SIZES = (positionals.length ? positionals.map(Number) : [1000, 10000]).filter((n) => n > 0);

const which = (name: string) => (process.env.PATH ?? '').split(':').some((dir) => dir && fs.existsSync(path.join(dir, name)));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

function openFilesLimit(): number {
  const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === 'unlimited' ? Infinity : Number(soft);
}

function timeOnce(argv: string[]): number | null {
  const started = performance.now();
  const result = spawnSync(argv[0], argv.slice(1), { cwd: ROOT, stdio: 'ignore', timeout: 60_000 });
  const ms = performance.now() - started;
  return result.status === 0 ? ms : null;
}

// Median wall time of each command, RUNS rounds, the commands taking turns;
// one warm-up round first (page cache, the kernel's tables). null = failed.
function timeCommands(commands: string[][]): Array<number | null> {
  for (const argv of commands) timeOnce(argv);
  const times = commands.map(() => [] as number[]);
  const failed = commands.map(() => false);
  for (let i = 0; i < RUNS; i++) {
    commands.forEach((argv, j) => {
      if (failed[j]) return;
      const ms = timeOnce(argv);
      if (ms === null) failed[j] = true;
      else times[j].push(ms);
    });
  }
  return times.map((xs, j) => (failed[j] ? null : median(xs)));
}

function readLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('child did not answer within 60 s')), 60_000);
    child.stdout!.on('data', (chunk) => {
      text += chunk;
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(text.trim());
      }
    });
    child.on('exit', () => reject(new Error(`child exited: ${text}`)));
  });
}

async function openConnections(n: number): Promise<{ close: () => Promise<void>; opened: number }> {
  const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = Number(await readLine(server));
  const clients = spawn(process.execPath, ['-e', CLIENTS, String(port), String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [opened, failed] = (await readLine(clients)).split(' ').map(Number);
  if (failed) console.log(`  (${failed} connects failed)`);
  return {
    opened,
    // The clients reset their connections (RST, no TIME_WAIT left behind), then the server goes.
    close: async () => {
      clients.stdin!.end();
      await new Promise((resolve) => clients.on('exit', resolve));
      server.stdin!.end();
      await new Promise((resolve) => server.on('exit', resolve));
    },
  };
}

interface Row {
  connections: number;
  tool: string;
  command: string;
  medianMs: number | null;
  vsSs: number | null;
  vsNetstat: number | null;
}

// In-process breakdown of `netstat --json`, phase by phase as the script
// runs them; the first run is cold (the parser and the walk not yet
// compiled, as in a fresh process), then the median of RUNS.
async function breakdown(): Promise<{ cold: Record<string, number>; median: Record<string, number> }> {
  const phases: Record<string, number[]> = { read: [], parse: [], startSs: [], walk: [], waitSs: [], json: [] };
  const devNull = fs.openSync('/dev/null', 'w');
  for (let i = 0; i <= RUNS; i++) {
    let t = performance.now();
    const lap = (phase: string) => {
      const now = performance.now();
      phases[phase].push(now - t);
      t = now;
    };
    const tables: Array<[InetProto, Uint8Array]> = [];
    for (const proto of ['tcp', 'tcp6', 'udp', 'udp6'] as const) {
      const bytes = readProcFile(`/proc/net/${proto}`);
      if (bytes) tables.push([proto, Uint8Array.from(bytes)]); // a copy: the read buffer is reused
    }
    lap('read');
    const rows: SocketRow[] = filterRows(tables.flatMap(([proto, bytes]) => parseInetTable(bytes, proto)), {});
    lap('parse');
    const backlogs = await startBacklogs(rows); // the first run includes importing zx
    lap('startSs');
    attachOwners(rows);
    lap('walk');
    await backlogs.done;
    lap('waitSs');
    writeJson(rows, (chunk) => fs.writeSync(devNull, chunk)); // as the script writes it
    lap('json');
  }
  fs.closeSync(devNull);
  const round = (xs: number[]) => Math.round(xs[0]);
  return {
    cold: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, round(v)])),
    median: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(median(v.slice(1)))])),
  };
}

const limit = openFilesLimit();
const tools: Array<{ tool: string; argv: string[]; available: boolean }> = [
  { tool: 'ss -tanp', argv: ['ss', '-tanp'], available: which('ss') },
  { tool: 'netstat -tanp', argv: ['netstat', '-tanp'], available: which('netstat') },
  { tool: 'netstat.ts --json (tsx)', argv: [path.join(BIN, 'tsx'), 'scripts/netstat.ts', '--json'], available: fs.existsSync(path.join(BIN, 'tsx')) },
  { tool: 'netstat.ts --json (node --import tsx)', argv: [process.execPath, '--import', 'tsx', 'scripts/netstat.ts', '--json'], available: true },
  { tool: 'dist/netstat.mjs --json (node)', argv: [process.execPath, 'dist/netstat.mjs', '--json'], available: fs.existsSync(path.join(ROOT, 'dist/netstat.mjs')) },
  { tool: 'node -e 0 (start-up only)', argv: [process.execPath, '-e', '0'], available: true },
];
for (const t of tools) if (!t.available) console.log(`skipped: ${t.tool} (not installed / not built; npm run build makes dist/)`);

const results: Row[] = [];
const breakdowns: Record<string, { cold: Record<string, number>; median: Record<string, number> }> = {};
const loads: Record<string, number[]> = {};
const started = Date.now();
for (const n of SIZES) {
  if (n + 100 > limit) {
    console.log(`skipped: ${n} connections (ulimit -n is ${limit}; each child needs ${n + 100})`);
    continue;
  }
  const conns = await openConnections(n);
  try {
    const rowsNow = readSockets({ tcp: true, udp: false, unix: false }).length;
    console.log(`\n${conns.opened} connections open (${rowsNow} rows in /proc/net/tcp{,6}); median of ${RUNS} runs, taking turns:`);
    const available = tools.filter((t) => t.available);
    const measured = timeCommands(available.map((t) => t.argv));
    const times = new Map(available.map((t, i) => [t.tool, measured[i]]));
    loads[n] = os.loadavg().map((x) => Number(x.toFixed(2)));
    const ss = times.get('ss -tanp') ?? null;
    const ns = times.get('netstat -tanp') ?? null;
    for (const t of tools.filter((t) => t.available)) {
      const ms = times.get(t.tool) ?? null;
      const row: Row = {
        connections: conns.opened,
        tool: t.tool,
        command: t.argv.map((a) => path.relative(ROOT, a).startsWith('..') ? path.basename(a) : path.relative(ROOT, a) || a).join(' '),
        medianMs: ms === null ? null : Math.round(ms),
        vsSs: ms !== null && ss ? Number((ms / ss).toFixed(2)) : null,
        vsNetstat: ms !== null && ns ? Number((ms / ns).toFixed(2)) : null,
      };
      results.push(row);
      console.log(
        `  ${t.tool.padEnd(40)} ${ms === null ? 'failed' : `${row.medianMs} ms`.padStart(8)}   x ss ${row.vsSs ?? '-'}   x netstat ${row.vsNetstat ?? '-'}`,
      );
    }
    breakdowns[n] = await breakdown();
    console.log(`  load average ${loads[n].join(' ')} (2 cores shared with other work)`);
    console.log(`  where netstat.ts spends it (in-process, ms), first run: ${JSON.stringify(breakdowns[n].cold)}`);
    console.log(`                                             median:    ${JSON.stringify(breakdowns[n].median)}`);
  } finally {
    await conns.close();
  }
}

fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
fs.writeFileSync(
  path.join(ROOT, 'bench/results/netstat.json'),
  JSON.stringify({ date: new Date().toISOString(), runs: RUNS, openFilesLimit: limit, loadAverage: loads, results, breakdown: breakdowns, seconds: Math.round((Date.now() - started) / 1000) }, null, 2) + '\n',
);
console.log(`\nwrote bench/results/netstat.json (${Math.round((Date.now() - started) / 1000)} s)`);
