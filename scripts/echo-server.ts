#!/usr/bin/env -S npx tsx
// echo-server: the lesson's first server, made into a real tool. It listens,
// accepts clients, copies what each one sends to the terminal and writes it
// back. The lesson binds INADDR_ANY and calls listen(lfd, 64); this server
// binds 127.0.0.1 unless --host says otherwise (0.0.0.0 is INADDR_ANY) and
// calls listen(lfd, 511), Node's default (the kernel caps it at somaxconn):
//
//   lfd = socket(AF_INET, SOCK_STREAM, 0); bind(lfd, 127.0.0.1:8001); listen(lfd, 511);
//   cfd = accept(lfd, &cliAddr, &len);
//   while (1) { n = read(cfd, buf, sizeof buf); write(STDOUT_FILENO, buf, n); write(cfd, buf, n); }
//
// Unlike the lesson it serves many clients at once (one event loop, no
// thread per client), stops reading a client whose replies are not being
// read (backpressure), finishes the echo when a client half-closes
// (shutdown(SHUT_WR)), and also speaks UDP (recvfrom/sendto) and Unix sockets.
//
//   npx tsx scripts/echo-server.ts                       # 127.0.0.1:8001
//   npx tsx scripts/echo-server.ts --port 0 --quiet      # an ephemeral port, no copy
//   npx tsx scripts/echo-server.ts --udp --hex
//   npx tsx scripts/echo-server.ts --unix /tmp/echo.sock
//   then: npx tsx scripts/client.ts 127.0.0.1 8001
import fs from 'node:fs';
import { exitCodesHelp, parseCli, parseNumber, runMain } from '../lib/cli.ts';
import { UsageError } from '../lib/errors.ts';
import { announceListening, bindUdp, onShutdown } from '../lib/net.ts';
import { EchoServer, type EchoStats } from '../lib/serve/echo.ts';
import { closeDatagrams, echoDatagrams } from '../lib/serve/udpecho.ts';
import { plural, summaryLine } from '../lib/serve/summary.ts';
import { DataCopy } from '../lib/serve/datacopy.ts';
import { aclHelp } from '../lib/serve/acl.ts';
import { LISTEN_OPTIONS, UNIX_OPTION, parseListenFlags, listenAsFlagsSay, listenHelp, unixHelp } from '../lib/serve/listen-flags.ts';

const NAME = 'echo-server';
/** The backlog passed to listen(); `ss -ltn` shows min(it, somaxconn) as Send-Q. */
const BACKLOG = 511;
const HELP = `Usage: echo-server [--host HOST] [--port PORT] [--udp | --unix PATH] [options]

Writes back every byte each client sends, and copies it to stdout.

${listenHelp(8001, 24)}
  --udp                 echo UDP datagrams, each back to its sender
${unixHelp(24)}
  --max-conns N         most clients at once (default 1000); past it a new
                        connection is closed at once and logged
  --idle-timeout SECS   close a connection after SECS with no traffic (default: never)
  --quiet               do not copy client data to stdout
  --hex                 copy client data to stdout as a hex dump (hexdump -C)
${aclHelp(24)}
                        (TCP and UDP only: Unix socket peers have no address)
  -h, --help            show this help

TCP: bind(HOST:PORT), then listen(fd, ${BACKLOG}): up to ${BACKLOG} connections (capped
by net.core.somaxconn) wait for accept(); \`ss -ltn\` shows it as Send-Q.

When ready it prints "listening on HOST:PORT (tcp|udp)" or "listening on PATH
(unix)" on stderr, then "open SRC -> DST" and "close SRC -> DST (N bytes)" per
connection, "reset SRC -> DST (N bytes)" when the client reset it, and "reset
before accept" for one reset while it waited in the accept queue (its address
is gone with it). UDP logs "from SRC -> DST (N bytes)" per datagram (the
address recvfrom() returned) unless --quiet. With --hex each
sender's bytes follow a "SRC -> DST:" line and have their own offsets. Ctrl-C or SIGTERM closes everything, prints a summary and exits 0.
A denied TCP client is closed at once ("deny SRC -> DST"); a denied datagram
is dropped. UDP datagrams from the source port of a service that answers on
its own (echo 7, daytime 13, qotd 17, chargen 19, time 37, DNS 53, NTP 123,
SNMP 161, SSDP 1900, ...) are never answered (no echo loops, no reflection).
Both are counted in the summary. Out of file descriptors (EMFILE), it keeps
serving its clients, turns new ones away and logs it at most once a second.
If stdout is backed up, clients are paused until it drains; if it is closed,
copying stops and the echo goes on.

${exitCodesHelp({ server: true })}`;

async function main(): Promise<void> {
  const args = parseCli({
    name: NAME,
    help: HELP,
    options: {
      ...LISTEN_OPTIONS,
      ...UNIX_OPTION,
      udp: { type: 'boolean' },
      'max-conns': { type: 'string' },
      'idle-timeout': { type: 'string' },
      quiet: { type: 'boolean' },
      hex: { type: 'boolean' },
    },
  });
  if (!args) return;
  const flags = args.values;
  const maxConns = parseNumber(flags['max-conns'] ?? '1000', '--max-conns', { min: 1, integer: true });
  const idleTimeoutSeconds = parseNumber(flags['idle-timeout'] ?? '0', '--idle-timeout', { min: 0 });
  if (flags.unix !== undefined && flags.udp) {
    throw new UsageError('--unix and --udp cannot be combined (Unix datagram sockets are not supported)');
  }
  const target = parseListenFlags(flags, 8001);
  const { host, port, acl } = target;
  const log = (line: string) => process.stderr.write(line + '\n');
  // The copy writes fd 1 through a stream of its own: a closed stdout (EPIPE)
  // must stop the copy, not end the server (runMain ends a script on it).
  const stdout = fs.createWriteStream('', { fd: 1, autoClose: false });
  const copy = flags.quiet ? null : new DataCopy(stdout, { hex: flags.hex, log });

  let stats: EchoStats;
  let stop: () => Promise<void>;
  if (flags.udp) {
    const { socket, endpoint } = await bindUdp(host, port);
    stats = echoDatagrams(socket, { copy, log, acl, logDatagrams: !flags.quiet });
    announceListening(endpoint, 'udp');
    stop = () => closeDatagrams(socket);
  } else {
    const echo = new EchoServer({ maxConns, idleTimeoutSeconds, copy, log, unixPath: flags.unix, acl });
    stats = echo.stats;
    const unlink = await listenAsFlagsSay(echo.server, target, BACKLOG);
    stop = () => echo.stop().then(unlink);
  }
  const summary = () =>
    summaryLine(
      [plural(stats.connections, flags.udp ? 'datagram' : 'connection'), `${stats.bytes} bytes echoed`],
      [[stats.refused, `refused (--max-conns ${maxConns})`], [stats.denied, 'denied (--allow/--deny)'], [stats.reflected, 'dropped (reflection guard)']],
    );

  onShutdown(async () => {
    await stop();
    log(summary());
    process.exitCode = 0;
    // A stdout pipe nobody reads must not hold the exit forever.
    setTimeout(() => process.exit(0), 2000).unref();
  });
}

await runMain(NAME, main);
