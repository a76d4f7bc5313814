// Which JavaScript runtime runs this script (Node, Deno or Bun), and the one
// line a script prints where that runtime lacks something it needs. The
// scripts are single files that run unchanged under `npx tsx`, `node`
// (>= 22.18, type stripping), `deno run -A` and `bun`; where a runtime
// differs in a way a script cannot paper over, the script says so through
// `unsupported()` (a Failure: one line, exit 1) instead of showing wrong
// figures or a stack trace. Also where this system keeps an executable.
import fs from 'node:fs';
import path from 'node:path';
import { isTsxCli, processInfo } from './kernel/self.ts';
import { fileURLToPath } from 'node:url';
import { Failure } from './errors.ts';

export type RuntimeName = 'node' | 'deno' | 'bun';

/**
 * The runtime executing this code. Deno and Bun both provide `process`
 * (node compatibility), so they are told apart by their own globals first.
 * @example runtimeName() // 'deno' under `deno run -A scripts/endian.ts`
 */
export function runtimeName(): RuntimeName {
  if (typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined') return 'deno';
  if (typeof process !== 'undefined' && process.versions?.bun) return 'bun';
  return 'node';
}

/**
 * The runtime's name and version as a person would write it.
 * @example runtimeLabel() // 'Bun 1.4.5'
 */
export function runtimeLabel(): string {
  const name = runtimeName();
  if (name === 'deno') {
    const version = (globalThis as { Deno?: { version?: { deno?: string } } }).Deno?.version?.deno;
    return `Deno ${version ?? process.versions.deno ?? '?'}`;
  }
  if (name === 'bun') return `Bun ${process.versions.bun}`;
  return `Node ${process.versions.node}`;
}

const HOW_TO_RUN: Record<RuntimeName, string> = {
  node: 'npx tsx (or node >= 22.18)',
  deno: 'deno run -A',
  bun: 'bun',
};

/**
 * The error a script throws (inside runMain) when this runtime cannot do what
 * it needs: one line naming the runtime, the reason and the runtimes that
 * can, exit code 1.
 * @example
 * if (runtimeName() === 'bun') throw unsupported("Bun's listen() ignores the backlog");
 * // listen-only: error: not supported on Bun 1.4.5: Bun's listen() ignores the backlog;
 * //   run it with npx tsx (or node >= 22.18) or deno run -A
 */
export function unsupported(why: string): Failure {
  const others = (Object.keys(HOW_TO_RUN) as RuntimeName[])
    .filter((name) => name !== runtimeName())
    .map((name) => HOW_TO_RUN[name]);
  return new Failure(`not supported on ${runtimeLabel()}: ${why}; run it with ${others.join(' or ')}`);
}

/**
 * The command that runs a sibling script the way this one runs: the bundle
 * `NAME.mjs` beside a bundle, `deno run -A NAME.ts` under Deno, `bun
 * NAME.ts` under Bun, node with this process's loader flags (tsx), or
 * plain `node NAME.ts` where Node strips types itself (>= 22.18).
 * @example siblingCommand('listen-only', import.meta.url) // [node, '--import', 'tsx', '/…/scripts/listen-only.ts']
 */
export function siblingCommand(name: string, fromUrl: string): string[] {
  const bundled = fromUrl.endsWith('.mjs');
  const file = fileURLToPath(new URL(`${name}.${bundled ? 'mjs' : 'ts'}`, fromUrl));
  if (bundled) return [process.execPath, file];
  const runtime = runtimeName();
  if (runtime === 'deno') return [process.execPath, 'run', '-A', file];
  if (runtime === 'bun') return [process.execPath, file];
  if (process.execArgv.some((arg) => arg.includes('tsx'))) return [process.execPath, ...process.execArgv, file];
  // Node >= 22.18 strips the types itself (`node scripts/X.ts`, nothing installed).
  const strips = (process.features as { typescript?: string | false }).typescript;
  return strips ? [process.execPath, file] : [process.execPath, '--import', 'tsx', file];
}

/**
 * The launchers between the user and this process: `npm exec`/`npm start`
 * (what `npx` and the shebang's `env -S npx tsx` become), the `sh -c` npm
 * runs, and tsx's own parent node. A signal sent to the pid the shell shows
 * (`kill $!`) reaches the outermost of them, not this script; npm then exits
 * and leaves the script orphaned. Walks up from the parent while the
 * process looks like a launcher; empty when started directly. Also the pid
 * in $SOCKET_LAB_EXIT_WITH, set by a tool that starts another beside it.
 * @example launcherPids() // [11281, 11280, 11268] under `npx tsx scripts/listen-only.ts`
 */
export function launcherPids(): number[] {
  const pids: number[] = [];
  let pid = process.ppid;
  while (pid > 1 && pids.length < 8) {
    let info: ReturnType<typeof processInfo>;
    try {
      info = processInfo(pid); // null: not Linux, or the parent is already gone
    } catch {
      break; // /proc unreadable (out of descriptors): no launcher known, none watched
    }
    if (!info || !isLauncher(info.argv)) break;
    pids.push(pid);
    pid = info.ppid;
  }
  // A tool started by another one (a tour's socket-view) goes when it goes,
  // even when it was killed and could not stop its children.
  const exitWith = Number(process.env[EXIT_WITH_ENV]);
  if (Number.isInteger(exitWith) && exitWith > 1 && !pids.includes(exitWith)) pids.push(exitWith);
  return pids;
}

/** The variable naming a pid whose exit stops this process too (see launcherPids). */
export const EXIT_WITH_ENV = 'SOCKET_LAB_EXIT_WITH';

function isLauncher(args: string[]): boolean {
  if (args.length === 0) return false;
  if (/^npm (exec|start|run|run-script|x|test)\b/.test(args[0])) return true; // npm's process title
  if (isTsxCli(args) || args.some((arg) => /(^|\/)(npx|npm)$|\/(npx|npm)-cli\.js$/.test(arg))) return true;
  const shell = /(^|\/)(sh|dash|bash)$/.test(args[0]) && args[1] === '-c';
  return shell && /\b(tsx|npm|npx)\b/.test(args.slice(2).join(' '));
}

/**
 * Calls `onGone` once when any launcher above this process exits (the user
 * killed the pid their shell printed, or closed what started it), so a
 * server never outlives the command the user ran and keeps its port. Polls
 * every 250 ms without keeping the process alive. Pass the pids read at
 * startup: by the time a server is ready the chain may already be broken
 * (npm killed, tsx reparented). Returns a stop function.
 */
export function watchLaunchers(onGone: () => void, pids: number[] = launcherPids()): () => void {
  if (pids.length === 0) return () => {};
  const startPpid = process.ppid;
  const timer = setInterval(() => {
    const gone = process.ppid !== startPpid || pids.some((pid) => !alive(pid));
    if (!gone) return;
    clearInterval(timer);
    onGone();
  }, 250);
  timer.unref();
  return () => clearInterval(timer);
}

// /proc rather than kill(pid, 0): the same under Node, Deno and Bun, and a
// launcher that exited but is not reaped yet (a zombie) counts as gone.
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (error) {
    // Only a missing /proc entry means gone: out of descriptors (EMFILE) is
    // no news about the launcher, and must not stop a server at its limit.
    const code = (error as { code?: string }).code;
    return code !== 'ENOENT' && code !== 'ESRCH';
  }
}

/**
 * An executable named `name` on PATH (or `name` itself when it holds a
 * slash), or null.
 * @example findExecutable('strace') // '/usr/bin/strace'
 */
export function findExecutable(name: string, searchPath = process.env.PATH ?? ''): string | null {
  const runnable = (file: string) => {
    try {
      const stat = fs.statSync(file);
      if (!stat.isFile()) return false;
      fs.accessSync(file, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (name.includes('/')) return runnable(name) ? name : null;
  if (name === '') return null;
  for (const dir of searchPath.split(':')) {
    const file = path.join(dir || '.', name);
    if (runnable(file)) return file;
  }
  return null;
}
