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
// connect() on each client; accept() at the end. The siblings run through zx
// (lib/serve/handshake.ts).
//
//   npx tsx scripts/handshake-tour.ts
//   npx tsx scripts/handshake-tour.ts --backlog 1
import { exitCodesHelp, parseCli, parseNumber, runMain } from '../lib/cli.ts';
import { describeSynRetries, readRetrySettings } from '../lib/kernel/retries.ts';
import { launcherPids } from '../lib/runtime.ts';
import { startHandshakeTour } from '../lib/serve/handshake.ts';

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

// Read before anything else: the chain npm -> sh -> tsx -> this, while it is whole.
const launchers = launcherPids();

await runMain(NAME, async () => {
  const args = parseCli({ name: NAME, help: HELP, options: { backlog: { type: 'string', default: '2' }, view: { type: 'boolean', default: false } } });
  if (!args) return;
  const backlog = parseNumber(args.values.backlog, '--backlog', { min: 1, max: 8, integer: true });
  // listen-only and netstat run the way this script runs (tsx, a bundle, Deno or Bun).
  const tour = await startHandshakeTour({ name: NAME, backlog, view: args.values.view, fromUrl: import.meta.url, launchers });
  const { out, pid } = tour;
  try {
    const port = await tour.listening;
    out(`# The handshake without accept(): listen(fd, ${backlog}) and no accept()\n`);
    out(`$ listen-only --port 0 --backlog ${backlog}      # pid ${pid}`);
    out(`listening on 127.0.0.1:${port} (tcp)\n`);
    if (tour.view) out(`${await tour.view.line(port)}\n`);
    out(`## Step 0: the server listens; nobody has connected`);
    await tour.netstat(port);

    // socket(), connect(): backlog + 1 connections fit in the accept queue; the next one does not.
    const total = backlog + 2;
    for (let n = 1; n <= total; n++) {
      const fits = n <= backlog + 1;
      out(`\n## Step ${n}: client ${n} connects${fits ? '' : ` (the queue already holds backlog + 1 = ${backlog + 1})`}`);
      const waitMs = fits ? 5000 : 1500;
      const client = await tour.connect(port, `hello from client ${n}\n`, waitMs);
      if ('local' in client) {
        out(`client ${n}: connect() returned: ${client.local} -> 127.0.0.1:${port}; sent "hello from client ${n}\\n"`);
      } else {
        out(`client ${n}: connect() has not returned after ${waitMs / 1000} s: the queue is full, the kernel dropped its SYN (${client.counted} in /proc/net/netstat)`);
      }
      await tour.netstat(port);
    }

    // accept(): the queued connections get their owner.
    out(`\n## Step ${total + 1}: the server calls accept() for everything queued (kill -USR2 ${pid})`);
    await tour.acceptAll(port);
    await tour.netstat(port);
    const late = tour.clients.slice(backlog + 1);
    if (late.length > 0) {
      out(`\n## Step ${total + 2}: the clients left in SYN_SENT get in when their SYN is re-sent: ${describeSynRetries(readRetrySettings())}`);
      const joined = await tour.joined(late, 10000);
      out(`${joined.count} of ${late.length} got in after ${joined.seconds.toFixed(1)} s more; the server accept()s them at once now`);
      await tour.allAccepted(port);
      await tour.netstat(port);
    }
    out(`\n## Done: the clients reset their connections, listen-only (pid ${pid}) stops`);
    out('The half-open queue (SYN_RECV, before the handshake completes) is the next lesson: see `syn-queue`.');
  } finally {
    await tour.cleanup();
  }
  tour.finish();
  out(`listen-only exited with code ${tour.exitCode()}`);
});
