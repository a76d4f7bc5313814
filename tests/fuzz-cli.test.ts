// Command-line fuzz: every script in scripts/ gets FUZZ_VECTORS (default 300)
// random argument vectors: its own flags and unknown ones, missing values,
// empty strings, negative and huge numbers, non-ASCII, paths that do not
// exist, a port that is in use. For each: the exit code is 0, 1 or 2, stderr
// holds no stack trace, and nothing runs past its deadline; a server that
// starts (prints `listening on`) or a --watch that draws is stopped and
// counts as success.
//
// Speed: 2,700 node start-ups would take minutes on two shared cores, so
// each script is bundled once (esbuild, as tools/build.ts does, into a
// temporary folder) and the vectors run in batches: one process per batch
// imports a fresh instance of the bundle per vector (a hard link with a new
// name), with its own argv, an empty stdin, captured stdout/stderr, and
// process.exit() and the exit code attributed to the vector through
// AsyncLocalStorage; a server that starts is stopped the way Ctrl-C stops it.
// A crash (uncaught exception) kills the batch process with a stack trace on
// its real stderr and is reported against its vector; the rest go on in a
// new process. handshake-tour with valid flags counts as started when it
// spawns listen-only, and its process group is killed. A sample of vectors
// per script (FUZZ_PROCESS_SAMPLE, default 12) also runs as real processes.
// FUZZ_SEED=N replays a run; FUZZ_VECTORS changes the count.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ROOT, hasStackTrace, seededRandom } from './helpers.ts';

const VECTORS = Number(process.env.FUZZ_VECTORS ?? 300);
const PROCESS_SAMPLE = Number(process.env.FUZZ_PROCESS_SAMPLE ?? 12); // per script, besides the batches
const POOL = 3;
const BATCH = 60; // vectors per batch process
const DEADLINE_MS = 10000; // generous: netstat --watch's first draw took over 6 s on a loaded machine
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

const names = fs
  .readdirSync(path.join(ROOT, 'scripts'))
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.slice(0, -3))
  .sort();


interface Outcome {
  args: string[];
  how: 'batch' | 'process';
  code: number | null;
  stderr: string;
  verdict: 'exit' | 'started' | 'hang' | 'crash';
}

test(`every script, ${VECTORS} random argument vectors each: exit 0/1/2, no stack trace, no hang`, async () => {
  console.log(`  seed ${SEED} (FUZZ_SEED=${SEED} to replay)`);
  const random = seededRandom(SEED);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];

  // A port in use, for servers to collide with and clients to reach (it closes them at once).
  const busy = net.createServer((socket) => socket.destroy());
  busy.listen(0, '127.0.0.1');
  await once(busy, 'listening');
  const busyPort = String((busy.address() as net.AddressInfo).port);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-cli-'));
  // syscalls runs whatever command its argv names: random argv must run none, so it gets a PATH
  // with no programs and refuses ("strace not found", exit 1) before it looks a command up.
  const noCommands = path.join(work, 'no-commands');
  fs.mkdirSync(noCommands);
  const envFor = (file: string) => (path.basename(file) === 'syscalls.mjs' ? { PATH: noCommands } : {});
  const bundles = new Map<string, string>();
  const started = Date.now();
  await Promise.all(
    names.map(async (name) => {
      const outfile = path.join(work, `${name}.mjs`);
      await esbuild.build({
        entryPoints: [path.join(ROOT, 'scripts', `${name}.ts`)],
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        outfile,
        logLevel: 'error',
        banner: { js: "import { createRequire as __fuzzRequire } from 'node:module'; const require = __fuzzRequire(import.meta.url);" },
      });
      bundles.set(name, outfile);
    }),
  );
  console.log(`  bundled ${names.length} scripts in ${Date.now() - started} ms`);

  const values = [
    '', ' ', '-', '--', '-1', '0', '1', '2', '8', '64', '511', '65535', '65536', '-65536', '99999999999999999999',
    '1e3', '0x1f41', '1.5', '.5', 'NaN', 'Infinity', 'abc', 'ü', '日本語', '😀', 'é\u0301', '\u202e', 'a b',
    '127.0.0.1', '::1', '[::1]', '0.0.0.0', '::', '256.0.0.1', '127.1', 'localhost', 'fe80::1%eth0',
    '127.0.0.1:8001', '10.0.0.0/8', '::/0', '/nonexistent/dir/x.sock', '/tmp', '/etc/passwd', '/dev/null',
    'LISTEN', 'established', 'x'.repeat(5000), busyPort, busyPort, '0',
  ];
  const unknownFlags = ['--nope', '--PORT', '-x', '-hh', '--=', '---', '--port=', '--host=', '--ü', '-1'];

  const vectorFor = (flags: string[]): string[] => {
    const args: string[] = [];
    const length = Math.floor(random() * 6);
    for (let i = 0; i < length; i++) {
      const roll = random();
      if (roll < 0.45) {
        args.push(pick(flags));
        if (random() < 0.8) args.push(pick(values)); // a value, or (20%) a missing one
      } else if (roll < 0.55) {
        args.push(pick(unknownFlags));
      } else if (roll < 0.65) {
        args.push(`${pick(flags)}=${pick(values)}`);
      } else {
        args.push(pick(values));
      }
    }
    return args;
  };

  /**
   * Runs `vectors` against one bundle in one process, one after another (a
   * fresh module instance each, see BATCH_RUNNER); a vector that starts a
   * server, hangs, crashes or exits the process ends that process, and the
   * rest go on in a new one. The process has its own group, killed at the end.
   */
  const runBatch = async (file: string, vectors: string[][]): Promise<Outcome[]> => {
    const outcomes: Outcome[] = [];
    let rest = vectors;
    while (rest.length > 0) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', BATCH_RUNNER], {
        cwd: work,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...envFor(file), NO_COLOR: '1', FUZZ_FILE: file, FUZZ_VECTORS_JSON: JSON.stringify(rest), FUZZ_DEADLINE_MS: String(DEADLINE_MS) },
      });
      child.stdin.on('error', () => {});
      child.stdin.end();
      let lines = '';
      let rawStderr = '';
      const done: Outcome[] = [];
      let current = -1;
      child.stdout.on('data', (chunk: Buffer) => {
        lines += chunk;
        for (let nl = lines.indexOf('\n'); nl !== -1; nl = lines.indexOf('\n')) {
          const line = lines.slice(0, nl);
          lines = lines.slice(nl + 1);
          if (!line.startsWith('FUZZ ')) continue;
          const message = JSON.parse(line.slice(5));
          if (message.start !== undefined) {
            current = message.start;
            rawStderr = '';
          } else {
            done.push({ args: rest[message.i], how: 'batch', code: message.code, stderr: message.stderr, verdict: message.verdict });
          }
        }
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (rawStderr.length < 100_000) rawStderr += chunk;
      });
      // A whole batch may not outlive its vectors' deadlines.
      const timer = setTimeout(() => killGroup(child.pid!), (DEADLINE_MS + 500) * (rest.length + 1));
      const [code] = (await once(child, 'close')) as [number | null];
      clearTimeout(timer);
      killGroup(child.pid!);
      outcomes.push(...done);
      const finished = done.length;
      if (current >= finished && current < rest.length) {
        // The process ended during this vector: process.exit(), or a crash (stack on the real stderr).
        const verdict = hasStackTrace(rawStderr) || code === null ? 'crash' : 'exit';
        outcomes.push({ args: rest[current], how: 'batch', code, stderr: rawStderr, verdict });
        rest = rest.slice(current + 1);
      } else {
        rest = rest.slice(finished);
      }
    }
    return outcomes;
  };

  const runProcess = (file: string, args: string[]): Promise<Outcome> =>
    new Promise((resolve) => {
      let stderr = '';
      let stdout = '';
      let verdict: Outcome['verdict'] | null = null;
      const child = spawn(process.execPath, [file, ...args], {
        cwd: work,
        detached: true, // its own process group: whatever it starts dies with it
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...envFor(file), NO_COLOR: '1' },
      });
      child.stdin.on('error', () => {});
      child.stdin.end();
      const killGroup = () => killGroupOf(child.pid!);
      const stopIfStarted = () => {
        const longRunning =
          /listening on .+ \((tcp|udp|unix)\)/.test(stderr) ||
          (args.some((a) => a === '--watch' || a.startsWith('--watch=')) && stdout.length > 0) ||
          /^\$ listen-only/m.test(stdout) || // handshake-tour under way
          (['syn-queue.mjs', 'close-tour.mjs'].includes(path.basename(file)) && /^## Step 1/m.test(stdout)); // syn-queue, close-tour under way
        if (verdict === null && longRunning) {
          verdict = 'started';
          killGroup();
        }
      };
      child.stdout.on('data', (chunk: Buffer) => {
        if (stdout.length < 100_000) stdout += chunk;
        stopIfStarted();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < 100_000) stderr += chunk;
        stopIfStarted();
      });
      const timer = setTimeout(() => {
        // handshake-tour with valid flags runs a whole tour: busy, not hung, if it is printing.
        if (verdict === null) verdict = stdout.length > 0 && ['handshake-tour.mjs', 'syn-queue.mjs', 'close-tour.mjs'].includes(path.basename(file)) ? 'started' : 'hang';
        killGroup();
      }, DEADLINE_MS);
      child.on('close', (code) => {
        clearTimeout(timer);
        killGroup();
        resolve({ args, how: 'process', code, stderr, verdict: verdict ?? 'exit' });
      });
    });

  const jobs: Array<{ name: string; run: () => Promise<Outcome[]> }> = [];
  for (const name of names) {
    const file = bundles.get(name)!;
    const help = await runProcess(file, ['--help']);
    assert.is(help.code, 0, `${name} --help: ${help.stderr}`);
    const flags = [...new Set([...(await helpText(file)).matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map((m) => m[0]))];
    assert.ok(flags.length > 0, `${name}: no flags found in --help`);
    for (let i = 0; i < PROCESS_SAMPLE; i++) {
      const args = vectorFor(flags);
      jobs.push({ name, run: async () => [await runProcess(file, args)] });
    }
    const vectors = Array.from({ length: VECTORS }, () => vectorFor(flags));
    for (let at = 0; at < vectors.length; at += BATCH) {
      const batch = vectors.slice(at, at + BATCH);
      jobs.push({ name, run: () => runBatch(file, batch) });
    }
  }

  // A small pool: POOL jobs at a time.
  const results = new Map<string, Outcome[]>();
  const busyMs = new Map<string, number>();
  let next = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: POOL }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        const t1 = Date.now();
        const outcomes = await job.run();
        busyMs.set(job.name, (busyMs.get(job.name) ?? 0) + Date.now() - t1);
        if (!results.has(job.name)) results.set(job.name, []);
        results.get(job.name)!.push(...outcomes);
      }
    }),
  );
  busy.close();
  fs.rmSync(work, { recursive: true, force: true });

  const problems: string[] = [];
  for (const name of names) {
    const outcomes = results.get(name) ?? [];
    const tally = { 0: 0, 1: 0, 2: 0, started: 0 } as Record<string, number>;
    for (const o of outcomes) {
      const show = `${name} ${JSON.stringify(o.args)} (${o.how})`;
      if (o.verdict === 'started') tally.started++;
      else if (o.verdict === 'hang') problems.push(`${show}: still running after ${DEADLINE_MS} ms\n${o.stderr.slice(0, 500)}`);
      else if (o.verdict === 'crash') problems.push(`${show}: crashed\n${o.stderr.slice(0, 1500)}`);
      else if (o.code !== 0 && o.code !== 1 && o.code !== 2) problems.push(`${show}: exit ${o.code}\n${o.stderr.slice(0, 500)}`);
      else tally[String(o.code)]++;
      if (o.verdict !== 'crash' && hasStackTrace(o.stderr)) problems.push(`${show}: stack trace on stderr\n${o.stderr.slice(0, 1500)}`);
    }
    assert.ok(outcomes.length >= VECTORS + PROCESS_SAMPLE, `${name}: ${outcomes.length} vectors`);
    console.log(`  ${name.padEnd(15)} ${outcomes.length} vectors: exit 0 ${tally[0]}, exit 1 ${tally[1]}, exit 2 ${tally[2]}, started and stopped ${tally.started} (${((busyMs.get(name) ?? 0) / 1000).toFixed(1)} s of runner time)`);
  }
  console.log(`  ${jobs.length} runs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(problems, [], `${problems.length} problems:\n${problems.slice(0, 20).join('\n---\n')}`);
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
const killGroupOf = killGroup;

// The batch runner (run with node --input-type=module -e): for each vector,
// set process.argv, capture process.stdout/stderr writes, import a fresh
// instance of the bundle (a new ?query), and wait until it is done: its exit
// code is set or nothing it started is still active. A vector that starts a
// server (or a --watch that draws), or that hangs, ends the batch: its
// leftovers must not leak into the next vector.
const BATCH_RUNNER = `
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { AsyncLocalStorage } from 'node:async_hooks';
import { pathToFileURL } from 'node:url';
import cp from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
const file = process.env.FUZZ_FILE;
const vectors = JSON.parse(process.env.FUZZ_VECTORS_JSON);
const deadline = Number(process.env.FUZZ_DEADLINE_MS);
const emit = process.stdout.write.bind(process.stdout);
const report = (message) => emit('FUZZ ' + JSON.stringify(message) + '\\n');
const vector = new AsyncLocalStorage(); // which vector a callback belongs to
// Some callbacks lose the store (undefined): they are the current vector's.
const mine = () => { const store = vector.getStore(); return store === undefined || store === current; };
let current = -1;
let out = '';
let err = '';
let exited = null; // process.exit(code) called by the current vector
const capture = (append) => function (chunk, encoding, callback) {
  if (mine()) append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
  const cb = typeof encoding === 'function' ? encoding : callback;
  if (cb) queueMicrotask(() => cb());
  return true;
};
process.stdout.write = capture((text) => { if (out.length < 100000) out += text; });
process.stderr.write = capture((text) => { if (err.length < 100000) err += text; });
// process.exit() ends only the vector that called it (a late one from an
// earlier vector, e.g. a 2 s "stdout nobody reads" timer, is ignored).
const realExit = process.exit.bind(process);
process.exit = (code) => { if (mine() && exited === null) exited = code ?? process.exitCode ?? 0; };
// handshake-tour with valid flags starts listen-only at once: that spawn is
// its 'listening on' (it is stopped there, with its whole process group).
let spawned = 0;
const realSpawn = cp.spawn;
cp.spawn = function (...args) {
  if (mine()) spawned++;
  return realSpawn.apply(this, args);
};
syncBuiltinESMExports();
// syn-queue and close-tour with valid flags re-run themselves under unshare at once: the same.
const tour = file.endsWith('handshake-tour.mjs') || file.endsWith('syn-queue.mjs') || file.endsWith('close-tour.mjs');
const active = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap').length;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const signals = ['SIGINT', 'SIGTERM'];
for (let i = 0; i < vectors.length; i++) {
  const args = vectors[i];
  current = i;
  out = '';
  err = '';
  exited = null;
  spawned = 0;
  process.exitCode = undefined;
  process.argv = [process.execPath, file, ...args];
  // A fresh, empty stdin for every vector (the last one may have destroyed it).
  Object.defineProperty(process, 'stdin', { value: Readable.from([]), configurable: true, writable: true });
  report({ start: i });
  await sleep(0);
  const baseline = active();
  const before = new Map(signals.map((s) => [s, process.listeners(s)]));
  let imported = false;
  let failed = null;
  // A fresh module instance needs a new URL; a hard link keeps the name
  // ending in .mjs and the siblings (handshake-tour finds listen-only.mjs
  // beside itself), where a ?query would not.
  const copy = file.replace(/\\.mjs$/, '.fz' + process.pid + '-' + i + '.mjs');
  fs.linkSync(file, copy);
  vector.run(i, () => import(pathToFileURL(copy).href)).then(() => { imported = true; }, (error) => { failed = error; imported = true; });
  const t0 = Date.now();
  let verdict = null;
  const started = () =>
    /listening on .+ \\((tcp|udp|unix)\\)/.test(err) || (args.some((a) => a === '--watch' || a.startsWith('--watch=')) && out.length > 0) || (tour && spawned > 0);
  for (;;) {
    await sleep(2);
    if (failed) { verdict = 'crash'; err += String((failed && failed.stack) || failed); break; }
    if (exited !== null) { verdict = 'exit'; break; }
    if (started()) { verdict = 'started'; break; }
    if (imported && (process.exitCode !== undefined || active() <= baseline)) { verdict = 'exit'; break; }
    if (Date.now() - t0 > deadline) { verdict = 'hang'; break; }
  }
  const code = exited ?? process.exitCode ?? 0;
  let clean = verdict === 'exit';
  if (verdict === 'started' && !tour) {
    // Stop it the way SIGTERM would (each new handler once: onShutdown's
    // handler, called again, would exit at once), and wait for its handles.
    const called = new Set();
    for (const s of ['SIGTERM', 'SIGINT'])
      for (const listener of process.listeners(s))
        if (!before.get(s).includes(listener) && !called.has(listener)) {
          called.add(listener);
          vector.run(i, () => listener(s));
        }
    const t1 = Date.now();
    while (active() > baseline && Date.now() - t1 < 3000) await sleep(5);
    clean = active() <= baseline;
  }
  for (const s of signals) for (const listener of process.listeners(s)) if (!before.get(s).includes(listener)) process.off(s, listener);
  fs.rmSync(copy, { force: true });
  report({ i, verdict, code, stderr: err });
  if (!clean) break;
}
realExit(0);
`;

async function helpText(file: string): Promise<string> {
  const child = spawn(process.execPath, [file, '--help'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk));
  await once(child, 'close');
  return text;
}

test.run();
