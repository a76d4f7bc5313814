// A private network namespace that dies with the script: the script re-runs
// itself under `unshare --net` and everything that needs a firewall rule, a
// sysctl or a capture happens in there, never in the host's namespace (not
// even a read with iptables: on some kernels that creates a legacy table).
//
// The API, small on purpose (syn-queue and close-tour use it):
//   runInPrivateNamespace(name)  outer side: null when already inside; else
//                                re-runs this process under unshare and
//                                resolves with its exit code (130 on Ctrl-C).
//                                Refusals (not Linux, no unshare/ip, user
//                                namespaces refused) are one-line Failures.
//   prepareNamespace()           inside: check only `lo` exists, bring it up.
//   readSysctl / writeSysctl     this namespace's /proc/sys/net values.
//   addDropPureAck(port)         nft `inet` table (iptables as fallback)
//                                dropping the client's final pure ACK; its
//                                counter() and remove().
//   startCapture(filter)         `tcpdump -i lo -l -n` inside; lines as they come.
//   onOuterGone(fn)              inside: fn runs when the outer process is gone.
//   findTool(name)               PATH, then /usr/sbin and /sbin (findExecutable).
//
// Lifetime: unshare runs with --kill-child (the inner process dies with
// unshare), and the outer process hands the inner one a pipe (fd 3): when the
// outer process dies, even by SIGKILL, the pipe ends and the inner process
// cleans up and exits; an anonymous namespace disappears with its last process.
import childProcess, { type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Failure } from './errors.ts';
import { findExecutable, runtimeName } from './runtime.ts';

/** Set in the environment of the process re-run inside the namespace: the outer process's namespace. */
export const INSIDE_ENV = 'SOCKET_LAB_NETNS';

const PACKAGES: Record<string, string> = {
  unshare: 'util-linux',
  ip: 'iproute2',
  nft: 'nftables',
  iptables: 'iptables',
  tcpdump: 'tcpdump',
};

/**
 * The full path of `name` on PATH, /usr/sbin or /sbin (Debian keeps nft,
 * iptables and ip there, off an ordinary user's PATH), or null.
 * @example findTool('nft') // '/usr/sbin/nft'
 */
export function findTool(name: string): string | null {
  return findExecutable(name, [process.env.PATH ?? '', '/usr/sbin', '/sbin'].join(':'));
}

function needTool(name: string): string {
  const file = findTool(name);
  if (!file) throw new Failure(`${name} not found on PATH, /usr/sbin or /sbin: install it (Debian package ${PACKAGES[name] ?? name})`);
  return file;
}

/** This process's network namespace as /proc names it (`net:[4026531840]`), or null. */
function netnsId(): string | null {
  try {
    return fs.readlinkSync('/proc/self/ns/net');
  } catch {
    return null;
  }
}

/**
 * Whether this process is the one re-run inside the private namespace: the
 * marker holds the outer process's namespace, and this one is another (so a
 * marker copied into the host's environment cannot open the host to rules).
 */
export function insidePrivateNamespace(): boolean {
  const outer = process.env[INSIDE_ENV];
  if (!outer) return false;
  const here = netnsId();
  return here !== null && here !== outer;
}

function run(file: string, args: string[], timeoutMs = 5000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    childProcess.execFile(file, args, { timeout: timeoutMs, env: { ...process.env, XTABLES_LOCKFILE: path.join(os.tmpdir(), `xtables-${process.pid}.lock`) } }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 127) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (error && !stderr ? error.message : '')) });
    });
  });
}

/** The first line of a tool's complaint, for a one-line error. */
function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/**
 * Outer side: re-runs this process (same runtime flags, same argv) under
 * `unshare --net`, with INSIDE_ENV set. Returns null when already inside
 * (the caller then does the real work), else the exit code to exit with.
 */
export async function runInPrivateNamespace(name: string): Promise<number | null> {
  if (insidePrivateNamespace()) return null;
  if (process.platform !== 'linux') {
    throw new Failure(`${name} needs Linux (network namespaces and /proc/net); this is ${process.platform}`);
  }
  const unshare = needTool('unshare');
  needTool('ip');
  const root = process.getuid?.() === 0;
  const variants = root
    ? [['--net', '--kill-child']]
    : [['--net', '--map-current-user', '--keep-caps', '--kill-child'], ['--net', '--map-root-user', '--kill-child']];
  // The same runtime, flags and argv: `deno run -A FILE ...` under Deno.
  // Node's flags only where they load tsx (not a harness's `-e CODE`), as siblingCommand does.
  const tsx = process.execArgv.some((arg) => arg.includes('tsx'));
  const runtimeArgs = runtimeName() === 'deno' ? ['run', '-A'] : tsx ? process.execArgv : [];
  const self = [process.execPath, ...runtimeArgs, ...process.argv.slice(1)];
  for (let i = 0; i < variants.length; i++) {
    const result = await runUnder(unshare, [...variants[i], ...self]);
    if (result.started) return result.code;
    const why = firstLine(result.unshareErrors);
    if (i + 1 < variants.length && /unrecognized option|invalid option/.test(why)) continue;
    if (!why) return result.code;
    throw new Failure(
      root
        ? `cannot create a network namespace (${why}): run it where CAP_SYS_ADMIN is allowed (not in a restricted container)`
        : `user namespaces refused for this user (${why}): run it as root, or allow unprivileged user namespaces`,
    );
  }
  return 1;
}

function runUnder(unshare: string, args: string[]): Promise<{ started: boolean; code: number; unshareErrors: string }> {
  return new Promise((resolve) => {
    const child = childProcess.spawn(unshare, args, {
      stdio: ['inherit', 'inherit', 'pipe', 'pipe'],
      env: { ...process.env, [INSIDE_ENV]: netnsId() ?? 'unknown' },
    });
    let started = false;
    let unshareErrors = '';
    const control = child.stdio[3] as net.Socket;
    control.on('data', (chunk: Buffer) => {
      if (String(chunk).includes('started')) started = true;
    });
    control.on('error', () => {});
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = String(chunk);
      if (!started) unshareErrors += text.split('\n').filter((line) => line.startsWith('unshare:')).join('\n');
      if (started || !/^unshare:/m.test(text)) process.stderr.write(chunk);
    });
    // Ctrl-C reaches the whole process group: the inner process handles it.
    const onInt = () => {};
    // SIGTERM to the outer process alone: ending the pipe stops the inner one.
    const onTerm = () => control.destroy();
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.on('close', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      control.destroy();
      const bySignal = signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : signal ? 128 + (os.constants.signals[signal] ?? 0) : null;
      resolve({ started, code: bySignal ?? code ?? 1, unshareErrors });
    });
  });
}

/**
 * Inside: tells the outer process the namespace exists, and calls `gone`
 * once the outer process has ended (its pipe on fd 3 closes), however it ended.
 */
export function onOuterGone(gone: () => void): void {
  let control: net.Socket;
  try {
    control = new net.Socket({ fd: 3, readable: true, writable: true });
  } catch {
    return;
  }
  control.on('error', () => {});
  control.write('started\n');
  control.on('close', gone);
  control.on('end', gone);
  control.resume();
  control.unref();
}

/** Inside: checks the namespace holds only `lo` (a fresh one) and brings it up. */
export async function prepareNamespace(): Promise<void> {
  const ip = needTool('ip');
  const links = await run(ip, ['-o', 'link', 'show']);
  if (links.code !== 0) throw new Failure(`ip link show failed: ${firstLine(links.stderr)}`);
  const names = links.stdout.split('\n').filter(Boolean).map((line) => line.split(':')[1]?.trim().split('@')[0]);
  if (names.length !== 1 || names[0] !== 'lo') {
    throw new Failure(`the namespace is not a fresh one (it has ${names.join(', ')}); refusing to touch it`);
  }
  const up = await run(ip, ['link', 'set', 'lo', 'up']);
  if (up.code !== 0) throw new Failure(`cannot bring lo up in the namespace: ${firstLine(up.stderr)}`);
}

function sysctlFile(name: string): string {
  return `/proc/sys/${name.replaceAll('.', '/')}`;
}

/** Inside: a sysctl of this namespace as a number (`net.ipv4.tcp_syncookies`), or null. */
export function readSysctl(name: string): number | null {
  try {
    const value = Number(fs.readFileSync(sysctlFile(name), 'utf8').trim());
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

/** Inside only: sets this namespace's sysctl (refuses outside the namespace). */
export function writeSysctl(name: string, value: number): void {
  if (!insidePrivateNamespace()) throw new Failure(`refusing to set ${name} outside a private network namespace`);
  try {
    fs.writeFileSync(sysctlFile(name), `${value}\n`);
  } catch (error) {
    throw new Failure(`cannot set ${name} in the namespace: ${(error as Error).message}`);
  }
}

/** A firewall rule in the namespace. */
export interface DropRule {
  /** `nft` or `iptables`: the tool that added it. */
  tool: string;
  /** Packets the rule has dropped so far. */
  counter(): Promise<number>;
  /** Deletes the rule (and its table). */
  remove(): Promise<void>;
}

const TABLE = 'socket_lab';

/**
 * Inside only: drops TCP segments to `port` that carry only the ACK flag
 * (the client's last handshake packet; data, FIN, RST pass). nft `inet`
 * table on the input hook, or iptables inside the namespace.
 */
export async function addDropPureAck(port: number): Promise<DropRule> {
  if (!insidePrivateNamespace()) throw new Failure('refusing to add a firewall rule outside a private network namespace');
  const nft = findTool('nft');
  const iptables = findTool('iptables');
  if (!nft && !iptables) throw new Failure('neither nft nor iptables found on PATH, /usr/sbin or /sbin: install nftables (Debian package nftables)');
  const errors: string[] = [];
  if (nft) {
    const ruleset = `table inet ${TABLE} {\n chain input {\n  type filter hook input priority 0; policy accept;\n  tcp dport ${port} tcp flags & (fin|syn|rst|psh|ack|urg) == ack counter drop\n }\n}\n`;
    const file = path.join(os.tmpdir(), `socket-lab-nft-${process.pid}.nft`);
    fs.writeFileSync(file, ruleset);
    const added = await run(nft, ['-f', file]);
    fs.rmSync(file, { force: true });
    if (added.code === 0) {
      return {
        tool: 'nft',
        async counter() {
          const listed = await run(nft, ['list', 'table', 'inet', TABLE]);
          return Number(/counter packets (\d+)/.exec(listed.stdout)?.[1] ?? 0);
        },
        async remove() {
          await run(nft, ['delete', 'table', 'inet', TABLE]);
        },
      };
    }
    errors.push(`nft: ${firstLine(added.stderr)}`);
  }
  if (iptables) {
    const rule = ['INPUT', '-p', 'tcp', '--dport', String(port), '--tcp-flags', 'FIN,SYN,RST,PSH,ACK,URG', 'ACK', '-j', 'DROP'];
    const added = await run(iptables, ['-w', '-A', ...rule]);
    if (added.code === 0) {
      return {
        tool: 'iptables',
        async counter() {
          const listed = await run(iptables, ['-w', '-L', 'INPUT', '-v', '-n', '-x']);
          const line = listed.stdout.split('\n').find((l) => l.includes(`dpt:${port}`));
          return Number(line?.trim().split(/\s+/)[0] ?? 0);
        },
        async remove() {
          await run(iptables, ['-w', '-D', ...rule]);
        },
      };
    }
    errors.push(`iptables: ${firstLine(added.stderr)}`);
  }
  throw new Failure(`cannot add the firewall rule in the namespace (${errors.join('; ')}): the kernel needs nf_tables (or ip_tables) and must let a namespace load it`);
}

/** A running tcpdump inside the namespace. */
export interface Capture {
  /** Lines seen and not yet taken. */
  take(): string[];
  stop(): Promise<void>;
}

/**
 * Inside: `tcpdump -i lo -l -n` with a filter, ready once it says it listens.
 * Resolves with a reason string where tcpdump is missing or cannot run.
 */
export async function startCapture(filter: string, deadlineMs = 5000): Promise<Capture | string> {
  const tcpdump = findTool('tcpdump');
  if (!tcpdump) return 'tcpdump not found on PATH, /usr/sbin or /sbin (Debian package tcpdump): no capture';
  const args = ['-i', 'lo', '-l', '-n', '-nn', '--immediate-mode', filter];
  // setpriv --pdeathsig: tcpdump dies with this process even if it is SIGKILLed alone
  // (an idle capture would otherwise keep the namespace alive, reparented to init).
  const setpriv = findTool('setpriv');
  const child: ChildProcess = setpriv
    ? childProcess.spawn(setpriv, ['--pdeathsig', 'KILL', '--', tcpdump, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : childProcess.spawn(tcpdump, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (partial + String(chunk)).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  });
  let stderr = '';
  const ready = await new Promise<string | null>((resolve) => {
    const timer = setTimeout(() => resolve(`tcpdump did not start within ${deadlineMs} ms`), deadlineMs);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk;
      if (/listening on/.test(stderr)) {
        clearTimeout(timer);
        resolve(null);
      }
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve(`tcpdump cannot run: ${error.message}`);
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(`tcpdump cannot run: ${firstLine(stderr) || 'it exited'}`);
    });
  });
  if (ready) {
    child.kill('SIGKILL');
    return `${ready}; no capture`;
  }
  return {
    take: () => lines.splice(0),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => {
        const timer = setTimeout(() => (child.kill('SIGKILL'), resolve(null)), 1000);
        child.on('exit', () => (clearTimeout(timer), resolve(null)));
      });
    },
  };
}
