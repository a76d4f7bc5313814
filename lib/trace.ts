// Runs a command under `strace -f -qq -yy -s 64` and hands each complete
// trace line to a callback as strace writes it: the traced program keeps this
// process's stdin, stdout and stderr; strace writes to a temporary file that
// is followed (read every 50 ms, and to the end once strace exits). Also the
// refusals before anything runs: strace not installed, ptrace refused, the
// command not found, each a Failure (one line, exit 1). On top of it, what a
// tracer's command line needs: its own flags split from the command, a
// sibling script run the way this one runs, the calls on the program's own
// sockets handed over one by one, signals passed on, the -o file.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Failure, describeError } from './errors.ts';
import { EPOLL_CALLS, SOCKET_CALLS, SocketFilter, StraceParser, type StraceCall } from './kernel/strace.ts';
import { findExecutable, siblingCommand } from './runtime.ts';

/** Checks strace is there and may trace; returns its path. Throws a Failure otherwise. */
export function checkStrace(): string {
  const strace = findExecutable('strace');
  if (!strace) throw new Failure('strace not found on PATH: install strace (Debian package strace)');
  // strace tracing its own `-V` (no calls shown): fails at once where ptrace is refused.
  const probe = spawnSync(strace, ['-qq', '-e', 'trace=none', '--', strace, '-V'], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 10000,
  });
  if (probe.status !== 0) {
    const said = (probe.stderr ?? '').split('\n').find((l) => l.startsWith('strace:')) ?? `exit ${probe.status}`;
    if (/ptrace|Operation not permitted|EPERM/i.test(said)) {
      throw new Failure(`ptrace refused (${said.replace(/^strace:\s*/, '')}): strace needs CAP_SYS_PTRACE (a container started without it, or kernel.yama.ptrace_scope)`);
    }
    throw new Failure(`strace does not run here: ${said}`);
  }
  return strace;
}

export interface TraceOptions {
  /** Also trace epoll_ctl/epoll_wait. */
  epoll?: boolean;
  /** Called with each line strace writes, in order. */
  onLine: (line: string) => void;
}

export interface Traced {
  /** strace's pid. */
  pid: number;
  /** The traced program's pid, once strace has started it. */
  tracee(): number | undefined;
  /** Sends a signal to the traced program (not to strace). */
  signal(signal: NodeJS.Signals): boolean;
  /** Resolves with the traced program's exit code (128+N for signal N), all lines delivered. */
  done: Promise<number>;
}

/** Starts `command` under strace (see checkStrace and findExecutable first). */
export function traceCommand(strace: string, command: string[], options: TraceOptions): Traced {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syscalls-'));
  const file = path.join(dir, 'trace');
  fs.writeFileSync(file, '');
  const calls = [...SOCKET_CALLS, ...(options.epoll ? EPOLL_CALLS : [])].join(',');
  const child = spawn(strace, ['-f', '-qq', '-yy', '-s', '64', '-e', `trace=${calls}`, '-o', file, '--', ...command], {
    stdio: 'inherit',
  });
  const fd = fs.openSync(file, 'r');
  let position = 0;
  let rest = '';
  const buffer = Buffer.alloc(1 << 16);
  const drain = () => {
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, position);
      if (n <= 0) break;
      position += n;
      rest += buffer.toString('utf8', 0, n);
      let nl;
      while ((nl = rest.indexOf('\n')) !== -1) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        options.onLine(line);
      }
    }
  };
  const timer = setInterval(drain, 50);
  let traceePid: number | undefined;
  const tracee = () => {
    if (traceePid === undefined && child.pid !== undefined) {
      try {
        const children = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/);
        if (children[0]) traceePid = Number(children[0]);
      } catch {
        // strace gone or not started yet
      }
    }
    return traceePid;
  };
  const done = new Promise<number>((resolve, reject) => {
    child.on('error', (error) => {
      clearInterval(timer);
      reject(new Failure(`cannot start strace: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearInterval(timer);
      drain();
      if (rest !== '') options.onLine(rest);
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
      resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0));
    });
  });
  return {
    pid: child.pid ?? 0,
    tracee,
    signal(signal) {
      const pid = tracee();
      if (pid === undefined) return false;
      try {
        process.kill(pid, signal);
        return true;
      } catch {
        return false;
      }
    },
    done,
  };
}

/**
 * Splits a tracer's argv into its own flags and the command: at `--`, or at
 * the first word that is not a flag (`valued` flags take the next word).
 * @example splitCommandLine(['--json', 'client', '-v']) // { own: ['--json'], command: ['client', '-v'] }
 */
export function splitCommandLine(argv: string[], valued = ['-o', '--output']): { own: string[]; command: string[] } {
  const own: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return { own, command: argv.slice(i + 1) };
    if (!arg.startsWith('-') || arg === '-') return { own, command: argv.slice(i) };
    own.push(arg);
    if (valued.includes(arg) && i + 1 < argv.length) own.push(argv[++i]);
  }
  return { own, command: [] };
}

/**
 * The argv to trace: a sibling script of `fromUrl` (`echo-server`), run the
 * way this script runs, or an executable on PATH; a Failure when neither.
 */
export function commandToTrace(command: string[], fromUrl: string): string[] {
  const [first, ...rest] = command;
  const ext = fromUrl.endsWith('.mjs') ? 'mjs' : 'ts';
  if (/^[a-z][a-z0-9-]*$/.test(first) && fs.existsSync(fileURLToPath(new URL(`${first}.${ext}`, fromUrl)))) {
    return [...siblingCommand(first, fromUrl), ...rest];
  }
  const found = findExecutable(first);
  if (!found) throw new Failure(`command not found: ${first}`);
  return [found, ...rest];
}

/** Where the trace goes: stderr, or FILE (`-o FILE`, opened now: a Failure naming it when it cannot be). */
export function traceOutput(file: string | undefined): (text: string) => void {
  if (file === undefined) return (text) => process.stderr.write(text);
  let fd: number;
  try {
    fd = fs.openSync(file, 'w');
  } catch (error) {
    throw new Failure(`-o ${JSON.stringify(file)}: ${describeError(error)}`);
  }
  return (text) => fs.writeSync(fd, text);
}

export interface SocketTrace extends Traced {
  /** Every call shown so far, in order. */
  calls: StraceCall[];
}

/**
 * Traces `command` and hands over each call on the program's own sockets
 * (lib/kernel/strace.ts's rule; `programArgs` name its Unix socket paths),
 * with whether the traced program itself made it (not a child or thread).
 */
export function traceSockets(
  strace: string,
  command: string[],
  options: { epoll: boolean; programArgs: string[]; onCall: (call: StraceCall, fromMain: boolean) => void },
): SocketTrace {
  const parser = new StraceParser();
  const filter = new SocketFilter(options.programArgs);
  const calls: StraceCall[] = [];
  let mainPid: number | undefined;
  const traced = traceCommand(strace, command, {
    epoll: options.epoll,
    onLine(line) {
      const call = parser.push(line);
      if (!call) return;
      mainPid ??= call.pid;
      for (const shown of filter.accept(call, { epoll: options.epoll })) {
        calls.push(shown);
        options.onCall(shown, shown.pid === (traced.tracee() ?? mainPid));
      }
    },
  });
  return { ...traced, calls };
}

/**
 * Passes SIGTERM, and SIGINT unless stdin is a terminal, on to the traced
 * program until it exits; returns the function that stops passing them.
 */
export function forwardSignals(traced: Traced): () => void {
  const forward = (signal: NodeJS.Signals) => {
    // A Ctrl-C on a terminal reaches the whole process group, the traced program too.
    if (signal === 'SIGINT' && process.stdin.isTTY) return;
    traced.signal(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return () => {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  };
}
