// The one command, `socket-lab TOOL [ARGS...]` (package.json "bin",
// bin/socket-lab.mjs), as a user gets it: `npm pack` (whose prepack script
// builds the bundles in dist/), `npm install -g --prefix DIR` of the tarball
// into an empty prefix, offline (the package fetches nothing), then the
// installed command run from a folder with no checkout around it. And from a
// clone: `npx socket-lab` runs scripts/TOOL.ts from source.
//
// The pack runs in a copy of the checkout (node_modules linked, not copied),
// so its build never touches the dist/ other tests use.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT, hasStackTrace, runCommand, startCommand, withDeadline } from './helpers.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'socket-lab-pack-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
const copy = path.join(work, 'checkout');
const prefix = path.join(work, 'prefix');
const elsewhere = path.join(work, 'elsewhere');
const bin = path.join(prefix, 'bin', 'socket-lab');
const tools = fs.readdirSync(path.join(ROOT, 'scripts')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
// No PATH entry into the checkout, no npm_* variables from an outer `npm test`.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && k !== 'NODE_OPTIONS' && k !== 'INIT_CWD'));
const cleanEnv = { ...env, PATH: (process.env.PATH ?? '').split(':').filter((p) => !p.startsWith(ROOT)).join(':') };

test('npm pack, then npm install -g --prefix DIR of the tarball, offline', async () => {
  const skip = new Set(['node_modules', 'dist', '.git', 'bench']);
  fs.cpSync(ROOT, copy, { recursive: true, filter: (src) => !skip.has(path.relative(ROOT, src).split(path.sep)[0]) });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  fs.mkdirSync(elsewhere);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const pack = await runCommand(npm, ['pack', '--pack-destination', work], { cwd: copy, env: cleanEnv, deadlineMs: 180_000 });
  assert.is(pack.code, 0, pack.stderr);
  const tarball = fs.readdirSync(work).find((f) => /^socket-lab-.*\.tgz$/.test(f));
  assert.ok(tarball, `a tarball in ${fs.readdirSync(work).join(', ')}`);
  const install = await runCommand(
    npm,
    ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', path.join(work, tarball!)],
    { cwd: elsewhere, env: cleanEnv, deadlineMs: 120_000 },
  );
  assert.is(install.code, 0, install.stderr);
  assert.ok(fs.existsSync(bin), 'prefix/bin/socket-lab');
  const installed = path.join(prefix, 'lib', 'node_modules', 'socket-lab');
  assert.not.ok(fs.existsSync(path.join(installed, 'scripts')), 'the package ships the bundles, not scripts/');
  for (const tool of tools) assert.ok(fs.existsSync(path.join(installed, 'dist', `${tool}.mjs`)), `dist/${tool}.mjs`);
  for (let dir = elsewhere; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    assert.not.ok(fs.existsSync(path.join(dir, 'node_modules')), `no node_modules above the run folder (${dir})`);
  }
});

test('installed: socket-lab --help lists every tool in one line each; a bad tool is exit 2', async () => {
  const help = await runCommand(bin, ['--help'], { cwd: elsewhere, env: cleanEnv });
  assert.is(help.code, 0, help.stderr);
  for (const tool of tools) assert.match(help.stdout, new RegExp(`^  ${tool} +\\S.*$`, 'm'), tool);
  for (const args of [['nope'], [], ['--bogus']]) {
    const bad = await runCommand(bin, args, { cwd: elsewhere, env: cleanEnv });
    assert.is(bad.code, 2, `${args}: ${bad.stderr}`);
    assert.match(bad.stderr, /^socket-lab: error: .*socket-lab --help.*\n$/);
    assert.is(bad.stdout, '');
  }
});

test('installed: socket-lab endian --json', async () => {
  const run = await runCommand(bin, ['endian', '--json'], { cwd: elsewhere, env: cleanEnv });
  assert.is(run.code, 0, run.stderr);
  const json = JSON.parse(run.stdout);
  assert.is(json.byteOrder, os.endianness() === 'LE' ? 'little' : 'big');
  assert.is(json.agrees, true);
  const bad = await runCommand(bin, ['hton', '192.168.1.01'], { cwd: elsewhere, env: cleanEnv });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /^hton: error: "192\.168\.1\.01": IPv4 field has octet with leading zero/);
  assert.ok(!hasStackTrace(bad.stderr), bad.stderr);
});

test('installed: socket-lab echo-server --port 0 listens, echoes and stops on SIGTERM', async () => {
  const server = startCommand(bin, ['echo-server', '--port', '0'], { cwd: elsewhere, env: cleanEnv });
  const { port } = await server.listening();
  const socket = net.connect(port, '127.0.0.1');
  const echoed = await withDeadline(
    new Promise<string>((resolve, reject) => {
      let got = '';
      socket.on('data', (chunk) => (got += chunk)).on('end', () => resolve(got)).on('error', reject);
      socket.end('hello from an installed package\n');
    }),
    5000,
    'the echo',
  );
  assert.is(echoed, 'hello from an installed package\n');
  const exit = await server.stop('SIGTERM');
  assert.equal(exit, { code: 0, signal: null }, server.stderr);
  assert.match(server.stderr, /summary: 1 connection, 32 bytes echoed/);
});

test('a clone: npx socket-lab runs the scripts from source', async () => {
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
  const run = await runCommand(npx, ['socket-lab', 'netstat', '--explain', '--json'], { cwd: ROOT, env, deadlineMs: 30_000 });
  assert.is(run.code, 0, run.stderr);
  assert.ok(Array.isArray(JSON.parse(run.stdout).sockets ?? JSON.parse(run.stdout)), 'netstat --json');
  const help = await runCommand(npx, ['socket-lab', '--help'], { cwd: ROOT, env, deadlineMs: 30_000 });
  for (const tool of tools) assert.match(help.stdout, new RegExp(`^  ${tool} `, 'm'), tool);
});

test.run();
