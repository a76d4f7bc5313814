#!/usr/bin/env -S npx tsx
// syscalls: the lesson's C calls, made by our TypeScript scripts. Runs a
// sibling script (`echo-server`, run the way this script runs) or any command
// under `strace -f` and prints each call it makes on its own sockets, one
// line each as a C programmer reads it, with the lesson's call beside it:
// socket(), bind() with the struct sockaddr_in bytes, listen(fd, 511),
// accept4() with the client's four-tuple, read()/write() with the data,
// recvfrom()/sendto() for UDP, shutdown(), close(), and the setsockopt()s
// Node adds (SO_REUSEADDR, TCP_NODELAY).
//
// Mirrors: `strace -f -e trace=network,read,write ./server` on the lesson's
// C server, filtered to the sockets of the traced program (not the runtime's
// plumbing: see lib/kernel/strace.ts for the rule).
//
//   npx tsx scripts/syscalls.ts -- echo-server --port 0 --quiet
//   npx tsx scripts/syscalls.ts --all -o /tmp/trace.txt -- client 127.0.0.1 8001
//   npx tsx scripts/syscalls.ts --json -- echo-server --udp --port 0
import { exitCodesHelp, parseCli, runMain } from '../lib/cli.ts';
import { UsageError } from '../lib/errors.ts';
import { EPOLL_NOTE, callText, summaryText, traceDocument } from '../lib/kernel/strace-report.ts';
import { checkStrace, commandToTrace, forwardSignals, splitCommandLine, traceOutput, traceSockets } from '../lib/trace.ts';

const NAME = 'syscalls';
const HELP = `Usage: syscalls [--all] [--json] [-o FILE] [--] SCRIPT|COMMAND [ARGS...]

Runs SCRIPT (a sibling script such as echo-server or client, run the way
syscalls runs) or COMMAND under strace -f and prints the socket calls it
makes, one line each, as a C programmer reads them, with the lesson's call
beside it: socket, bind (the struct sockaddr_in and its 16 bytes), listen,
accept4 (the client's four-tuple), connect, getsockname/getpeername,
read/write/writev with the data, recvfrom/recvmsg/sendto/sendmsg for UDP,
shutdown, close, setsockopt. Only the program's own sockets: IPv4 and IPv6
sockets, and Unix sockets bound or connected to a path in its arguments
(not the runtime's plumbing such as tsx's IPC socket).

The traced program keeps stdin, stdout and stderr; the trace goes to stderr.
At its exit a summary (accept4 ×3, read ×12, 1,204 bytes); the exit code is
the traced program's. SIGTERM to syscalls is passed on to the traced program;
so is SIGINT unless stdin is a terminal (there Ctrl-C already reaches it).

Options:
  --all          also the event loop: epoll_ctl/epoll_wait on those sockets
  --json         the trace as one JSON document at the end (calls, summary)
  -o, --output FILE  write the trace to FILE instead of stderr
  -h, --help     show this help

Needs strace (Debian package strace) and ptrace (CAP_SYS_PTRACE in a container).

${exitCodesHelp({ failures: 'strace missing, ptrace refused or COMMAND not found' })}
  Otherwise the traced program's exit code (128+N when signal N killed it).`;

async function main(): Promise<void> {
  const { own, command } = splitCommandLine(process.argv.slice(2));
  const args = parseCli({
    name: NAME,
    help: HELP,
    options: {
      all: { type: 'boolean' },
      json: { type: 'boolean' },
      output: { type: 'string', short: 'o' },
    },
  }, own);
  if (!args) return;
  if (command.length === 0) throw new UsageError('no command to trace: syscalls [--] SCRIPT|COMMAND [ARGS...] (see --help)');
  const [first, ...rest] = command;
  if (first === NAME) throw new UsageError('syscalls cannot trace itself (strace cannot trace a tracer)');

  // strace first: where it is missing nothing is looked up or run.
  const strace = checkStrace();
  const argvToTrace = commandToTrace(command, import.meta.url);
  const out = traceOutput(args.values.output);
  const json = args.values.json === true;
  const epoll = args.values.all === true;
  if (!json) {
    out(`syscalls: the socket calls of ${command.join(' ')}\n`);
    if (epoll) out(`${EPOLL_NOTE}\n`);
  }

  const traced = traceSockets(strace, argvToTrace, {
    epoll,
    programArgs: rest,
    onCall(call, fromMain) {
      if (!json) out(callText(call, fromMain));
    },
  });
  const stopForwarding = forwardSignals(traced);
  const code = await traced.done;
  stopForwarding();
  out(json ? traceDocument(command, code, traced.calls) : summaryText(code, traced.calls));
  process.exitCode = code;
}

await runMain(NAME, main);
