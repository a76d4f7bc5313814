// The processes that are the inspector itself: this process and the
// launcher right above it (the `tsx` CLI, which holds an IPC Unix socket to
// its child, /tmp/tsx-UID/PID.pipe). Their sockets are the tool's own
// plumbing, not the lesson's: netstat leaves them out, as netstat(8) run
// from C would have none.
import fs from 'node:fs';
import type { SocketRow } from './procnet.ts';

/** The parent pid and argv of a process from /proc, or null when it is gone. */
export function processInfo(pid: number, procRoot = '/proc'): { ppid: number; argv: string[] } | null {
  try {
    const stat = fs.readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const argv = fs.readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { ppid, argv };
  } catch (error) {
    if (['ENOENT', 'ESRCH', 'EACCES'].includes((error as { code?: string }).code ?? '')) return null;
    throw error;
  }
}

// The tsx CLI: `node .../node_modules/.bin/tsx SCRIPT` or `.../tsx/dist/cli.mjs`.
// `node --import tsx FILE` is not: there tsx is a loader of this very process
// (a test runner that starts netstat, say), and its sockets are somebody else's.
export const isTsxCli = (argv: string[]) =>
  argv
    .slice(0, 3)
    .some((arg, i, args) => !/^--(?:import|loader|require)$/.test(args[i - 1] ?? '') && /(?:^|\/)tsx$|\/tsx\/dist\/cli\.[cm]?js$/.test(arg));

/**
 * This process and the tsx launchers directly above it (not further: a
 * test runner or shell above them is somebody else).
 * @example ownPids() // Set { 3442, 3401 } under `npx tsx`, Set { 3442 } under node --import tsx
 */
export function ownPids(pid = process.pid, procRoot = '/proc'): Set<number> {
  const pids = new Set([pid]);
  let info = processInfo(pid, procRoot);
  while (info && info.ppid > 1) {
    const parent = processInfo(info.ppid, procRoot);
    if (!parent || !isTsxCli(parent.argv)) break;
    pids.add(info.ppid);
    info = parent;
  }
  return pids;
}

/**
 * The rows not held only by `pids` (rows with no owner stay).
 * @example withoutOwn(rows, ownPids())
 */
export function withoutOwn(rows: SocketRow[], pids: Set<number>): SocketRow[] {
  return rows.filter((row) => row.owners.length === 0 || row.owners.some((owner) => !pids.has(owner.pid)));
}
