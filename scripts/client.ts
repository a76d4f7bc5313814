#!/usr/bin/env -S npx tsx
// client: the lesson's client, made into a small `nc`. It connects and
// relays the terminal to the socket and the socket to the terminal:
//
//   cfd = socket(AF_INET, SOCK_STREAM, 0);
//   inet_pton(AF_INET, SERIP, &serAddr.sin_addr); connect(cfd, &serAddr, sizeof serAddr);
//   while (1) { n = read(STDIN_FILENO, buf, ...); write(cfd, buf, n);
//               n = read(cfd, buf1, ...); write(STDOUT_FILENO, buf1, n); }
//
// The lesson's loop waits for one reply per line it sends; this one reads
// both sides at once, so it also works for a server that sends first, sends
// more than one reply, or receives a whole file. Each direction ends on its
// own, like nc -N: at the end of input it calls shutdown(SHUT_WR) and prints
// until the server's FIN; a server's FIN (its shutdown(SHUT_WR)) ends only
// what it sends, and input is still sent until its end. A reset is reported
// even when Node reads it as a plain end of file (lib/serve/reset.ts).
// With --udp each line (terminal) or each chunk read (pipe) is one datagram
// (sendto), and it waits up to --timeout seconds for the replies.
//
//   npx tsx scripts/client.ts                        # 127.0.0.1 8001, type lines
//   printf hi | npx tsx scripts/client.ts            # prints hi (via echo-server)
//   npx tsx scripts/client.ts < big.bin > out.bin    # byte for byte
//   npx tsx scripts/client.ts 127.0.0.1:8001           # HOST:PORT, as hton takes it
//   npx tsx scripts/client.ts ::1 9000 --udp --hex
//   npx tsx scripts/client.ts --unix /tmp/echo.sock
import { exitCodesHelp, parseCli, parseHostPort, parseNumber, runMain } from '../lib/cli.ts';
import { UsageError } from '../lib/errors.ts';
import { connectDatagram, connectStream } from '../lib/net.ts';
import { relayDatagrams, relayStream } from '../lib/serve/relay.ts';
import { checkDatagramOutcome, checkStreamOutcome } from '../lib/serve/client-outcome.ts';
import { formatEndpoint } from '../lib/wire/address.ts';

const NAME = 'client';
const HELP = `Usage: client [HOST [PORT] | HOST:PORT | [IPV6]:PORT] [--udp | --unix PATH] [--hex] [--timeout SECONDS]

Connects to a server and relays stdin to it and what it sends to stdout.

  HOST                  host to connect to (default 127.0.0.1)
  PORT                  port (default 8001)
  HOST:PORT, [IPV6]:PORT  both in one argument (127.0.0.1:8001, [::1]:8001)
  --udp                 send UDP datagrams: one per line typed, or one per
                        chunk read from a pipe (at most 65507 bytes each)
  --unix PATH           connect to a Unix stream socket instead
  --hex                 print what comes back as a hex dump (hexdump -C)
  --timeout SECONDS     give up connecting after SECONDS; give up on a server
                        that sends nothing for SECONDS after the end of input,
                        or does not read what is sent for SECONDS; with --udp,
                        stop waiting for replies when none came for SECONDS
                        after the end of input (default 10)
  -h, --help            show this help

On a terminal each line you type is sent and the replies are printed; Ctrl-D
ends input. Piped, stdin is streamed to the server; at its end the client
shuts down its sending side (FIN) and prints until the server's FIN. The two
directions end on their own (like nc -N): when the server shuts down its side
first, input is still sent until its end. Exit 0 once both are done. With
--udp it stops once every datagram had a reply.
Faults: a reset connection ("connection reset by peer (ECONNRESET)", also when
it came right after the server's last bytes), a server silent after the end of input, or one
that stops reading: one line on stderr, exit 1. Memory stays bounded against
a server that floods without reading (each direction waits for the other end).

${exitCodesHelp({ failures: 'a runtime failure (connection refused, reset or timed out, stdout full, ...)' })}`;

async function main(): Promise<void> {
  const args = parseCli({
    name: NAME,
    help: HELP,
    maxPositionals: 2,
    options: {
      udp: { type: 'boolean' },
      unix: { type: 'string' },
      hex: { type: 'boolean' },
      timeout: { type: 'string' },
    },
  });
  if (!args) return;
  const flags = args.values;
  const { host, port } = parseHostPort(args.positionals, { host: '127.0.0.1', port: 8001 });
  const timeoutSeconds = parseNumber(flags.timeout ?? '10', '--timeout', { min: 0.001, max: 86400 });
  if (flags.unix !== undefined) {
    if (flags.udp) throw new UsageError('--unix and --udp cannot be combined (Unix datagram sockets are not supported)');
    if (args.positionals.length > 0) throw new UsageError('--unix PATH replaces HOST and PORT; give one or the other');
    if (flags.unix === '') throw new UsageError('--unix "": expected a socket path');
  }
  const interactive = process.stdin.isTTY === true;
  const io = { input: process.stdin, output: process.stdout, hex: flags.hex };

  if (flags.udp) {
    const { socket, endpoint } = await connectDatagram(host, port);
    if (interactive) note(`sending to ${endpoint} (udp); one datagram per line, Ctrl-D to finish`);
    const result = await relayDatagrams(socket, { ...io, lines: interactive, timeoutSeconds });
    const unanswered = checkDatagramOutcome(result, endpoint, timeoutSeconds);
    if (unanswered) note(unanswered);
  } else {
    const socket = await connectStream({ host, port, path: flags.unix, timeoutSeconds });
    const peer = flags.unix ?? formatEndpoint(socket.remoteAddress ?? host, socket.remotePort ?? port);
    if (interactive) {
      const from = flags.unix ? '' : ` from ${formatEndpoint(socket.localAddress ?? '?', socket.localPort ?? 0)}`;
      note(`connected to ${peer} (${flags.unix ? 'unix' : 'tcp'})${from}; Ctrl-D ends input, Ctrl-C quits`);
    }
    const result = await relayStream(socket, { ...io, hexFlushEachChunk: interactive, stallSeconds: timeoutSeconds, untilBothEnd: true });
    checkStreamOutcome(result, peer, timeoutSeconds);
    if (interactive) note(`connection closed by ${peer}`);
  }
}

function note(line: string): void {
  process.stderr.write(line + '\n');
}

await runMain(NAME, async () => {
  try {
    await main();
  } finally {
    process.stdin.destroy(); // nothing more to read; do not hold the process open
  }
});
