// Cross-runtime smoke suite: every script in scripts/ runs unchanged under
// Deno (`deno run -A scripts/X.ts`) and Bun (`bun scripts/X.ts`) with the same
// --help, the same usage error (exit 2) and one real behaviour each, compared
// with Node (`node --import tsx`) where the output is deterministic. A runtime
// whose binary cannot be found or run is skipped with a printed SKIP line; a
// script named below that does not exist yet is a printed SKIP too, but a
// script that exists and has no case here fails the suite.
//
// Where a runtime cannot do what a script needs, the script must say so in
// one line and exit 1 (lib/runtime.ts unsupported()); GAPS lists the known
// ones, so a new gap (or a crash) fails here instead of going unnoticed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import {
  ROOT,
  connect,
  findRuntime,
  hasStackTrace,
  readAll,
  readBytes,
  runScript,
  runScriptOn,
  startScriptOn,
  needs,
  missingCommand,
  withDeadline,
  type Runtime,
} from './helpers.ts';

const runtimes: Runtime[] = [];
for (const name of ['deno', 'bun'] as const) {
  const found = findRuntime(name);
  if ('skip' in found) needs(test, name, found.skip)(`the scripts under ${name}`, () => {});
  else runtimes.push(found);
}
if (runtimes.length > 0) console.log(`runtimes: ${runtimes.map((rt) => `${rt.name} ${rt.version}`).join(', ')}`);

/** Known gaps: script -> runtime -> a run and what its one-line refusal says. */
const GAPS: Record<string, Partial<Record<Runtime['name'], { args: string[]; says: RegExp }>>> = {
  'listen-only': { bun: { args: ['--port', '0'], says: /not supported on Bun .*ignores the backlog/ } },
  // The tour starts listen-only under the same runtime and passes its refusal on.
  'handshake-tour': { bun: { args: [], says: /listen-only exited early: .*not supported on Bun/ } },
  // Bun's listen() ignores the backlog: the SYN queue's size would be Bun's, not --backlog's.
  'syn-queue': { bun: { args: ['--clients', '1'], says: /not supported on Bun .*ignores the backlog/ } },
};

type Case = (runtime: Runtime) => Promise<void>;

/** One real behaviour per script, run under each available runtime. */
/** Whether PID is a child of this test process (or already gone). */
function forkedChildOrGone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
  } catch {
    return true;
  }
}

const CASES: Record<string, Case> = {
  endian: async (rt) => {
    const [got, want] = await Promise.all([runScriptOn(rt, 'endian', ['--json']), reference('endian', ['--json'])]);
    assert.is(got.code, 0, got.stderr);
    assert.is(got.stdout, want.stdout);
    assert.ok(['little', 'big'].some((order) => got.stdout.includes(order)), got.stdout);
    JSON.parse(got.stdout);
  },

  hton: async (rt) => {
    const args = ['8001', '0x12345678', '127.0.0.1', '::1'];
    const [got, want] = await Promise.all([runScriptOn(rt, 'hton', args), reference('hton', args)]);
    assert.is(got.code, 0, got.stderr);
    assert.is(got.stdout, want.stdout);
    assert.match(got.stdout, /htons\(8001\)\s+0x411f .*memory: 1f 41/);
    assert.match(got.stdout, /7f 00 00 01/);
  },

  netstat: async (rt) => {
    const server = net.createServer();
    server.listen({ host: '127.0.0.1', port: 0, backlog: 7 });
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    try {
      const result = await runScriptOn(rt, 'netstat', ['--json', '--tcp', '--port', String(port)]);
      assert.is(result.code, 0, result.stderr);
      const rows = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
      const listener = rows.find((row) => row.state === 'LISTEN' && row.localPort === port);
      assert.ok(listener, `no LISTEN row for port ${port} in ${result.stdout}`);
      assert.is(listener.localAddress, '127.0.0.1');
      // The other runtime's spawns run at the same time, and a child holds all
      // of this process's descriptors between fork() and exec(): such an
      // instant child may be the owner netstat found first.
      assert.ok(listener.pid === process.pid || forkedChildOrGone(Number(listener.pid)), `owner ${listener.pid}, expected ${process.pid}`);
      const bad = await runScriptOn(rt, 'netstat', ['--state', 'NOPE']);
      assert.is(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /^netstat: error: .*\n$/);
    } finally {
      server.close();
    }
  },

  'echo-server': async (rt) => {
    const server = startScriptOn(rt, 'echo-server', ['--port', '0']);
    try {
      const { port } = await server.listening();
      assert.match(server.stderr, /^listening on 127\.0\.0\.1:\d+ \(tcp\)\n/);
      const payload = randomBytes(64 * 1024);
      const socket = await connect(port);
      socket.end(payload);
      const echoed = await readAll(socket);
      assert.ok(echoed.equals(payload), `echoed ${echoed.length} of ${payload.length} bytes`);
      await server.waitFor(() => Buffer.concat(server.stdoutBytes).length >= payload.length, 'the stdout copy');
      assert.ok(Buffer.concat(server.stdoutBytes).equals(payload), 'stdout copy differs');
      // A second server on the same port: one line, exit 1.
      const busy = await runScriptOn(rt, 'echo-server', ['--port', String(port)]);
      assert.is(busy.code, 1, busy.stderr);
      assert.match(busy.stderr, /^echo-server: error: cannot listen on .*\(EADDRINUSE\).*\n$/);
      const exit = await server.stop('SIGTERM');
      assert.equal(exit, { code: 0, signal: null }, server.stderr);
      assert.match(server.stderr, /summary: 1 connection, 65536 bytes echoed/);
    } finally {
      server.child.kill('SIGKILL');
    }
  },

  client: async (rt) => {
    const server = net.createServer((socket) => socket.on('error', () => {}).pipe(socket));
    server.listen({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    try {
      const payload = randomBytes(256 * 1024);
      const result = await runScriptOn(rt, 'client', ['127.0.0.1', String(port)], { input: payload });
      assert.is(result.code, 0, result.stderr);
      assert.ok(result.stdoutBytes.equals(payload), `got ${result.stdoutBytes.length} of ${payload.length} bytes`);
    } finally {
      server.close();
    }
    // Nobody listens there now: refused, one line, exit 1.
    const refused = await runScriptOn(rt, 'client', ['127.0.0.1', String(port)], { input: 'x' });
    assert.is(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /^client: error: cannot connect to 127\.0\.0\.1:\d+: connection refused \(ECONNREFUSED\).*\n$/);
  },

  'talk-server': async (rt) => {
    const server = startScriptOn(rt, 'talk-server', ['--port', '0', '--once'], { stdin: 'pipe' });
    try {
      const { port } = await server.listening();
      const socket = (await connect(port)).on('error', () => {});
      socket.write('hello from the client\n');
      await server.waitForStdout(/hello from the client\n/);
      const reply = readBytes(socket, 'hello from the server\n'.length);
      server.child.stdin!.write('hello from the server\n');
      assert.is((await reply).toString(), 'hello from the server\n');
      socket.end();
      const exit = await server.wait(); // --once: exits when the client leaves
      assert.equal(exit, { code: 0, signal: null }, server.stderr);
      socket.destroy();
    } finally {
      server.child.kill('SIGKILL');
    }
  },

  'http-hello': async (rt) => {
    const server = startScriptOn(rt, 'http-hello', ['--port', '0']);
    try {
      const { port } = await server.listening();
      const { status, body } = await withDeadline(httpGet(port, '/runtime-check'), 5000, 'GET /runtime-check');
      assert.is(status, 200);
      assert.match(body, /GET \/runtime-check HTTP\/1\.1/);
      const exit = await server.stop('SIGTERM');
      assert.equal(exit, { code: 0, signal: null }, server.stderr);
    } finally {
      server.child.kill('SIGKILL');
    }
  },

  'socket-view': async (rt) => {
    const server = startScriptOn(rt, 'socket-view', ['--port', '0']);
    try {
      const { port } = await server.listening();
      const { status, body } = await withDeadline(httpGet(port, `/api/sockets?port=${port}&state=LISTEN`), 5000, 'GET /api/sockets');
      assert.is(status, 200, body);
      assert.ok(Array.isArray(JSON.parse(body)), body);
      const page = await withDeadline(httpGet(port, '/'), 5000, 'GET /');
      assert.match(page.body, /new EventSource/);
      const exit = await server.stop('SIGTERM');
      assert.equal(exit, { code: 0, signal: null }, server.stderr);
    } finally {
      server.child.kill('SIGKILL');
    }
  },

  'listen-only': async (rt) => {
    const server = startScriptOn(rt, 'listen-only', ['--port', '0', '--backlog', '2']);
    const clients: net.Socket[] = [];
    try {
      const { port } = await server.listening();
      for (let i = 0; i < 3; i++) clients.push((await connect(port)).on('error', () => {})); // reset at the stop
      // backlog 2 holds 3 finished connections, none accept()ed.
      await server.waitForStdout(/accept queue: 3 \(backlog 2\)\n/, 5000);
      const exit = await server.stop('SIGTERM');
      assert.equal(exit, { code: 0, signal: null }, server.stderr);
    } finally {
      for (const client of clients) client.destroy();
      server.child.kill('SIGKILL');
    }
  },

  'handshake-tour': async (rt) => {
    const result = await runScriptOn(rt, 'handshake-tour', ['--backlog', '1'], { deadlineMs: 45000 });
    assert.is(result.code, 0, result.stderr);
    assert.match(result.stdout, /no process has accept\(\)ed them|have no process/);
    assert.match(result.stdout, /listen-only exited with code 0\n$/);
  },

  'syn-queue': async (rt) => {
    // Re-runs itself under unshare with the same runtime; one client held in SYN_RECV, then let in.
    const result = await runScriptOn(rt, 'syn-queue', ['--clients', '1', '--release', 'data', '--json'], { deadlineMs: 30000 });
    assert.is(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout) as { port: number; steps: Array<{ name: string; rows: Array<{ state: string; localPort: number }> }> };
    const held = doc.steps[1].rows.filter((row) => row.localPort === doc.port && row.state === 'SYN_RECV');
    assert.is(held.length, 1, result.stdout);
  },

  'close-tour': async (rt) => {
    // Re-runs itself under unshare and starts its leaking server with the same runtime.
    const result = await runScriptOn(rt, 'close-tour', ['--json'], { deadlineMs: 30000 });
    assert.is(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout) as { steps: Array<{ rows: Array<{ state: string; pid: number | null; timerSeconds: number | null }>; leakPid?: number }> };
    assert.ok(doc.steps[1].rows.some((row) => row.state === 'FIN_WAIT2'), result.stdout);
    assert.ok(doc.steps[2].rows.some((row) => row.state === 'TIME_WAIT' && row.timerSeconds !== null), result.stdout);
    assert.ok(doc.steps[5].rows.some((row) => row.state === 'CLOSE_WAIT' && row.pid === doc.steps[5].leakPid), result.stdout);
  },

  syscalls: async (rt) => {
    const server = net.createServer((socket) => socket.pipe(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    try {
      const result = await runScriptOn(rt, 'syscalls', ['--', 'client', '127.0.0.1', String(port)], { input: 'hi\n', deadlineMs: 45000 });
      if (missingCommand('strace', ['-V'])) {
        assert.is(result.code, 1, result.stderr);
        assert.match(result.stderr, /install strace/);
        return;
      }
      assert.is(result.code, 0, result.stderr);
      assert.is(result.stdout, 'hi\n');
      assert.match(result.stderr, new RegExp(`connect\\(\\d+, \\{sa_family=AF_INET, sin_port=htons\\(${port}\\)`));
      assert.match(result.stderr, /summary \(exit code 0\):\n {2}socket ×1\n/);
    } finally {
      server.close();
    }
  },
};

/** Scripts the project is expected to have; a missing one is a visible skip. */
const EXPECTED = Object.keys(CASES);

const present = fs
  .readdirSync(`${ROOT}scripts`)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.slice(0, -3))
  .sort();

for (const name of EXPECTED.filter((name) => !present.includes(name))) {
  console.log(`SKIP ${name}: scripts/${name}.ts does not exist yet`);
}

// What lets one file run under tsx, Deno, Bun and Node's own type stripping
// (node >= 22.18 runs `node scripts/X.ts`; it never rewrites import paths):
// relative imports name the .ts file, built-ins carry `node:`, and the one
// package used at run time, zx, is imported lazily where a path needs it.
test('scripts/ and lib/ import only ./X.ts files, node: built-ins and (lazily) zx', () => {
  const problems: string[] = [];
  for (const dir of ['scripts', 'lib']) {
    for (const file of fs.readdirSync(`${ROOT}${dir}`, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))) {
      const where = `${dir}/${file}`;
      const text = fs.readFileSync(`${ROOT}${where}`, 'utf8');
      const found: Array<{ spec: string; lazy: boolean }> = [];
      for (const m of text.matchAll(/^\s*(?:import|export)\b[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]/gm)) found.push({ spec: m[1], lazy: false });
      for (const m of text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) found.push({ spec: m[1], lazy: false });
      for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push({ spec: m[1], lazy: true });
      for (const { spec, lazy } of found) {
        if (spec.startsWith('.')) {
          if (!spec.endsWith('.ts')) problems.push(`${where}: '${spec}' needs its .ts extension`);
          else if (!fs.existsSync(new URL(spec, `file://${ROOT}${where}`))) problems.push(`${where}: '${spec}' does not exist`);
        } else if (/^zx(\/|$)/.test(spec)) {
          if (!lazy) problems.push(`${where}: import zx lazily (await import('${spec}')) on the path that needs it`);
        } else if (!spec.startsWith('node:')) {
          problems.push(`${where}: '${spec}' is neither node:, zx nor a relative .ts file`);
        }
      }
    }
  }
  assert.equal(problems, []);
});

test('every script in scripts/ has a cross-runtime case here', () => {
  const uncovered = present.filter((name) => !CASES[name]);
  assert.equal(uncovered, [], `add a case to tests/runtimes.test.ts for: ${uncovered.join(', ')}`);
});

// Node's run of a script, the output the other runtimes must match.
const references = new Map<string, ReturnType<typeof runScript>>();
function reference(name: string, args: string[]) {
  const key = JSON.stringify([name, args]);
  if (!references.has(key)) references.set(key, runScript(name, args, { deadlineMs: 30000 }));
  return references.get(key)!;
}

for (const name of present.filter((name) => CASES[name])) {
  if (runtimes.length === 0) break;
  test(`${name}: --help, a bad flag and a real run under ${runtimes.map((rt) => rt.name).join(' and ')}`, async () => {
    const want = await reference(name, ['--help']);
    assert.is(want.code, 0, want.stderr);
    await Promise.all(
      runtimes.map(async (rt) => {
        const where = `${name} under ${rt.name}`;
        const help = await runScriptOn(rt, name, ['--help']);
        assert.is(help.code, 0, `${where} --help: ${help.stderr}`);
        assert.is(help.stdout, want.stdout, `${where} --help differs from Node's`);
        assert.is(help.stderr, '', `${where} --help wrote to stderr`);

        const bad = await runScriptOn(rt, name, ['--no-such-flag']);
        assert.is(bad.code, 2, `${where} --no-such-flag: ${bad.stderr}`);
        assert.is(bad.stderr, `${name}: error: unknown option --no-such-flag; see --help\n`, where);

        const gap = GAPS[name]?.[rt.name];
        if (gap) {
          // Known gap: one line naming it, exit 1, no stack trace.
          const refused = await runScriptOn(rt, name, gap.args, { deadlineMs: 30000 });
          assert.is(refused.code, 1, `${where}: ${refused.stderr}`);
          assert.match(refused.stderr, gap.says, where);
          assert.is(refused.stderr.trimEnd().split('\n').length, 1, `${where}: more than one line: ${refused.stderr}`);
          assert.not.ok(hasStackTrace(refused.stderr), where);
          return;
        }
        try {
          await CASES[name](rt);
        } catch (error) {
          (error as Error).message = `${where}: ${(error as Error).message}`;
          throw error;
        }
      }),
    );
  });
}

/** A plain HTTP/1.1 GET through node:http; resolves with status and body. */
function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

test.run();
