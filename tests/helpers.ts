// Test helpers: run the real scripts as processes, wait for what they print
// (never sleep), and always stop them. Every wait has a deadline so a hang
// fails fast instead of hanging CI.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import net from 'node:net';
import type { Test } from 'uvu';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_DEADLINE_MS = 5000;

/** Rejects with a message naming `what` if `promise` takes longer than `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`deadline: ${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running script: its output so far, waits on that output, and its exit. */
export class ScriptProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  stdoutBytes: Buffer[] = [];
  readonly exited: Promise<Exit>;
  private waiters: Array<() => void> = [];

  constructor(child: ChildProcess) {
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => {
      this.stdoutBytes.push(chunk);
      this.stdout += chunk.toString('utf8');
      this.wake();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
      this.wake();
    });
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.wake();
        resolve({ code, signal });
      });
    });
    running.add(this);
    this.exited.then(() => running.delete(this));
  }

  get pid(): number {
    return this.child.pid!;
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Waits until `test` holds for the output so far (re-checked on every chunk). */
  async waitFor<T>(
    test: () => T | undefined | null | false,
    what: string,
    ms = DEFAULT_DEADLINE_MS,
  ): Promise<T> {
    let exited = false;
    this.exited.then(() => (exited = true));
    const poll = async (): Promise<T> => {
      for (;;) {
        const result = test();
        if (result) return result;
        if (exited || this.child.exitCode !== null) {
          throw new Error(`process exited before ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
        }
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
    };
    return withDeadline(poll(), ms, `${what}\nstdout: ${this.stdout.slice(-2000)}\nstderr: ${this.stderr.slice(-2000)}`);
  }

  /** Waits for a line on stderr matching `pattern` and returns the match. */
  waitForStderr(pattern: RegExp, ms = DEFAULT_DEADLINE_MS): Promise<RegExpMatchArray> {
    return this.waitFor(() => this.stderr.match(pattern), `stderr to match ${pattern}`, ms);
  }

  /** Waits for stdout to match `pattern`. */
  waitForStdout(pattern: RegExp, ms = DEFAULT_DEADLINE_MS): Promise<RegExpMatchArray> {
    return this.waitFor(() => this.stdout.match(pattern), `stdout to match ${pattern}`, ms);
  }

  /** Waits for the `listening on HOST:PORT (tcp|udp)` / `PATH (unix)` line. */
  async listening(ms = 15000): Promise<{ host: string; port: number; path: string; transport: string }> {
    const match = await this.waitForStderr(/listening on (.+) \((tcp|udp|unix)\)\n/, ms);
    const endpoint = match[1];
    if (match[2] === 'unix') return { host: '', port: 0, path: endpoint, transport: 'unix' };
    const split = /^\[?([^\]]*)\]?:(\d+)$/.exec(endpoint)!;
    return { host: split[1], port: Number(split[2]), path: '', transport: match[2] };
  }

  /** Sends a signal and waits (with a deadline) for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = DEFAULT_DEADLINE_MS): Promise<Exit> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return withDeadline(this.exited, ms, `exit after ${signal}`);
  }

  /** Waits for the process to exit on its own. */
  wait(ms = DEFAULT_DEADLINE_MS): Promise<Exit> {
    return withDeadline(this.exited, ms, 'process exit');
  }
}

const running = new Set<ScriptProcess>();
// Whatever a failed test left behind does not outlive the test file.
process.on('exit', () => {
  for (const proc of running) proc.child.kill('SIGKILL');
});

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Keep stdin open as a pipe (default: stdin is /dev/null). */
  stdin?: 'pipe' | 'ignore';
}

/**
 * Starts `scripts/NAME.ts` under `node --import tsx` (one process, so signals
 * reach the script itself, unlike `npx tsx`). With SOCKET_LAB_RUNTIME=deno or
 * =bun in the environment it starts it under that runtime instead, so a
 * script's own test file can be run against Deno or Bun by hand.
 */
export function startScript(name: string, args: string[] = [], options: StartOptions = {}): ScriptProcess {
  const other = process.env.SOCKET_LAB_RUNTIME;
  if (other === 'deno' || other === 'bun') {
    const runtime = findRuntime(other);
    if ('skip' in runtime) throw new Error(`SOCKET_LAB_RUNTIME=${other}: ${runtime.skip}`);
    return startScriptOn(runtime, name, args, options);
  }
  return startCommand(process.execPath, ['--import', 'tsx', `${ROOT}scripts/${name}.ts`, ...args], options);
}

/** Starts any command with the same output capture and cleanup. */
export function startCommand(command: string, args: string[], options: StartOptions = {}): ScriptProcess {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...options.env },
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  return new ScriptProcess(child);
}

export interface RunResult extends Exit {
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

/** Runs a script to completion with optional stdin; kills it at the deadline. */
export async function runScript(
  name: string,
  args: string[] = [],
  options: StartOptions & { input?: string | Buffer; deadlineMs?: number } = {},
): Promise<RunResult> {
  const proc = startScript(name, args, { ...options, stdin: options.input === undefined ? 'ignore' : 'pipe' });
  return finish(proc, options);
}

/** Runs any command to completion, like runScript. */
export async function runCommand(
  command: string,
  args: string[],
  options: StartOptions & { input?: string | Buffer; deadlineMs?: number } = {},
): Promise<RunResult> {
  const proc = startCommand(command, args, { ...options, stdin: options.input === undefined ? 'ignore' : 'pipe' });
  return finish(proc, options);
}

async function finish(
  proc: ScriptProcess,
  options: { input?: string | Buffer; deadlineMs?: number },
): Promise<RunResult> {
  if (options.input !== undefined) {
    proc.child.stdin!.on('error', () => {}); // the script may exit before reading it all
    proc.child.stdin!.end(options.input);
  }
  try {
    const exit = await withDeadline(proc.exited, options.deadlineMs ?? 15000, 'script run');
    return { ...exit, stdout: proc.stdout, stderr: proc.stderr, stdoutBytes: Buffer.concat(proc.stdoutBytes) };
  } finally {
    proc.child.kill('SIGKILL');
  }
}

/** Asserts-friendly check: stderr holds no JavaScript stack trace. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+[:(].*\d+:\d+\)?$/m.test(text) || /node:internal/.test(text);
}

/** Connects a TCP client with a deadline. */
export async function connect(port: number, host = '127.0.0.1', ms = DEFAULT_DEADLINE_MS): Promise<net.Socket> {
  const socket = net.connect({ port, host });
  await withDeadline(once(socket, 'connect'), ms, `connect to ${host}:${port}`);
  return socket;
}

/** A TCP server inside a test on 127.0.0.1, port 0; `handle` gets each connection (errors ignored). */
export async function tinyServer(handle: (socket: net.Socket) => void): Promise<{ port: number; close: () => void }> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    handle(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/** Reads from a socket until `length` bytes arrived (or the deadline passes). */
export async function readBytes(socket: net.Socket, length: number, ms = DEFAULT_DEADLINE_MS): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const done = new Promise<Buffer>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= length) finish();
    };
    const onEnd = () => finish();
    const finish = () => {
      socket.off('data', onData).off('end', onEnd).off('error', reject);
      resolve(Buffer.concat(chunks));
    };
    socket.on('data', onData).on('end', onEnd).on('error', reject);
  });
  return withDeadline(done, ms, `reading ${length} bytes`);
}

/** Reads everything until the peer closes. */
export function readAll(socket: net.Socket, ms = DEFAULT_DEADLINE_MS): Promise<Buffer> {
  return readBytes(socket, Number.POSITIVE_INFINITY, ms);
}

/** A runtime that runs scripts/NAME.ts directly: Deno (`deno run -A`) or Bun. */
export interface Runtime {
  name: 'deno' | 'bun';
  /** The binary: node_modules/.bin/NAME, else NAME on PATH. */
  bin: string;
  /** Arguments before the script path (`run -A` for Deno). */
  prefix: string[];
  /** The version `NAME --version` prints (`2.9.6`). */
  version: string;
}

/**
 * Finds deno or bun (node_modules/.bin first, then PATH) and checks that it
 * runs; returns the reason instead when it cannot, for a visible skip line.
 */
export function findRuntime(name: 'deno' | 'bun'): Runtime | { name: string; skip: string } {
  let found = foundRuntimes.get(name);
  if (!found) foundRuntimes.set(name, (found = probeRuntime(name)));
  return found;
}
const foundRuntimes = new Map<string, Runtime | { name: string; skip: string }>();

function probeRuntime(name: 'deno' | 'bun'): Runtime | { name: string; skip: string } {
  const prefix = name === 'deno' ? ['run', '-A'] : [];
  const tried: string[] = [];
  for (const bin of [`${ROOT}node_modules/.bin/${name}`, name]) {
    const probe = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 15000 });
    if (probe.status === 0) return { name, bin, prefix, version: /\d+\.\d+\.\d+\S*/.exec(probe.stdout)?.[0] ?? '?' };
    tried.push(`${bin}: ${probe.error ? (probe.error as NodeJS.ErrnoException).code : `exit ${probe.status}`}`);
  }
  return { name, skip: `binary not installed or not runnable (${tried.join('; ')})` };
}

/** Starts `scripts/NAME.ts` under Deno or Bun, like startScript does under Node. */
export function startScriptOn(runtime: Runtime, name: string, args: string[] = [], options: StartOptions = {}): ScriptProcess {
  return startCommand(runtime.bin, [...runtime.prefix, `${ROOT}scripts/${name}.ts`, ...args], runtimeOptions(options));
}

/** Runs `scripts/NAME.ts` to completion under Deno or Bun, like runScript. */
export function runScriptOn(
  runtime: Runtime,
  name: string,
  args: string[] = [],
  options: StartOptions & { input?: string | Buffer; deadlineMs?: number } = {},
): Promise<RunResult> {
  return runCommand(runtime.bin, [...runtime.prefix, `${ROOT}scripts/${name}.ts`, ...args], runtimeOptions(options));
}

// No "a new release is available" notes or permission prompts in the output.
function runtimeOptions<O extends StartOptions>(options: O): O {
  return { ...options, env: { DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', ...options.env } };
}

/**
 * mulberry32: a small seeded generator of numbers in [0, 1), so a failing
 * randomized test can be replayed from its printed seed.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The `.ci/run` line that installs each outside tool a test needs. With
 * CI=true a missing tool is a failure naming this line (CI installs it, so a
 * skip there means the test silently did not run); elsewhere it is one SKIP
 * line and uvu counts the test as skipped.
 */
export const CI_INSTALLS: Record<string, string> = {
  chromium: 'install chromium',
  python3: 'install iproute2 python3 bsdextrautils ...',
  ss: 'install iproute2 ...',
  ip: 'install iproute2 ...',
  hexdump: 'install ... bsdextrautils ...',
  unshare: 'install ... util-linux ...',
  setpriv: 'install ... util-linux ...',
  nft: 'install ... nftables ...',
  iptables: 'install ... iptables ...',
  tcpdump: 'install ... tcpdump ...',
  strace: 'install ... strace ...',
  deno: 'npm ci (deno is a dev dependency)',
  bun: 'npm ci (bun is a dev dependency)',
};

type Body = () => void | Promise<void>;
type TestFn = (name: string, body: Body) => void;

/**
 * `test` when `missingReason` is undefined; otherwise a stand-in that skips
 * (locally) or fails (CI=true) each test registered through it.
 */
export function needs(suite: Test, tool: string, missingReason: string | undefined): TestFn {
  if (missingReason === undefined) return suite;
  if (process.env.CI === 'true') {
    const line = CI_INSTALLS[tool] ?? `install ${tool}`;
    return (name) =>
      suite(name, () => {
        throw new Error(`${tool} is missing (${missingReason}); CI must have it: .ci/run line \`${line}\``);
      });
  }
  let said = false;
  return (name, body) => {
    if (!said) console.log(`SKIP ${tool}: ${missingReason}`);
    said = true;
    suite.skip(name, body);
  };
}

/** Why `command` cannot run here (looked up on PATH, /usr/sbin and /sbin), or undefined when it can. */
export function missingCommand(command: string, args: string[] = ['--version']): string | undefined {
  const path = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;
  const probe = spawnSync(command, args, { stdio: 'ignore', env: { ...process.env, PATH: path }, timeout: 15_000 });
  if (probe.error) return `${command} not found on PATH, /usr/sbin or /sbin`;
  return undefined;
}
