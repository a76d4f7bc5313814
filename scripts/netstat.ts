#!/usr/bin/env -S npx tsx
// netstat: the sockets of this machine, read straight from the kernel's
// tables in /proc/net, laid out like `netstat -tunap`, with the owner of each
// socket found through /proc/[pid]/fd. The lesson runs `netstat -apn | grep
// 8001` against a server that listen()s but never accept()s; `--port 8001
// --explain` shows the same rows and says what they mean: the listener's
// accept queue, the server-side ESTABLISHED sockets no process holds yet,
// the clients whose connect() returned anyway.
//
// Mirrors: what netstat(8)/ss(8) read after socket(), bind(), listen(),
// connect() and accept() have run. A listener's Send-Q (its backlog) is not
// in /proc; it comes from `ss` when installed, `-` otherwise.
//
//   npx tsx scripts/netstat.ts --port 8001 --explain
//   npx tsx scripts/netstat.ts --tcp --listening --json
//   npx tsx scripts/netstat.ts --state time-wait --watch 2
import { exitCodesHelp, runMain } from '../lib/cli.ts';
import { Failure } from '../lib/errors.ts';
import { StatisticsDraw, drawTable, readTable, watchHeading } from '../lib/kernel/netstat.ts';
import { defaultProcRoot, hasProcNet } from '../lib/kernel/procfile.ts';
import { ownPids } from '../lib/kernel/self.ts';
import { parseNetstatFlags } from '../lib/netstat-flags.ts';
import { redrawUntilStopped } from '../lib/watch.ts';

const NAME = 'netstat';
const HELP = `Usage: netstat [--port P] [--state S] [--tcp | --udp | --unix] [--listening] [--json] [--watch [SECONDS]] [--explain]
       netstat --statistics [--json] [--watch [SECONDS]]

Lists sockets from /proc/net like \`netstat -tunap\`: TCP and UDP, IPv4 and IPv6,
numeric, with the process that holds each one (\`-\` when none does).

  --port P         only sockets whose local or remote port is P (1-65535)
  --state S        only sockets in state S, as netstat/ss print it (LISTEN,
                   ESTABLISHED or ESTAB, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2,
                   TIME_WAIT, CLOSE, CLOSE_WAIT, LAST_ACK, CLOSING, NEW_SYN_RECV,
                   UNCONN, DISCONNECTING; any case, - or _)
  -t, --tcp, -u, --udp, -x, --unix
                   only these tables (may be combined; default: --tcp --udp)
  -l, --listening  only listeners (and unconnected UDP sockets, as netstat -l)
  -a, -n, -p, -e   netstat's flags for what this one always does (all sockets,
                   numeric, with programs, extended): accepted, change nothing,
                   so the lesson's \`netstat -apn\`, \`-tlnp\`, \`-tunap\` work; short
                   flags group as netstat takes them
  --json           one JSON array of {proto, localAddress, localPort, remoteAddress,
                   remotePort, state, recvQ, sendQ, inode, uid, pid, program,
                   timerSeconds, retransmits}: seconds left on the kernel's timer
                   (SYN-ACK re-send, TIME_WAIT; null: none) and re-sends so far
  --watch [N]      redraw every N seconds (default 1) until Ctrl-C
  --explain        after the table, one sentence for each thing that matters
                   (accept queue, unaccepted sockets, SYN_SENT with the retry
                   schedule of this kernel's settings, SYN_RECV, each closing
                   state and who must act, TIME_WAIT's time left, UDP queues)
  -s, --statistics the kernel's TCP handshake and queue counters (TcpExt in
                   /proc/net/netstat, Tcp in /proc/net/snmp: ListenOverflows,
                   ListenDrops, SyncookiesSent, ActiveOpens, ...), one line of
                   meaning each; counted since boot, for this network namespace;
                   with --watch, the change since the last draw in ( );
                   --json: {"counters": {NAME: N}, "meanings": {NAME: TEXT}}
  -h, --help       this help

netstat's own sockets and those of its tsx launcher (its IPC pipe) are left out.
UDP sockets show UNCONN (unconnected) or ESTABLISHED (after connect()); Unix
sockets LISTEN, ESTABLISHED (connected), SYN_SENT (connecting), UNCONN.
A listener's Send-Q is its backlog, read from \`ss\` (\`-\` without ss).

${exitCodesHelp({ failures: 'a runtime failure (cannot read /proc, stdout full, ...)', extra: ['   (--watch stopped with Ctrl-C or SIGTERM also exits 0)'] })}`;

// `netstat | head` (EPIPE: quietly, 0) and `netstat > /dev/full` (one line,
// exit 1) are runMain's: it guards stdout for every script.
await runMain(NAME, async () => {
  const flags = parseNetstatFlags(NAME, HELP);
  if (!flags) return;
  if (!hasProcNet()) {
    throw new Failure(
      `/proc/net is not available on this platform (${process.platform}); this inspector reads the Linux socket tables; try the system's \`netstat -an\` or \`lsof -i\``,
    );
  }

  const self = ownPids(process.pid, defaultProcRoot());
  const statistics = new StatisticsDraw();
  const write = (text: string) => process.stdout.write(text);
  const show = async () => {
    if (flags.statistics) return write(statistics.draw(flags.json));
    const rows = await readTable(flags.kinds, flags.filter, self);
    drawTable(rows, { ...flags, watching: flags.interval > 0 }, write, (text) => process.stderr.write(text));
  };

  if (!flags.interval) return show();
  await redrawUntilStopped(flags.interval, async (first) => {
    if (!flags.json) write(watchHeading(flags.interval, flags.watchArgs, { first, tty: process.stdout.isTTY === true, now: new Date() }));
    await show();
  });
  process.exitCode = 0;
});
