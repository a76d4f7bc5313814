// Mixed pairs: the echo server under one runtime and the client under
// another exchange a 4 MiB random file byte for byte (Deno server + Bun
// client, and the reverse), through real loopback sockets and the scripts'
// own stdin/stdout: the client reads the file as its stdin (`bun
// scripts/client.ts 127.0.0.1 PORT < random.bin`), not a pipe. A pair whose runtime cannot run here is skipped with a
// printed SKIP line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { ROOT, ScriptProcess, needs, findRuntime, startScriptOn, withDeadline, type Runtime } from './helpers.ts';

const FILE_BYTES = 4 * 1024 * 1024;

const found = { deno: findRuntime('deno'), bun: findRuntime('bun') };
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

// One random file, written to disk and fed to the client's stdin from there.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'socket-lab-mixed-'));
const file = path.join(dir, 'random.bin');
fs.writeFileSync(file, randomBytes(FILE_BYTES));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const PAIRS: Array<['deno' | 'bun', 'deno' | 'bun']> = [
  ['deno', 'bun'],
  ['bun', 'deno'],
];

for (const [serverName, clientName] of PAIRS) {
  const server = found[serverName];
  const client = found[clientName];
  const title = `echo-server under ${serverName}, client under ${clientName}: 4 MiB byte for byte`;
  const missing = [server, client].find((rt): rt is { name: string; skip: string } => 'skip' in rt);
  needs(test, missing?.name ?? '', missing?.skip)(title, () => exchange(server as Runtime, client as Runtime));
}

async function exchange(serverRuntime: Runtime, clientRuntime: Runtime): Promise<void> {
  const server = startScriptOn(serverRuntime, 'echo-server', ['--port', '0', '--quiet']);
  try {
    const { port } = await server.listening();
    const stdin = fs.openSync(file, 'r');
    const client = new ScriptProcess(
      spawn(clientRuntime.bin, [...clientRuntime.prefix, `${ROOT}scripts/client.ts`, '127.0.0.1', String(port)], {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
        stdio: [stdin, 'pipe', 'pipe'],
      }),
    );
    fs.closeSync(stdin); // the child has its own copy
    try {
      const exit = await withDeadline(client.exited, 30000, 'the client to echo 4 MiB');
      assert.equal(exit, { code: 0, signal: null }, client.stderr);
    } finally {
      client.child.kill('SIGKILL');
    }
    const echoed = Buffer.concat(client.stdoutBytes);
    assert.is(echoed.length, FILE_BYTES, 'bytes echoed back');
    assert.is(sha256(echoed), sha256(fs.readFileSync(file)), 'the echoed file differs');
    const exit = await server.stop('SIGTERM');
    assert.equal(exit, { code: 0, signal: null }, server.stderr);
    assert.match(server.stderr, new RegExp(`summary: 1 connection, ${FILE_BYTES} bytes echoed`));
  } finally {
    server.child.kill('SIGKILL');
  }
}

test.run();
