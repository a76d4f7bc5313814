#!/usr/bin/env -S npx tsx
// socket-view: a live web page of this host's sockets and queues (B/S meets
// the kernel). An HTTP server on the project's own HTTP code reads
// /proc/net once per --interval for every open page, and sends each page its
// view over Server-Sent Events: each TCP listener with its half-open queue
// (SYN_RECV), its accept queue (ESTABLISHED, no process yet, with the bytes
// waiting) and its accepted connections; the other TCP states with what
// they mean; UDP and Unix sockets; a timeline of what changed.
//
// Mirrors: `watch ss -tanp` drawn in a browser; the server is socket(),
// bind(127.0.0.1:8090), listen(), accept() per browser connection.
//
//   npx tsx scripts/socket-view.ts               # then open http://127.0.0.1:8090/
//   npx tsx scripts/socket-view.ts --port 0 --interval 250
//   open http://127.0.0.1:8090/?port=8001        # one server's sockets
import net from 'node:net';
import { EXIT_CODES_HELP, parseCli, parseNumber, runMain } from '../lib/cli.ts';
import { Failure } from '../lib/errors.ts';
import { announceListening, browserHint, listenTcp, onShutdown } from '../lib/net.ts';
import { AcceptGate } from '../lib/serve/gate.ts';
import { splitEndpoint } from '../lib/wire/address.ts';
import { aclHelp } from '../lib/serve/acl.ts';
import { LISTEN_OPTIONS, parseListenFlags, listenHelp } from '../lib/serve/listen-flags.ts';
import { ViewHub, serveView } from '../lib/serve/view.ts';
import { Sampler } from '../lib/kernel/sampler.ts';
import { defaultProcRoot, hasProcNet } from '../lib/kernel/procfile.ts';
import { ownPids } from '../lib/kernel/self.ts';

const NAME = 'socket-view';
const HELP = `Usage: socket-view [--host HOST] [--port PORT] [--interval MS] [--allow CIDR] [--deny CIDR]

A web page of this host's sockets, live: TCP listeners with their half-open
and accept queues and accepted connections, the other TCP states explained,
UDP and Unix sockets, and a timeline of changes.

Options:
${listenHelp(8090, 19)}
                   (the page shows process names and pids: an address that is
                   not loopback prints a warning)
  --interval MS    read /proc at most this often while a page is open (default 500)
${aclHelp(19)}
  -h, --help       show this help

Routes: /  (the page; filters in the URL: ?port=8001&state=LISTEN&program=node)
        /events  (text/event-stream: one snapshot event per change, heartbeat comments)
        /api/sockets  (netstat --json; ?port= ?state= ?listening ?tcp ?udp ?unix)
        /api/statistics  (netstat -s --json)   /api/status  (/proc reads so far)
Only GET and HEAD; a Host header other than this address, localhost,
127.0.0.1 or [::1] gets 421 (DNS rebinding).

${EXIT_CODES_HELP}`;

const LOOPBACK = /^(127\.|::1$|localhost$)/;

runMain(NAME, async () => {
  const args = parseCli({
    name: NAME,
    help: HELP,
    options: { ...LISTEN_OPTIONS, interval: { type: 'string' } },
  });
  if (!args) return;
  const { host, port, acl } = parseListenFlags(args.values, 8090);
  const intervalMs = parseNumber(args.values.interval ?? '500', '--interval', { integer: true, min: 50, max: 3600000 });
  if (!hasProcNet()) {
    throw new Failure(`/proc/net is not available on this platform (${process.platform}); socket-view reads the Linux socket tables`);
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let hub: ViewHub | undefined;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    if (gate.admit(socket) === null) return;
    gate.track(socket);
    serveView(socket, hub!);
  });
  const gate = new AcceptGate(server, { log, acl });
  const endpoint = await listenTcp(server, { host, port });
  const split = splitEndpoint(endpoint);
  const boundHost = split?.address ?? host;
  const boundPort = Number(split?.port ?? port);
  const sampler = new Sampler({ exclude: ownPids(process.pid, defaultProcRoot()) });
  hub = new ViewHub({ intervalMs, host: boundHost, port: boundPort, sampler });
  announceListening(endpoint, 'tcp');
  if (!LOOPBACK.test(boundHost)) {
    log(`warning: listening on ${boundHost}, not loopback: anyone who can reach it sees this host's process names and pids`);
  }
  log(browserHint(endpoint));

  onShutdown(async () => {
    hub?.close(); // every event stream ends with our FIN
    await gate.closeAll({ graceMs: 200 });
    process.exitCode = 0;
  });
});
