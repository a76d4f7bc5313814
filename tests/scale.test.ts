// Scale: 10,000 concurrent connections to echo-server, each echoes one
// message correctly and then stays open (idle). The server's RSS per idle
// connection, (RSS with 10,000 open - RSS before) / 10,000, is printed next
// to the same figure for the minimal Node pipe server
// (/work/shared/bench/node-pipe.mjs, or an inline copy), measured the same
// way. No timed or memory assertion beyond "every message came back": the
// figures are for the README.
//
// Descriptors: the servers and the client process are started from
// `bash -c 'ulimit -n 30000 || ulimit -n HARD; exec ...'` (if even the hard
// limit is too low for 10,000 sockets the test says so and skips). The 10,000 client
// sockets live in one child process, not in the test process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { ROOT, startCommand, withDeadline, type ScriptProcess } from './helpers.ts';

const CONNECTIONS = Number(process.env.SCALE_CONNECTIONS ?? 10000);
const NOFILE = 30000;
// Raise the soft limit to 30000, or to the hard limit when that is lower
// (raising the hard limit needs CAP_SYS_RESOURCE, which a container may lack).
const RAISE = `{ ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; }`;
const PIPE_SERVER = '/work/shared/bench/node-pipe.mjs';
const PIPE_INLINE = `import net from 'node:net';
const server = net.createServer((s) => { s.on('error', () => {}); s.pipe(s); });
server.listen(Number(process.argv[1]), '127.0.0.1');
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));`;

// The client side: CONNECTIONS sockets, at most 256 connecting at once (the
// accept queue is 511), each sends one line and checks its echo; then
// "ready OK FAILED" on stdout; on stdin EOF, close everything and exit.
const CLIENTS = `import net from 'node:net';
const [port, total] = process.argv.slice(1).map(Number);
const sockets = [];
let ok = 0, failed = 0, next = 0, inFlight = 0;
const done = () => {
  if (ok + failed < total) return;
  process.stdout.write('ready ' + ok + ' ' + failed + '\\n');
};
const one = (i) => {
  inFlight++;
  const socket = net.connect({ port, host: '127.0.0.1' });
  sockets.push(socket);
  const line = 'message ' + i + ' ' + 'x'.repeat(i % 50) + '\\n';
  let got = '';
  let settled = false;
  const settle = (good) => {
    if (settled) return;
    settled = true;
    good ? ok++ : failed++;
    inFlight--;
    pump();
    done();
  };
  socket.setEncoding('latin1');
  socket.on('connect', () => socket.write(line));
  socket.on('data', (d) => { got += d; if (got.length >= line.length) settle(got === line); });
  socket.on('error', () => settle(false));
  socket.on('close', () => settle(false));
};
const pump = () => { while (inFlight < 256 && next < total) one(next++); };
pump();
process.stdin.resume();
process.stdin.on('end', () => { for (const s of sockets) s.destroy(); process.exit(0); });`;

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

function withLimit(command: string[]): ScriptProcess {
  return startCommand('bash', ['-c', `${RAISE} && exec "$@"`, 'bash', ...command], { stdin: 'pipe' });
}

async function freePort(): Promise<number> {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function waitUntilAccepting(port: number): Promise<void> {
  await withDeadline(
    (async () => {
      for (;;) {
        const socket = net.connect({ port, host: '127.0.0.1' });
        const ok = await new Promise<boolean>((resolve) => {
          socket.once('connect', () => resolve(true));
          socket.once('error', () => resolve(false));
        });
        socket.destroy();
        if (ok) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })(),
    15000,
    `a server accepting on ${port}`,
  );
}

/** Opens CONNECTIONS echo clients against `port`, measures the server's RSS, closes them. */
async function measure(serverPid: number, port: number): Promise<{ perConnBytes: number; idleMiB: number; loadedMiB: number; seconds: number }> {
  // Let start-up settle, then the idle RSS.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const idle = rssKiB(serverPid);
  const t0 = Date.now();
  const clients = withLimit([process.execPath, '--input-type=module', '-e', CLIENTS, String(port), String(CONNECTIONS)]);
  try {
    const ready = await clients.waitForStdout(/ready (\d+) (\d+)\n/, 90000);
    const seconds = (Date.now() - t0) / 1000;
    assert.is(Number(ready[2]), 0, `${ready[2]} connections did not echo`);
    assert.is(Number(ready[1]), CONNECTIONS);
    await new Promise((resolve) => setTimeout(resolve, 500)); // the last echoes settle
    const loaded = rssKiB(serverPid);
    clients.child.stdin!.end();
    await clients.wait(15000);
    return {
      perConnBytes: ((loaded - idle) * 1024) / CONNECTIONS,
      idleMiB: idle / 1024,
      loadedMiB: loaded / 1024,
      seconds,
    };
  } finally {
    clients.child.kill('SIGKILL');
  }
}

test(`${CONNECTIONS} concurrent connections each echo one message; RSS per idle connection vs the pipe server`, async () => {
  const probe = spawnSync('bash', ['-c', `${RAISE} && ulimit -n`], { encoding: 'utf8' });
  const limit = Number(probe.stdout.trim());
  if (probe.status !== 0 || !(limit >= CONNECTIONS + 200)) {
    console.log(`  skip: the descriptor limit can only be raised to ${probe.stdout.trim() || '?'} (${probe.stderr.trim()}); ${CONNECTIONS} connections need more`);
    return;
  }
  console.log(`  descriptor limit for the servers and the client process: ${limit}`);
  const echo = withLimit([process.execPath, '--import', 'tsx', `${ROOT}scripts/echo-server.ts`, '--port', '0', '--quiet', '--max-conns', String(CONNECTIONS + 1000)]);
  let echoFigures;
  try {
    const { port } = await echo.listening();
    echoFigures = await measure(echo.pid, port);
    assert.is((await echo.stop('SIGTERM', 15000)).code, 0);
    assert.match(echo.stderr, new RegExp(`summary: ${CONNECTIONS} connections, `));
  } finally {
    echo.child.kill('SIGKILL');
  }

  const pipePort = await freePort();
  const pipeArgs = fs.existsSync(PIPE_SERVER)
    ? [process.execPath, PIPE_SERVER, String(pipePort)]
    : [process.execPath, '--input-type=module', '-e', PIPE_INLINE, String(pipePort)];
  const pipe = withLimit(pipeArgs);
  let pipeFigures;
  try {
    await waitUntilAccepting(pipePort);
    pipeFigures = await measure(pipe.pid, pipePort);
  } finally {
    pipe.child.kill('SIGKILL');
  }

  const row = (name: string, f: typeof echoFigures) =>
    `  ${name.padEnd(12)} RSS idle ${f.idleMiB.toFixed(1)} MiB, with ${CONNECTIONS} open ${f.loadedMiB.toFixed(1)} MiB: ` +
    `${(f.perConnBytes / 1024).toFixed(2)} KiB per idle connection (${CONNECTIONS} echoed in ${f.seconds.toFixed(1)} s)`;
  console.log(row('echo-server', echoFigures));
  console.log(row('node-pipe', pipeFigures));
  console.log(`  ratio echo-server / node-pipe: ${(echoFigures.perConnBytes / pipeFigures.perConnBytes).toFixed(2)}`);
});

test.run();
