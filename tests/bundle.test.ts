// tools/build.ts (`npm run build`): every scripts/NAME.ts becomes
// dist/NAME.mjs, and each bundle, copied alone into an empty folder with no
// node_modules anywhere above it, answers --help and does one real thing the
// way the TypeScript script does. Also: the bundles keep zx lazy (a --help
// never loads the modules zx needs).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { once } from 'node:events';
import {
  ROOT,
  connect,
  hasStackTrace,
  readBytes,
  runCommand,
  startCommand,
  withDeadline,
  type RunResult,
} from './helpers.ts';

const names = fs
  .readdirSync(path.join(ROOT, 'scripts'))
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.slice(0, -3))
  .sort();

// One empty folder per bundle, outside the repository.
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'socket-lab-bundles-'));
const folder = (name: string) => path.join(work, name);

// Records which CommonJS modules a bundle require()s (zx's helpers do, through
// the createRequire banner); printed on exit for the test to read.
const PROBE = path.join(work, 'require-probe.cjs');
fs.writeFileSync(
  PROBE,
  `const Module = require('module');
const seen = new Set();
const load = Module._load;
Module._load = function (request, ...rest) { seen.add(request); return load.call(this, request, ...rest); };
process.on('exit', () => process.stderr.write('required: ' + [...seen].join(',') + '\\n'));
`,
);

function run(name: string, args: string[], options: { input?: string; nodeArgs?: string[] } = {}): Promise<RunResult> {
  return runCommand(process.execPath, [...(options.nodeArgs ?? []), `${name}.mjs`, ...args], {
    cwd: folder(name),
    input: options.input,
    env: { NODE_PATH: '', NODE_OPTIONS: '' },
    deadlineMs: 15000,
  });
}

function start(name: string, args: string[], stdin: 'pipe' | 'ignore' = 'ignore') {
  return startCommand(process.execPath, [`${name}.mjs`, ...args], {
    cwd: folder(name),
    env: { NODE_PATH: '', NODE_OPTIONS: '' },
    stdin,
  });
}

/** One real behaviour per script, run from the bundle in its empty folder. */
const BEHAVIOURS: Record<string, () => Promise<void>> = {
  async 'echo-server'() {
    const server = start('echo-server', ['--port', '0']);
    try {
      const { port } = await server.listening();
      const socket = await connect(port);
      socket.write('hello from a copied bundle\n');
      assert.is((await readBytes(socket, 27)).toString(), 'hello from a copied bundle\n');
      socket.end();
      await server.waitForStderr(/close .+ \(27 bytes\)/);
      assert.is((await server.stop('SIGTERM')).code, 0);
    } finally {
      server.child.kill('SIGKILL');
    }
  },

  async client() {
    // The client bundle through the echo server bundle, each alone in its folder.
    const server = start('echo-server', ['--port', '0', '--quiet']);
    try {
      const { port } = await server.listening();
      const result = await run('client', ['127.0.0.1', String(port)], { input: 'ping through two bundles\n' });
      assert.is(result.code, 0, result.stderr);
      assert.is(result.stdout, 'ping through two bundles\n');
    } finally {
      server.child.kill('SIGKILL');
    }
  },

  async 'listen-only'() {
    // No accept(): the connection waits in the kernel's queue with its bytes;
    // SIGUSR2 accepts it and shows them.
    const server = start('listen-only', ['--port', '0']);
    try {
      const { port } = await server.listening();
      const socket = await connect(port);
      socket.on('error', () => {});
      socket.write('queued hi');
      await server.waitForStdout(/accept queue: 1 \(backlog \d+\)/, 5000);
      server.child.kill('SIGUSR2');
      await server.waitForStdout(/accepted 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+; 9 bytes .*"queued hi"/);
      socket.destroy();
      assert.is((await server.stop('SIGTERM')).code, 0);
    } finally {
      server.child.kill('SIGKILL');
    }
  },

  async 'talk-server'() {
    // What the client sends shows on the server's stdout; what is typed on the
    // server's stdin reaches the client; --once exits when the client leaves.
    const server = start('talk-server', ['--port', '0', '--once'], 'pipe');
    try {
      const { port } = await server.listening();
      const socket = await connect(port);
      socket.write('hi from the client\n');
      await server.waitForStdout(/hi from the client\n/);
      server.child.stdin!.write('hi from the server\n');
      assert.is((await readBytes(socket, 19)).toString(), 'hi from the server\n');
      socket.end();
      assert.is((await server.wait()).code, 0);
    } finally {
      server.child.kill('SIGKILL');
    }
  },

  async endian() {
    const result = await run('endian', ['--json']);
    assert.is(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout);
    assert.is(json.byteOrder, os.endianness() === 'LE' ? 'little' : 'big');
    assert.is(json.networkOrder, '01 02 03 04');
  },

  async hton() {
    const result = await run('hton', ['--json', '8001', '127.0.0.1:8001']);
    assert.is(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout);
    assert.is(json.results[0].htons.bytes, '1f 41');
    assert.is(json.results.length, 2);
  },

  async netstat() {
    // A listener of our own must appear in the bundle's --json rows.
    const listener = net.createServer();
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    const port = (listener.address() as net.AddressInfo).port;
    try {
      const result = await run('netstat', ['--json'], { nodeArgs: ['--require', PROBE] });
      assert.is(result.code, 0, result.stderr);
      // netstat runs ss with execFile, not zx: no zx module loads, and the
      // backlog (Send-Q) is there without node_modules.
      const hasSs = ['/usr/bin/ss', '/usr/sbin/ss', '/bin/ss', '/sbin/ss'].some((file) => fs.existsSync(file));
      assert.not.match(result.stderr, /required: .*async_hooks/);
      const rows = JSON.parse(result.stdout) as Array<{ localPort: number; state: string; pid: number | null; sendQ: number | null }>;
      assert.ok(Array.isArray(rows));
      const row = rows.find((r) => r.localPort === port && r.state === 'LISTEN');
      assert.ok(row, `port ${port} listed`);
      assert.is(row.pid, process.pid);
      if (hasSs) assert.is(row.sendQ, 511);
    } finally {
      listener.close();
    }
  },

  async 'http-hello'() {
    const server = start('http-hello', ['--port', '0']);
    try {
      const { port } = await server.listening();
      await server.waitForStderr(new RegExp(`open http://127\\.0\\.0\\.1:${port}/ in a browser`));
      const socket = await connect(port);
      socket.write(`GET /bundle HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
      const response = (await withDeadline(readAllText(socket), 5000, 'http-hello response')).toString();
      assert.match(response, /^HTTP\/1\.1 200 OK\r\n/);
      assert.ok(response.includes('GET /bundle HTTP/1.1\\r\\n'));
      assert.is((await server.stop('SIGINT')).code, 0);
    } finally {
      server.child.kill('SIGKILL');
    }
  },

  async 'socket-view'() {
    const server = start('socket-view', ['--port', '0']);
    try {
      const { port } = await server.listening();
      const socket = await connect(port);
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
      const response = (await withDeadline(readAllText(socket), 5000, 'socket-view page')).toString();
      assert.match(response, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(response, /new EventSource\('\/events' \+ location\.search\)/);
      assert.is((await server.stop('SIGINT')).code, 0);
    } finally {
      server.child.kill('SIGKILL');
    }
  },
};

// handshake-tour runs its siblings: the three bundles copied out together.
BEHAVIOURS['handshake-tour'] = async () => {
  for (const sibling of ['listen-only', 'netstat']) {
    fs.copyFileSync(path.join(ROOT, 'dist', `${sibling}.mjs`), path.join(folder('handshake-tour'), `${sibling}.mjs`));
  }
  const result = await runCommand(process.execPath, ['handshake-tour.mjs', '--backlog', '1'], {
    cwd: folder('handshake-tour'),
    env: { NODE_PATH: '', NODE_OPTIONS: '' },
    deadlineMs: 90000,
  });
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, /wait in the accept queue of 127\.0\.0\.1:\d+; no process has accept\(\)ed them/);
  assert.match(result.stdout, /listen-only exited with code 0/);
};

// syscalls traces a sibling bundle: client.mjs copied out beside it (strace needed; without it, the refusal).
BEHAVIOURS.syscalls = async () => {
  fs.copyFileSync(path.join(ROOT, 'dist', 'client.mjs'), path.join(folder('syscalls'), 'client.mjs'));
  const server = net.createServer((socket) => socket.pipe(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const port = (server.address() as net.AddressInfo).port;
    const result = await run('syscalls', ['--', 'client', '127.0.0.1', String(port)], { input: 'hi\n' });
    if (result.code === 1 && /install strace/.test(result.stderr)) return;
    assert.is(result.code, 0, result.stderr);
    assert.is(result.stdout, 'hi\n');
    assert.match(result.stderr, new RegExp(`connect\\(\\d+, \\{sa_family=AF_INET, sin_port=htons\\(${port}\\)`));
  } finally {
    server.close();
  }
};

// syn-queue re-runs the bundle itself under unshare: one client held in SYN_RECV, then let in.
BEHAVIOURS['syn-queue'] = async () => {
  const result = await run('syn-queue', ['--clients', '1', '--release', 'data', '--json']);
  assert.is(result.code, 0, result.stderr);
  const doc = JSON.parse(result.stdout) as { port: number; steps: Array<{ rows: Array<{ state: string; localPort: number }> }> };
  assert.is(doc.steps[1].rows.filter((row) => row.localPort === doc.port && row.state === 'SYN_RECV').length, 1, result.stdout);
};

// close-tour re-runs the bundle itself (under unshare, and as its leaking server).
BEHAVIOURS['close-tour'] = async () => {
  const result = await run('close-tour', ['--json']);
  assert.is(result.code, 0, result.stderr);
  const doc = JSON.parse(result.stdout) as { steps: Array<{ rows: Array<{ state: string; pid: number | null }>; leakPid?: number }> };
  assert.ok(doc.steps[5].rows.some((row) => row.state === 'CLOSE_WAIT' && row.pid === doc.steps[5].leakPid), result.stdout);
};

async function readAllText(socket: net.Socket): Promise<string> {
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  await once(socket, 'end');
  return text;
}

test.before(async () => {
  // Node looks for packages in every node_modules up the tree: none may exist.
  for (let dir = work; ; dir = path.dirname(dir)) {
    assert.not.ok(fs.existsSync(path.join(dir, 'node_modules')), `${dir}/node_modules exists`);
    if (path.dirname(dir) === dir) break;
  }
  const build = await runCommand(process.execPath, ['--import', 'tsx', 'tools/build.ts'], { deadlineMs: 60000 });
  assert.is(build.code, 0, build.stderr);
  assert.match(build.stdout, new RegExp(`built ${names.length} bundles in \\d+ ms`));
  console.log(`  ${build.stdout.trim().split('\n').pop()}`);
  for (const name of names) {
    fs.mkdirSync(folder(name));
    fs.copyFileSync(path.join(ROOT, 'dist', `${name}.mjs`), path.join(folder(name), `${name}.mjs`));
  }
});

test.after(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

test('each bundle: shebang, header comment, executable', () => {
  for (const name of names) {
    const text = fs.readFileSync(path.join(folder(name), `${name}.mjs`), 'utf8');
    const source = fs.readFileSync(path.join(ROOT, 'scripts', `${name}.ts`), 'utf8');
    const firstComment = source.split('\n')[1];
    assert.ok(text.startsWith(`#!/usr/bin/env node\n${firstComment}\n`), `${name}: shebang then header`);
    assert.ok(fs.statSync(path.join(ROOT, 'dist', `${name}.mjs`)).mode & 0o100, `${name}: executable`);
    assert.not.match(text, /from ['"]\.\.?\//, `${name}: no relative imports left`);
    assert.not.match(text, /from ['"](?!node:)[^'"]+['"]/, `${name}: only node: built-ins imported`);
  }
});

test('each bundle alone: --help exits 0 without loading zx', async () => {
  for (const name of names) {
    const result = await run(name, ['--help'], { nodeArgs: ['--require', PROBE] });
    assert.is(result.code, 0, `${name} --help: ${result.stderr}`);
    assert.match(result.stdout, new RegExp(`^usage: ${name}\\b`, 'i'), name);
    assert.match(result.stdout, /Exit codes:/, name);
    const required = /required: (.*)\n/.exec(result.stderr)?.[1] ?? '';
    assert.not.ok(required.includes('async_hooks'), `${name} --help loaded zx's modules: ${required}`);
    assert.not.ok(hasStackTrace(result.stderr), result.stderr);
  }
});

test('each bundle alone: a usage error is one line and exit 2', async () => {
  for (const name of names) {
    const result = await run(name, ['--no-such-flag']);
    assert.is(result.code, 2, name);
    assert.match(result.stderr, new RegExp(`^${name}: error: .+\\n$`), name);
  }
});

for (const name of names) {
  const behaviour = BEHAVIOURS[name];
  if (behaviour) test(`${name}.mjs alone: a real behaviour`, behaviour);
  else console.log(`  note: bundle.test.ts has no behaviour check for ${name}.mjs yet (only --help)`);
}

test.run();
