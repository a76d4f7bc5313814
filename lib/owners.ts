// Which process holds a socket: the kernel's socket tables carry only an
// inode, so walk /proc/[pid]/fd and read each link (`socket:[12345]`), the
// way netstat -p and ss -p do. Processes that exit during the walk, or whose
// fd directory we may not read (another user's, without root), are skipped
// quietly: their sockets simply have no owner in the result.
import fs from 'node:fs';

/** The process holding a socket, as `netstat -p` shows it (`1234/node`). */
export interface Owner {
  pid: number;
  /** The process name from /proc/PID/comm (at most 15 characters, like netstat). */
  program: string;
}

/**
 * Maps socket inodes to the first process found holding them. Stops as soon
 * as every wanted inode is found, so a narrow query (`--port 8001`) usually
 * reads only a few processes. Inode 0 (no descriptor) is never looked up.
 * @example findOwners([12345]) // Map { 12345 => { pid: 4242, program: 'node' } }
 */
export function findOwners(inodes: Iterable<number>, procRoot = '/proc'): Map<number, Owner> {
  const wanted = new Set<number>();
  for (const inode of inodes) if (inode > 0) wanted.add(inode);
  const owners = new Map<number, Owner>();
  if (wanted.size === 0) return owners;
  for (const pid of listPids(procRoot)) {
    const found = socketInodesOf(pid, procRoot, wanted);
    if (found.length === 0) continue;
    const program = readComm(pid, procRoot);
    for (const inode of found) {
      owners.set(inode, { pid, program });
      wanted.delete(inode);
    }
    if (wanted.size === 0) break;
  }
  return owners;
}

/** Numeric entries of /proc (processes, not threads), ascending. */
export function listPids(procRoot = '/proc'): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(procRoot);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const name of names) {
    const code = name.charCodeAt(0);
    if (code >= 48 && code <= 57) {
      const pid = Number(name);
      if (Number.isInteger(pid)) pids.push(pid);
    }
  }
  return pids.sort((a, b) => a - b);
}

const SOCKET_PREFIX = 'socket:[';

// The wanted socket inodes among one process's descriptors (removed from nothing).
function socketInodesOf(pid: number, procRoot: string, wanted: Set<number>): number[] {
  const dir = `${procRoot}/${pid}/fd`;
  let fds: string[];
  try {
    fds = fs.readdirSync(dir);
  } catch {
    return []; // gone, or not ours to read
  }
  const found: number[] = [];
  for (const fd of fds) {
    let link: string;
    try {
      link = fs.readlinkSync(`${dir}/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if (!link.startsWith(SOCKET_PREFIX)) continue;
    const inode = Number(link.slice(SOCKET_PREFIX.length, -1));
    if (wanted.has(inode)) {
      found.push(inode);
      if (found.length === wanted.size) break;
    }
  }
  return found;
}

function readComm(pid: number, procRoot: string): string {
  try {
    return fs.readFileSync(`${procRoot}/${pid}/comm`, 'utf8').trimEnd();
  } catch {
    return '?';
  }
}
