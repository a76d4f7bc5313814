#!/usr/bin/env -S npx tsx
// talk-server: the lesson's two-terminal server. It accepts a client, prints
// what the client sends and sends what you type:
//
//   lfd = socket(AF_INET, SOCK_STREAM, 0); bind(lfd, INADDR_ANY:8001); listen(lfd, 64);
//   cfd = accept(lfd, &cliAddr, &len);
//   while (1) { n = read(cfd, buf, ...);          write(STDOUT_FILENO, buf, n);
//               n = read(STDIN_FILENO, buf1, ...); write(cfd, buf1, n); }
//
// Full duplex, unlike the lesson's loop: that loop alternates strictly, so
// after each line from the client the server must type exactly one reply
// before it can see the client's next line, and a client that says two
// things in a row, or a server that speaks first, leaves both sides stuck
// in read(). Here the terminal and the socket are watched at once (what
// select()/poll() do in C), so either side may talk whenever it likes.
//
// One client at a time: a client that connects while another talks is
// accepted but not read; it waits (up to 64, the lesson's backlog; later
// ones are closed at once) and gets its turn when the current one leaves.
// A client leaves by closing its sending side (Ctrl-D in client.ts) or the
// connection. At the end of stdin the server shuts down its sending side
// (FIN) for the current client and every later one, but still prints what
// they send.
//
//   npx tsx scripts/talk-server.ts              # terminal 1: listens on 127.0.0.1:8001
//   npx tsx scripts/client.ts                   # terminal 2: type in either one
//   npx tsx scripts/talk-server.ts --once --port 0
import { exitCodesHelp, parseCli, runMain } from '../lib/cli.ts';
import { onShutdown } from '../lib/net.ts';
import { MAX_WAITING, TalkServer } from '../lib/serve/talk.ts';
import { plural, summaryLine } from '../lib/serve/summary.ts';
import { aclHelp } from '../lib/serve/acl.ts';
import { LISTEN_OPTIONS, UNIX_OPTION, parseListenFlags, listenAsFlagsSay, listenHelp, unixHelp } from '../lib/serve/listen-flags.ts';

const NAME = 'talk-server';
const HELP = `Usage: talk-server [--host HOST] [--port PORT | --unix PATH] [--once] [--hex] [--allow CIDR] [--deny CIDR]

Talks with one client at a time: prints what it sends, sends what you type.

${listenHelp(8001, 18)}
${unixHelp(18)}
  --once          exit after the first client leaves
  --hex           print what the client sends as a hex dump (hexdump -C)
${aclHelp(18)}
                  (TCP only: Unix socket peers have no address)
  -h, --help      show this help

When ready it prints "listening on HOST:PORT (tcp)" or "listening on PATH
(unix)" on stderr, then "open SRC -> DST" when a client's turn begins,
"wait SRC -> DST (...)" for a client that must wait, and "close SRC -> DST
(N bytes)" (N = bytes the client sent) when it leaves. A client refused by
--allow/--deny is closed at once and logged as "deny SRC -> DST". Ctrl-C or SIGTERM
closes everything, prints a summary and exits 0.

${exitCodesHelp({ server: true })}`;

async function main(): Promise<void> {
  const args = parseCli({
    name: NAME,
    help: HELP,
    options: {
      ...LISTEN_OPTIONS,
      ...UNIX_OPTION,
      once: { type: 'boolean' },
      hex: { type: 'boolean' },
    },
  });
  if (!args) return;
  const flags = args.values;
  const target = parseListenFlags(flags, 8001);
  const log = (line: string) => process.stderr.write(line + '\n');

  let shutdown: () => Promise<void> = async () => {};
  const talk = new TalkServer({
    input: process.stdin,
    output: process.stdout,
    hex: flags.hex,
    once: flags.once,
    unixPath: flags.unix,
    acl: target.acl,
    log,
    onDone: () => void shutdown(),
  });
  process.stdin.pause(); // read the terminal only while a client is talking
  const unlink = await listenAsFlagsSay(talk.server, target, MAX_WAITING);

  let stopped = false;
  shutdown = async () => {
    if (stopped) return;
    stopped = true;
    await talk.stop();
    unlink();
    const { connections, received, sent, refused, denied } = talk.stats;
    log(summaryLine([plural(connections, 'connection'), `${received} bytes received`, `${sent} bytes sent`], [[refused, 'refused'], [denied, 'denied (--allow/--deny)']]));
    process.stdin.destroy(); // do not wait for more typing
    process.exitCode = 0;
    setTimeout(() => process.exit(0), 2000).unref(); // a stdout nobody reads must not hold the exit
  };
  onShutdown(shutdown);
}

await runMain(NAME, main);
