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
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exitCodesHelp, parseCli, runMain } from '../lib/cli.ts';
import { Failure, UsageError, describeError } from '../lib/errors.ts';
import { siblingCommand } from '../lib/runtime.ts';
import { checkStrace, findExecutable, traceCommand } from '../lib/trace.ts';
import {
  SocketFilter,
  StraceParser,
  describeCall,
  formatSummaryRow,
  summarize,
  type StraceCall,
} from '../lib/kernel/strace.ts';

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

const EPOLL_NOTE =
  'epoll: Node never blocks in accept() or read() as the lesson\'s loop does: every socket is ' +
  'O_NONBLOCK and registered with epoll_ctl, and the one thread sleeps in epoll_wait until some ' +
  'socket is ready, then calls accept4/read until EAGAIN; one loop serves every connection.';

/** Splits argv into syscalls' own flags and the command (at `--` or the first word). */
function splitArgv(argv: string[]): { own: string[]; command: string[] } {
  const own: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return { own, command: argv.slice(i + 1) };
    if (!arg.startsWith('-') || arg === '-') return { own, command: argv.slice(i) };
    own.push(arg);
    if ((arg === '-o' || arg === '--output') && i + 1 < argv.length) own.push(argv[++i]);
  }
  return { own, command: [] };
}

function errnoWords(call: StraceCall): string | undefined {
  if (!call.errno) return undefined;
  const known = describeError({ code: call.errno });
  return known === call.errno ? `${(call.errnoText ?? '').toLowerCase()} (${call.errno})` : known;
}

async function main(): Promise<void> {
  const { own, command } = splitArgv(process.argv.slice(2));
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
  let argvToTrace: string[];
  const self = import.meta.url;
  const ext = self.endsWith('.mjs') ? 'mjs' : 'ts';
  if (/^[a-z][a-z0-9-]*$/.test(first) && fs.existsSync(fileURLToPath(new URL(`${first}.${ext}`, self)))) {
    argvToTrace = [...siblingCommand(first, self), ...rest];
  } else {
    const found = findExecutable(first);
    if (!found) throw new Failure(`command not found: ${first}`);
    argvToTrace = [found, ...rest];
  }

  let out: (text: string) => void = (text) => process.stderr.write(text);
  if (args.values.output !== undefined) {
    let fd: number;
    try {
      fd = fs.openSync(args.values.output, 'w');
    } catch (error) {
      throw new Failure(`-o ${JSON.stringify(args.values.output)}: ${describeError(error)}`);
    }
    out = (text) => fs.writeSync(fd, text);
  }
  const json = args.values.json === true;
  const epoll = args.values.all === true;
  const parser = new StraceParser();
  const filter = new SocketFilter(rest);
  const calls: StraceCall[] = [];
  let mainPid: number | undefined;
  if (!json) {
    out(`syscalls: the socket calls of ${[first, ...rest].join(' ')}\n`);
    if (epoll) out(`${EPOLL_NOTE}\n`);
  }

  const traced = traceCommand(strace, argvToTrace, {
    epoll,
    onLine(line) {
      const call = parser.push(line);
      if (!call) return;
      mainPid ??= call.pid;
      for (const shown of filter.accept(call, { epoll })) {
        calls.push(shown);
        if (json) continue;
        const said = describeCall(shown);
        const who = shown.pid === (traced.tracee() ?? mainPid) ? '' : `[pid ${shown.pid}] `;
        out(`${who}${said.line}${said.lesson ? `    // ${said.lesson}` : ''}\n`);
        for (const detail of said.details) out(`    ${detail}\n`);
      }
    },
  });
  const forward = (signal: NodeJS.Signals) => {
    // A Ctrl-C on a terminal reaches the whole process group, the traced program too.
    if (signal === 'SIGINT' && process.stdin.isTTY) return;
    traced.signal(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await traced.done;
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);

  const summary = summarize(calls);
  if (json) {
    const doc = {
      command: [first, ...rest],
      exitCode: code,
      calls: calls.map((call) => ({
        pid: call.pid,
        name: call.name,
        fd: call.fd?.fd ?? null,
        socket: call.fd?.proto ? { proto: call.fd.proto, local: call.fd.local ?? null, remote: call.fd.remote ?? null } : null,
        args: call.args,
        ...(call.sockaddr ? { sockaddr: call.sockaddr } : {}),
        ...(call.data !== undefined ? { data: call.data, truncated: call.truncated === true } : {}),
        result: call.result,
        ...(call.resultFd?.proto
          ? { newSocket: { fd: call.resultFd.fd, proto: call.resultFd.proto, local: call.resultFd.local ?? null, remote: call.resultFd.remote ?? null } }
          : {}),
        errno: call.errno ?? null,
        error: errnoWords(call) ?? null,
      })),
      summary,
    };
    out(JSON.stringify(doc, null, 2) + '\n');
  } else {
    out(`summary (exit code ${code}):${summary.length === 0 ? ' no socket calls' : ''}\n`);
    for (const row of summary) out(`  ${formatSummaryRow(row)}\n`);
  }
  process.exitCode = code;
}

await runMain(NAME, main);
