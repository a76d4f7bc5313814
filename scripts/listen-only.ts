#!/usr/bin/env -S npx tsx
// listen-only: a server that calls socket(), bind() and listen(backlog) and
// then never calls accept(), as in the lesson. Clients still connect: the
// kernel finishes each three-way handshake on its own and keeps the new
// connection in the listener's accept queue (up to backlog + 1 here), with
// any bytes the client sends. Once a second it prints the queue as the kernel
// reports it (`accept queue: 3 (backlog 4)`, the LISTEN row's rx_queue in
// /proc/net/tcp). With --for SECONDS it then accept()s everything queued,
// prints each connection's four-tuple and the bytes its client had sent
// before accept(), and exits.
//
// How it avoids accept(): Node accepts by itself whenever the event loop of
// the thread that owns the listener runs. The listener lives in a worker
// thread that blocks in Atomics.wait() inside its 'listening' callback, so
// that thread's loop never runs until we notify it (lib/noaccept.ts). The
// main thread stays free to print and to handle Ctrl-C.
//
// Mirrors: socket(), bind(), listen(fd, backlog), and, late, accept().
//
//   npx tsx scripts/listen-only.ts --port 8001 --backlog 4
//   npx tsx scripts/netstat.ts --port 8001 --explain      (in another terminal)
//   npx tsx scripts/listen-only.ts --port 0 --backlog 2 --for 10
//
// SIGUSR2 makes it accept now and keep accepting (handshake-tour uses it).
import { exitCodesHelp, parseCli, parseNumber, runMain } from '../lib/cli.ts';
import { announceListening, onShutdown } from '../lib/net.ts';
import { listenWithoutAccept, readAcceptQueue, somaxconn } from '../lib/serve/noaccept.ts';
import { reportLateAccepts } from '../lib/serve/late-accept.ts';
import { AcceptGate } from '../lib/serve/gate.ts';
import { runtimeName, unsupported } from '../lib/runtime.ts';
import { aclHelp } from '../lib/serve/acl.ts';
import { LISTEN_OPTIONS, parseListenFlags, listenHelp } from '../lib/serve/listen-flags.ts';

const NAME = 'listen-only';
const HELP = `Usage: listen-only [--host HOST] [--port PORT] [--backlog N] [--for SECONDS] [--allow CIDR] [--deny CIDR]

socket(), bind(), listen(N), and then no accept(): connections wait in the
kernel's accept queue. Prints \`accept queue: Q (backlog N)\` once a second.

${listenHelp(8001, 19)}
  --backlog N      listen() backlog (default 64, as in the lesson; the kernel
                   caps it at net.core.somaxconn and holds N + 1 connections)
  --for SECONDS    hold that long, then accept() every queued connection, print
                   its four-tuple and the bytes it sent before accept(), exit 0
                   (default: hold until Ctrl-C)
${aclHelp(19)}
                   The list is applied when connections are accept()ed (--for,
                   SIGUSR2): a denied one is closed at once and logged as
                   "deny SRC -> DST". Before accept() the kernel queues every
                   client whatever the list says: nothing can be refused
                   without accepting it first.
  -h, --help       this help

SIGUSR2 accepts everything queued at once and keeps accepting until Ctrl-C.
It prints its own pid when ready (\`pid N: kill -USR2 N accepts now\`): signal
that one. Under npx, npm start or the shebang, \`$!\` is npm's pid, not
listen-only's (killing npm, or npm exiting, stops listen-only as well).

${exitCodesHelp({ server: true })}`;

await runMain(NAME, async () => {
  const args = parseCli({
    name: NAME,
    help: HELP,
    options: {
      ...LISTEN_OPTIONS,
      backlog: { type: 'string', default: '64' },
      for: { type: 'string' },
    },
  });
  if (!args) return;
  const { host, port, acl } = parseListenFlags(args.values, 8001);
  const requested = parseNumber(args.values.backlog, '--backlog', { min: 1, max: 65535, integer: true });
  const holdSeconds = args.values.for === undefined ? null : parseNumber(args.values.for, '--for', { min: 0, max: 86400 });
  // Bun's listen() always uses a backlog of 512 whatever it is given (Bun 1.4), and the backlog is the lesson here.
  if (runtimeName() === 'bun') throw unsupported("Bun's listen() ignores the backlog (it always listens with 512)");
  const cap = somaxconn();
  const backlog = cap === null ? requested : Math.min(requested, cap);
  if (backlog < requested) process.stderr.write(`note: the kernel caps the backlog at net.core.somaxconn = ${cap}\n`);

  const server = await listenWithoutAccept({ host, port, backlog });

  const printQueue = () => {
    const { listener } = readAcceptQueue(server.address, server.port);
    if (listener) process.stdout.write(`accept queue: ${listener.recvQ} (backlog ${backlog})\n`);
  };
  const ticker = setInterval(printQueue, 1000);

  // accept(), late: each connection with the bytes its client sent before it.
  const gate = new AcceptGate(null, { log: (line) => process.stderr.write(`${line}\n`), acl });
  const acceptQueued = reportLateAccepts(server, {
    gate,
    print: (line) => process.stdout.write(`${line}\n`),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const acceptNow = () => {
    clearInterval(ticker);
    return acceptQueued();
  };

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(ticker);
    await server.close();
    process.exitCode = 0;
  };
  onShutdown(stop);
  process.on('SIGUSR2', () => void acceptNow());
  // Ready only now, with every handler in place: a client or a signal may follow at once.
  announceListening(server.endpoint, 'tcp');
  process.stderr.write(`pid ${process.pid}: kill -USR2 ${process.pid} accepts now; Ctrl-C or kill ${process.pid} stops\n`);
  printQueue();

  if (holdSeconds !== null) {
    setTimeout(async () => {
      await acceptNow();
      await stop();
    }, holdSeconds * 1000);
  }
});
