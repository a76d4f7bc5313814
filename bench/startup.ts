// Start-up time of every script, run five ways, against `node -e 0` (a Node
// process that does nothing) measured in the same run: the median wall time
// of `X --help` (parse flags, print, exit) for
//   tsx scripts/X.ts               what `npx tsx` and the shebang run
//   node dist/X.mjs                the esbuild bundle (npm run build)
//   node --import tsx scripts/X.ts the TypeScript loader in one process
//   deno run -A scripts/X.ts       Deno 2 runs the .ts directly
//   bun scripts/X.ts               Bun runs the .ts directly
// deno and bun come from node_modules/.bin; a missing one is skipped, visibly.
// Builds the bundles first (and reports how long that took).
//
//   npx tsx bench/startup.ts                 all scripts, 5 runs each
//   npx tsx bench/startup.ts --runs 3 echo   fewer runs, scripts matching "echo"
//
// Writes bench/results/startup.json.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'node_modules', '.bin');
const RUN_DEADLINE_MS = 30_000;

const { values, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '5' } },
  allowPositionals: true,
});
const RUNS = Math.max(1, Math.min(50, Number(values.runs) || 5));

interface Way {
  way: string;
  command: (name: string) => string[];
  available: boolean;
}

const node = process.execPath;
const WAYS: Way[] = [
  { way: 'tsx', command: (n) => [path.join(BIN, 'tsx'), `scripts/${n}.ts`], available: fs.existsSync(path.join(BIN, 'tsx')) },
  { way: 'node dist', command: (n) => [node, `dist/${n}.mjs`], available: true },
  { way: 'node --import tsx', command: (n) => [node, '--import', 'tsx', `scripts/${n}.ts`], available: true },
  { way: 'deno', command: (n) => [path.join(BIN, 'deno'), 'run', '-A', `scripts/${n}.ts`], available: fs.existsSync(path.join(BIN, 'deno')) },
  { way: 'bun', command: (n) => [path.join(BIN, 'bun'), `scripts/${n}.ts`], available: fs.existsSync(path.join(BIN, 'bun')) },
];

/** Wall time of one run in ms, or null if it failed. */
function timeOnce(argv: string[]): number | null {
  const started = performance.now();
  const result = spawnSync(argv[0], argv.slice(1), {
    cwd: ROOT,
    stdio: 'ignore',
    timeout: RUN_DEADLINE_MS,
    env: { ...process.env, NO_COLOR: '1' },
  });
  const ms = performance.now() - started;
  return result.status === 0 ? ms : null;
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const names = fs
  .readdirSync(path.join(ROOT, 'scripts'))
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.slice(0, -3))
  .filter((name) => positionals.length === 0 || positionals.some((word) => name.includes(word)))
  .sort();

// Build the bundles the way `npm run build` does.
const buildStarted = performance.now();
const build = spawnSync(node, ['--import', 'tsx', 'tools/build.ts'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
const buildWallMs = Math.round(performance.now() - buildStarted);
if (build.status !== 0) {
  process.stderr.write(`startup: error: npm run build failed: ${build.stderr.split('\n')[0]}\n`);
  process.exit(1);
}
const esbuildMs = Number(/built \d+ bundles in (\d+) ms/.exec(build.stdout)?.[1] ?? NaN);
console.log(`build: ${names.length} scripts, esbuild ${esbuildMs} ms, whole command ${buildWallMs} ms (node --import tsx tools/build.ts)`);

for (const way of WAYS) if (!way.available) console.log(`skip: ${way.way} (not in node_modules/.bin)`);

// Interleaved: every round runs the baseline and every command once, so a
// burst of load from elsewhere hits all of them alike. Round 0 is a warm-up
// (fills the OS page cache and deno's/tsx's caches) and is not counted.
interface Config {
  script: string;
  way: string;
  argv: string[];
  runsMs: number[];
  failed: boolean;
}
const baselineConfig: Config = { script: '', way: 'baseline', argv: [node, '-e', '0'], runsMs: [], failed: false };
// The floor for any .mjs file: an empty ES module (Node's ESM loader starts up).
const emptyModule = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'socket-lab-bench-')), 'empty.mjs');
fs.writeFileSync(emptyModule, '');
const floorConfig: Config = { script: '', way: 'floor', argv: [node, emptyModule], runsMs: [], failed: false };
const configs: Config[] = [];
for (const name of names) {
  for (const way of WAYS) {
    if (way.available) configs.push({ script: name, way: way.way, argv: [...way.command(name), '--help'], runsMs: [], failed: false });
  }
}
for (let round = 0; round <= RUNS; round++) {
  for (const config of [baselineConfig, floorConfig, ...configs]) {
    if (config.failed) continue;
    const ms = timeOnce(config.argv);
    if (ms === null) config.failed = true;
    else if (round > 0) config.runsMs.push(Math.round(ms * 10) / 10);
  }
}
const baseline = { medianMs: Math.round(median(baselineConfig.runsMs) * 10) / 10, runsMs: baselineConfig.runsMs };
const floor = { medianMs: Math.round(median(floorConfig.runsMs) * 10) / 10, runsMs: floorConfig.runsMs };
const floorRatio = Math.round((floor.medianMs / baseline.medianMs) * 100) / 100;
fs.rmSync(path.dirname(emptyModule), { recursive: true, force: true });
console.log(`baseline: node -e 0, median ${baseline.medianMs} ms of ${RUNS} runs`);
console.log(`floor: node empty.mjs (an empty ES module), median ${floor.medianMs} ms, ${floorRatio.toFixed(2)}x\n`);

interface Row {
  script: string;
  way: string;
  command: string;
  medianMs: number | null;
  /** Fastest run: less sensitive than the median to load from elsewhere. */
  minMs: number | null;
  ratio: number | null;
  runsMs: number[];
}
const shown = (arg: string) =>
  arg === node ? 'node' : path.relative(ROOT, arg).startsWith('node_modules') ? path.basename(arg) : arg;
const rows: Row[] = configs.map((config) => {
  const medianMs = config.failed ? null : Math.round(median(config.runsMs) * 10) / 10;
  return {
    script: config.script,
    way: config.way,
    command: config.argv.map(shown).join(' '),
    medianMs,
    minMs: config.failed ? null : Math.min(...config.runsMs),
    ratio: medianMs === null ? null : Math.round((medianMs / baseline.medianMs) * 100) / 100,
    runsMs: config.runsMs,
  };
});
const header = ['script', ...WAYS.filter((w) => w.available).map((w) => w.way)];
const table: string[][] = [header];
for (const name of names) {
  const line = [name];
  for (const row of rows.filter((r) => r.script === name)) {
    line.push(row.medianMs === null ? 'failed' : `${Math.round(row.medianMs)} ms ${row.ratio!.toFixed(2)}x`);
  }
  table.push(line);
}

const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
for (const [i, row] of table.entries()) {
  console.log(row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
console.log(`\nmedian wall time of \`X --help\` over ${RUNS} runs; ratio against node -e 0 (${baseline.medianMs} ms)`);

const out = path.join(ROOT, 'bench', 'results', 'startup.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(
  out,
  JSON.stringify(
    {
      bench: 'startup',
      date: new Date().toISOString(),
      node: process.version,
      runs: RUNS,
      build: { scripts: names.length, esbuildMs, commandMs: buildWallMs },
      baseline: { command: 'node -e 0', ...baseline },
      floor: { command: 'node empty.mjs', ...floor, ratio: floorRatio },
      results: rows,
    },
    null,
    2,
  ) + '\n',
);
console.log(`wrote ${path.relative(ROOT, out)}`);
