#!/usr/bin/env -S npx tsx
// handshake-tour: the lesson's "listen() but never accept()" experiment in one
// command. It starts listen-only on a free port with a small backlog, connects
// clients one at a time, and after each step shows `netstat --port P
// --explain`: the LISTEN socket's queue growing, the server-side ESTABLISHED
// sockets no process owns, the clients whose connect() returned anyway, and
// the client that no longer fits (SYN_SENT). Then the server accept()s and the
// view shows the same sockets owned by it. Everything it started is stopped
// at the end, and on Ctrl-C. The output is meant to be pasted into notes.
//
// Mirrors: socket(), bind(), listen(fd, backlog) on the server; socket(),
// connect() on each client; accept() at the end. Shells out through zx.
//
//   npx tsx scripts/handshake-tour.ts
//   npx tsx scripts/handshake-tour.ts --backlog 1
import net from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { exitCodesHelp, outputClosedCode, parseCli, parseNumber, runMain } from '../lib/cli.ts';
import { describeSynRetries, readRetrySettings } from '../lib/kernel/retries.ts';
import { counterDeltas, readCounters } from '../lib/kernel/counters.ts';
import { attachOwners, readSockets } from '../lib/kernel/table.ts';
import { Failure } from '../lib/errors.ts';
import { launcherPids, siblingCommand, watchLaunchers } from '../lib/runtime.ts';

const NAME = 'handshake-tour';
const HELP = `Usage: handshake-tour [--backlog N] [--view]

Starts listen-only (no accept()) on a free port, connects backlog + 2 clients
one at a time, shows \`netstat --port P --explain\` after each step, lets the
server accept(), shows the view again, and stops everything it started.

  --backlog N   the server's listen() backlog (default 2, at most 8)
  --view        also start socket-view (a live page of the sockets) filtered
                to the tour's port, and print its URL before the first step
  -h, --help    this help

Ctrl-C stops the server and the clients and exits 130.

${exitCodesHelp({ failures: 'a runtime failure (a step did not happen, stdout full, ...)', extra: ['130  stopped with Ctrl-C (143 with SIGTERM), after stopping everything it started'] })}`;

// Set on Ctrl-C/SIGTERM (or when a netstat child died of the same signal
// first): from then on nothing more goes to stdout.
let stopping = false;
let netstatKilled: string | null = null;

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

// Read before anything else: the chain npm -> sh -> tsx -> this, while it is whole.
const launchers = launcherPids();

await runMain(NAME, async () => {
  const args = parseCli({ name: NAME, help: HELP, options: { backlog: { type: 'string', default: '2' }, view: { type: 'boolean', default: false } } });
  if (!args) return;
  const backlog = parseNumber(args.values.backlog, '--backlog', { min: 1, max: 8, integer: true });
  const { $ } = await import('zx');
  $.quiet = true;
  $.verbose = false;
  const clients: net.Socket[] = [];
  // The other scripts run the way this one runs (tsx, a bundle, Deno or Bun).
  const server = $({ nothrow: true, cwd: here('.') })`${siblingCommand('listen-only', import.meta.url)} --port 0 --backlog ${backlog}`;
  let serverOut = '';
  // The server's lines wait until the next view has been printed, so a line
  // about a client never sits above a table older than it.
  const serverLines: string[] = [];
  server.stdout.on('data', (chunk: Buffer) => {
    for (const line of String(chunk).split('\n')) if (line.startsWith('accepted ')) serverLines.push(`  server: ${line}`);
  });
  const flushServer = () => {
    for (const line of serverLines.splice(0)) out(line);
  };
  server.stderr.on('data', (chunk: Buffer) => (serverOut += chunk));

  const running = () => !!server.child && server.child.exitCode === null && server.child.signalCode === null;
  // --view: socket-view beside the tour, stopped with it.
  const view = args.values.view ? $({ nothrow: true, cwd: here('.') })`${siblingCommand('socket-view', import.meta.url)} --port 0` : null;
  const viewPort = view ? readListeningPort(view, 'socket-view') : null;
  viewPort?.catch(() => {}); // awaited below; a failure before then is reported there
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    // RST (not FIN) so neither side is left in TIME_WAIT, and before the
    // server stops: listen-only's worker closing an accepted socket first would
    // be the active close, leaving TIME_WAIT on the server's side. A client
    // still connecting is closed at once (resetAndDestroy() would wait for the
    // connect, by which time the server may already have sent its FIN).
    const closed = clients.map((client) => (client.destroyed ? Promise.resolve() : once(client, 'close').then(() => {})));
    for (const client of clients) {
      if (client.connecting || client.readyState !== 'open') client.destroy();
      else client.resetAndDestroy();
    }
    await Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, 1000))]);
    if (view?.child?.pid && view.child.exitCode === null && view.child.signalCode === null) process.kill(view.child.pid, 'SIGTERM');
    // process.kill(pid), not child.kill(): Deno's child.kill() marks the child as
    // ended by that signal at once, even when it handles it and keeps running.
    if (running()) {
      process.kill(server.child!.pid!, 'SIGTERM');
      await Promise.race([server, new Promise((resolve) => setTimeout(resolve, 3000))]);
      if (running()) process.kill(server.child!.pid!, 'SIGKILL');
    }
  };
  // Stopping: nothing more goes to stdout (no half step, no netstat that the
  // same Ctrl-C interrupted), and the exit code says why.
  process.on('SIGINT', () => {
    stopping = true;
    process.stderr.write(`${NAME}: interrupted; stopping listen-only (pid ${server.pid}) and the clients\n`);
    void cleanup().then(() => process.exit(outputClosedCode() ?? 130));
  });
  process.on('SIGTERM', () => {
    stopping = true;
    void cleanup().then(() => process.exit(outputClosedCode() ?? 143));
  });
  // Under npx or the shebang, `kill $!` reaches npm: stop as on SIGTERM when it exits.
  watchLaunchers(() => process.emit('SIGTERM', 'SIGTERM'), launchers);

  try {
    const port = await readListeningPort(server, 'listen-only');
    const pid = server.pid;
    const netstat = async () => {
      out(`$ netstat --port ${port} --explain`);
      const result = await $({ nothrow: true, cwd: here('.') })`${siblingCommand('netstat', import.meta.url)} --port ${port} --explain`;
      // A Ctrl-C in a terminal reaches netstat too, maybe before this process's
      // own handler runs: a netstat ended by a signal is the stop, not a failure.
      if (stopping) return;
      if (result.signal || result.exitCode === 130 || result.exitCode === 143) {
        stopping = true; // our own handler runs next; until then, print nothing more
        netstatKilled = result.signal ?? `exit ${result.exitCode}`;
        return;
      }
      const why = result.stderr.trim() || `exit ${result.exitCode ?? result.signal}`;
      out(result.stdout.trimEnd() + (result.exitCode === 0 ? '' : `\n(netstat failed: ${why})`));
      flushServer();
    };
    const connectClient = async (n: number, waitMs: number) => {
      const before = readCounters();
      const client = net.connect(port, '127.0.0.1');
      client.on('error', () => {});
      clients.push(client);
      const ok = await Promise.race([
        once(client, 'connect').then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), waitMs)),
      ]);
      if (ok) {
        client.write(`hello from client ${n}\n`);
        out(`client ${n}: connect() returned: ${client.localAddress}:${client.localPort} -> 127.0.0.1:${port}; sent "hello from client ${n}\\n"`);
      } else {
        const deltas = counterDeltas(before, readCounters());
        const counted = ['ListenOverflows', 'ListenDrops'].map((name) => `${name} +${deltas[name] ?? 0}`).join(', ');
        out(`client ${n}: connect() has not returned after ${waitMs / 1000} s: the queue is full, the kernel dropped its SYN (${counted} in /proc/net/netstat)`);
      }
      return ok;
    };

    out(`# The handshake without accept(): listen(fd, ${backlog}) and no accept()\n`);
    out(`$ listen-only --port 0 --backlog ${backlog}      # pid ${pid}`);
    out(`listening on 127.0.0.1:${port} (tcp)\n`);
    if (view && viewPort) {
      out(`watch it live: http://127.0.0.1:${await viewPort}/?port=${port}   (socket-view, pid ${view.pid})\n`);
    }
    out(`## Step 0: the server listens; nobody has connected`);
    await netstat();
    const total = backlog + 2;
    for (let n = 1; n <= total; n++) {
      const fits = n <= backlog + 1;
      out(`\n## Step ${n}: client ${n} connects${fits ? '' : ` (the queue already holds backlog + 1 = ${backlog + 1})`}`);
      await connectClient(n, fits ? 5000 : 1500);
      await netstat();
    }
    out(`\n## Step ${total + 1}: the server calls accept() for everything queued (kill -USR2 ${pid})`);
    process.kill(server.child!.pid!, 'SIGUSR2');
    await waitFor(() => (serverOut.match(/accept\(\): taking/) ? true : false), 5000);
    await waitFor(() => allAccepted(port), 5000);
    await netstat();
    const late = clients.slice(backlog + 1);
    if (late.length > 0) {
      out(`\n## Step ${total + 2}: the clients left in SYN_SENT get in when their SYN is re-sent: ${describeSynRetries(readRetrySettings())}`);
      const started = Date.now();
      const joined = await Promise.all(
        late.map((client) =>
          client.readyState === 'open'
            ? Promise.resolve(true)
            : Promise.race([once(client, 'connect').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10000))]),
        ),
      );
      out(`${joined.filter(Boolean).length} of ${late.length} got in after ${((Date.now() - started) / 1000).toFixed(1)} s more; the server accept()s them at once now`);
      await waitFor(() => allAccepted(port), 5000);
      await netstat();
    }
    out(`\n## Done: the clients reset their connections, listen-only (pid ${pid}) stops`);
    out('The half-open queue (SYN_RECV, before the handshake completes) is the next lesson: see `syn-queue`.');
  } finally {
    await cleanup();
  }
  // A netstat killed by a signal that never reached this process is a failure, not a stop.
  if (netstatKilled) throw new Failure(`netstat was stopped (${netstatKilled}) but no signal reached ${NAME}`);
  out(`listen-only exited with code ${server.child?.exitCode ?? server.child?.signalCode}`);
});

/** The port a sibling prints in its `listening on HOST:PORT (tcp)` line, within 15 s. */
function readListeningPort(child: { stderr: NodeJS.ReadableStream; then: Promise<{ stderr: string; exitCode: number | null }>['then'] }, name: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let said = '';
    child.stderr.on('data', (chunk: Buffer) => {
      said += chunk;
      const match = /listening on \S+:(\d+) \(tcp\)/.exec(said);
      if (match) resolve(Number(match[1]));
    });
    child.then((result) => reject(new Failure(`${name} exited early: ${result.stderr.trim() || result.exitCode}`)));
    setTimeout(() => reject(new Failure(`${name} did not start within 15 s`)), 15000).unref();
  });
}

function out(text: string): void {
  if (stopping) return;
  process.stdout.write(text + '\n');
}

/** True once every server-side connection on `port` has an owner: accept() has taken them all. */
function allAccepted(port: number): boolean {
  const rows = readSockets({ tcp: true, udp: false, unix: false }).filter((row) => row.localPort === port && row.state === 'ESTABLISHED');
  attachOwners(rows);
  return rows.every((row) => row.pid !== null);
}

async function waitFor(test: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}
