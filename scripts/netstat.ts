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
import { exitCodesHelp, parseCli, parseNumber, parsePort, runMain } from '../lib/cli.ts';
import { Failure, UsageError } from '../lib/errors.ts';
import { onShutdown } from '../lib/net.ts';
import { COUNTER_MEANINGS, LESSON_COUNTERS, counterDeltas, formatCounters, readCounters, type Counters } from '../lib/kernel/counters.ts';
import { currentContext, explain } from '../lib/kernel/explain.ts';
import { formatTable, writeJson } from '../lib/kernel/format.ts';
import { defaultProcRoot, hasProcNet } from '../lib/kernel/procfile.ts';
import { normalizeState, STATE_NAMES } from '../lib/kernel/procnet.ts';
import { startBacklogs } from '../lib/kernel/ss.ts';
import { ownPids, withoutOwn } from '../lib/kernel/self.ts';
import { attachOwners, filterRows, readSockets } from '../lib/kernel/table.ts';

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

/** `--port P`, 1-65535: port 0 asks bind() for any free port, so no socket has it. */
function parseWantedPort(text: string): number {
  const port = parsePort(text);
  if (port === 0) {
    throw new UsageError('--port 0: no socket has port 0 (bind() to port 0 means "any free port"); give the port to look for, 1-65535');
  }
  return port;
}

/** A `--state` value as netstat or ss print it (`time-wait`, `ESTAB`), or a usage error. */
function parseState(text: string, flag = '--state'): string {
  const name = normalizeState(text);
  if (name === null) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: unknown state; expected one of ${STATE_NAMES.join(', ')}`);
  }
  return name;
}

/**
 * Takes a flag with an optional value out of argv, which util.parseArgs
 * cannot express: `--watch`, `--watch 2`, `--watch=2`. The token after the
 * flag is its value only when it looks like a number.
 */
function takeOptionalValue(argv: string[], flag: string): { present: boolean; value?: string; rest: string[] } {
  const rest: string[] = [];
  let present = false;
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (token === flag) {
      present = true;
      const next = argv[i + 1];
      if (next !== undefined && next !== '' && !next.startsWith('-') && !Number.isNaN(Number(next))) {
        value = next;
        i++;
      }
    } else if (token.startsWith(`${flag}=`)) {
      present = true;
      value = token.slice(flag.length + 1);
    } else rest.push(token);
  }
  return { present, value, rest };
}

// `netstat | head` (EPIPE: quietly, 0) and `netstat > /dev/full` (one line,
// exit 1) are runMain's: it guards stdout for every script.
await runMain(NAME, async () => {
  const watchFlag = takeOptionalValue(process.argv.slice(2), '--watch');
  const args = parseCli(
    {
      name: NAME,
      help: HELP,
      options: {
        port: { type: 'string' },
        state: { type: 'string' },
        tcp: { type: 'boolean', short: 't' },
        udp: { type: 'boolean', short: 'u' },
        unix: { type: 'boolean', short: 'x' },
        listening: { type: 'boolean', short: 'l' },
        // netstat's flags for what this inspector always does: accepted, no change.
        all: { type: 'boolean', short: 'a' },
        numeric: { type: 'boolean', short: 'n' },
        programs: { type: 'boolean', short: 'p' },
        extend: { type: 'boolean', short: 'e' },
        json: { type: 'boolean' },
        explain: { type: 'boolean' },
        statistics: { type: 'boolean', short: 's' },
      },
    },
    watchFlag.rest,
  );
  if (!args) return;
  const { values } = args;
  const filter = {
    port: values.port === undefined ? undefined : parseWantedPort(values.port),
    state: values.state === undefined ? undefined : parseState(values.state),
    listening: values.listening ?? false,
  };
  const only = values.tcp || values.udp || values.unix;
  const kinds = only
    ? { tcp: !!values.tcp, udp: !!values.udp, unix: !!values.unix }
    : { tcp: true, udp: true, unix: false };
  const interval = watchFlag.present
    ? watchFlag.value === undefined
      ? 1
      : parseNumber(watchFlag.value, '--watch', { min: 0.1, max: 86400 })
    : 0;
  if (!hasProcNet()) {
    throw new Failure(
      `/proc/net is not available on this platform (${process.platform}); this inspector reads the Linux socket tables; try the system's \`netstat -an\` or \`lsof -i\``,
    );
  }

  const self = ownPids(process.pid, defaultProcRoot());
  let lastCounters: Counters | undefined;
  const showStatistics = () => {
    const counters = readCounters(defaultProcRoot());
    if (Object.keys(counters).length === 0) throw new Failure('no TCP counters in /proc/net/netstat or /proc/net/snmp');
    const deltas = lastCounters && counterDeltas(lastCounters, counters);
    lastCounters = counters;
    if (values.json) {
      const lesson = Object.fromEntries(LESSON_COUNTERS.filter((name) => name in counters).map((name) => [name, counters[name]]));
      const meanings = Object.fromEntries(Object.keys(lesson).map((name) => [name, COUNTER_MEANINGS[name]]));
      process.stdout.write(JSON.stringify({ counters: lesson, meanings }) + '\n');
      return;
    }
    process.stdout.write('TCP counters since boot (Tcp: /proc/net/snmp, TcpExt: /proc/net/netstat):\n' + formatCounters(counters, deltas));
  };

  const show = async () => {
    if (values.statistics) return showStatistics();
    let rows = filterRows(readSockets(kinds), filter);
    const backlogs = await startBacklogs(rows); // ss runs on its own while we walk /proc
    attachOwners(rows);
    rows = withoutOwn(rows, self); // this process's and its tsx launcher's IPC sockets
    await backlogs.done;
    if (values.json) {
      if (interval) process.stdout.write(JSON.stringify(rows) + '\n');
      else writeJson(rows, (chunk) => process.stdout.write(chunk));
      if (values.explain) process.stderr.write(explain(rows, currentContext(defaultProcRoot())).join('\n') + '\n');
      return;
    }
    let text = formatTable(rows);
    if (values.explain) text += '\n' + explain(rows, currentContext(defaultProcRoot())).join('\n') + '\n';
    process.stdout.write(text);
  };

  if (!interval) return show();

  let stopped = false;
  let wake = () => {};
  onShutdown(() => {
    stopped = true;
    wake();
  });
  const clear = process.stdout.isTTY ? '\x1b[H\x1b[2J' : '';
  let first = true;
  while (!stopped) {
    if (!values.json) {
      const time = new Date().toTimeString().slice(0, 8);
      process.stdout.write(`${clear}${first || clear ? '' : '\n'}Every ${interval} s: netstat ${watchFlag.rest.join(' ')}  ${time}\n\n`);
    }
    first = false;
    await show();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, interval * 1000);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  process.exitCode = 0;
});
