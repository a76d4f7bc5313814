// Every script's stdout, closed early or full: `script | head -1` (the reader
// goes away: EPIPE) ends quietly with exit 0, no stack trace; `script >
// /dev/full` (ENOSPC) says one line `NAME: error: stdout: no space left on
// device (ENOSPC)` and exits 1. runMain's guard does it once for all scripts;
// this checks each script's --help and the scripts whose output keeps coming.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { ROOT, hasStackTrace, withDeadline } from './helpers.ts';

const SCRIPTS = fs
  .readdirSync(`${ROOT}scripts`)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.slice(0, -3))
  .sort();
const hasFull = fs.existsSync('/dev/full');

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a script with stdout on /dev/full, or on a pipe closed after its first line (`| head -1`). */
function run(name: string, args: string[], stdout: 'full' | 'head', ms = 20000): Promise<Outcome> {
  const fd = stdout === 'full' ? fs.openSync('/dev/full', 'w') : 'pipe';
  const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}scripts/${name}.ts`, ...args], {
    cwd: ROOT,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
    stdio: ['ignore', fd, 'pipe'],
  });
  if (typeof fd === 'number') fs.closeSync(fd);
  let out = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk;
    if (out.includes('\n')) child.stdout!.destroy(); // head -1 has its line and exits
  });
  const exited = new Promise<Outcome>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout: out, stderr })),
  );
  return withDeadline(exited, ms, `${name} ${args.join(' ')} exit`).finally(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

for (const name of SCRIPTS) {
  test(`${name} --help > /dev/full: one line, exit 1; | head -1: exit 0`, async () => {
    if (!hasFull) return;
    const full = await run(name, ['--help'], 'full');
    assert.is(full.code, 1, full.stderr);
    assert.is(full.stderr, `${name}: error: stdout: no space left on device (ENOSPC)\n`);
    const head = await run(name, ['--help'], 'head');
    assert.is(head.code, 0, head.stderr);
    assert.not.ok(hasStackTrace(head.stderr), head.stderr);
  });
}

// Output that keeps coming: the closed pipe is met on a later write.
const STREAMS: Array<[string, string[]]> = [
  ['endian', []],
  ['hton', ['8001']],
  ['netstat', []],
  ['netstat', ['--json']],
  ['listen-only', ['--port', '0']],
  ['handshake-tour', []],
];
for (const [name, args] of STREAMS) {
  test(`${name} ${args.join(' ')}: | head -1 ends quietly (exit 0), > /dev/full is one line (exit 1)`, async () => {
    if (!hasFull) return;
    const head = await run(name, args, 'head', 40000);
    assert.is(head.code, 0, head.stderr);
    assert.not.ok(hasStackTrace(head.stderr), head.stderr);
    assert.not.match(head.stderr, /EPIPE|error:/);
    const full = await run(name, args, 'full', 40000);
    assert.is(full.code, 1, full.stderr);
    assert.match(full.stderr, new RegExp(`^${name}: error: stdout: no space left on device \\(ENOSPC\\)$`, 'm'));
    assert.is(full.stderr.match(/ENOSPC/g)?.length, 1, full.stderr);
    assert.not.ok(hasStackTrace(full.stderr), full.stderr);
  });
}

test.run();
