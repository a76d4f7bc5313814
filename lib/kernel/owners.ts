// Which process holds a socket: the kernel's socket tables carry only an
// inode, so walk /proc/[pid]/fd and read each link (`socket:[12345]`), the
// way netstat -p and ss -p do. Processes that exit during the walk, or whose
// fd directory we may not read (another user's, without root), are skipped
// quietly: their sockets simply have no owner in the result. Other errors
// (EMFILE) are thrown: an owner-less table would be a lie.
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
 *
 * The cost is one readlink() per descriptor of every process read (the
 * kernel's work, ~5 µs each here): 20,000 sockets are ~100-150 ms. Async
 * readlink on libuv's pool and worker threads were measured and were slower
 * (per-call overhead; a worker costs ~80 ms of CPU to start).
 * @example findOwners([12345]) // Map { 12345 => { pid: 4242, program: 'node' } }
 */
export function findOwners(inodes: Iterable<number>, procRoot = '/proc'): Map<number, Owner> {
  const wanted = new Set<number>();
  for (const inode of inodes) if (inode > 0) wanted.add(inode);
  const owners = new Map<number, Owner>();
  if (wanted.size === 0) return owners;
  for (const pid of listPids(procRoot)) {
    const found = socketInodesOf(`${procRoot}/${pid}/fd/`, wanted);
    if (found.length === 0) continue;
    const owner = { pid, program: readComm(pid, procRoot) };
    for (const inode of found) {
      owners.set(inode, owner);
      wanted.delete(inode);
    }
    if (wanted.size === 0) break;
  }
  return owners;
}

/**
 * Maps socket inodes to every process holding them, in pid order, as `ss -p`
 * lists them: a socket inherited across fork() (a pre-forked server, a child
 * that has not exec()ed yet) has several. Walks every process.
 * @example findAllOwners([12345]) // Map { 12345 => [{ pid: 4242, program: 'node' }, { pid: 4250, program: 'node' }] }
 */
export function findAllOwners(inodes: Iterable<number>, procRoot = '/proc'): Map<number, Owner[]> {
  const wanted = new Set<number>();
  for (const inode of inodes) if (inode > 0) wanted.add(inode);
  const owners = new Map<number, Owner[]>();
  if (wanted.size === 0) return owners;
  for (const pid of listPids(procRoot)) {
    const found = socketInodesOf(`${procRoot}/${pid}/fd/`, wanted, false);
    if (found.length === 0) continue;
    const owner = { pid, program: readComm(pid, procRoot) };
    for (const inode of new Set(found)) {
      const list = owners.get(inode);
      if (list) list.push(owner);
      else owners.set(inode, [owner]);
    }
  }
  return owners;
}

// The errors that mean "this process or descriptor is gone, or not ours to
// read": skipped. Anything else (EMFILE, ENFILE, EIO) is thrown.
const GONE_OR_HIDDEN = new Set(['ENOENT', 'ESRCH', 'EACCES', 'EPERM', 'ENOTDIR']);
function skippable(error: unknown): boolean {
  return GONE_OR_HIDDEN.has((error as { code?: string }).code ?? '');
}

/** Numeric entries of /proc (processes, not threads), ascending. */
export function listPids(procRoot = '/proc'): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(procRoot);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return [];
    throw error;
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

/**
 * The socket inode a descriptor's link names, or -1: `socket:[12345]` ->
 * 12345. Read from character codes; other links (`/dev/null`, `pipe:[5]`)
 * fail at the first character or two.
 * @example socketInode('socket:[12345]') // 12345
 */
export function socketInode(link: string): number {
  const last = link.length - 1;
  if (last <= SOCKET_PREFIX.length || link.charCodeAt(last) !== 93 /* ] */ || !link.startsWith(SOCKET_PREFIX)) return -1;
  let inode = 0;
  for (let i = SOCKET_PREFIX.length; i < last; i++) {
    const digit = link.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    inode = inode * 10 + digit;
  }
  return inode;
}

const SOCKET_PREFIX = 'socket:[';

/**
 * The socket inode descriptor `fd` of `dir` (`/proc/PID/fd/`) points at, as
 * socketInode reads its link, or null when it was closed meanwhile.
 */
export function descriptorInode(dir: string, fd: string): number | null {
  let link: string;
  try {
    link = fs.readlinkSync(dir + fd);
  } catch (error) {
    if (skippable(error)) return null;
    throw error;
  }
  return socketInode(link);
}

// The wanted socket inodes among the descriptors in `dir` (ending in `/`);
// with `stopWhenAll`, stops once as many were found as are wanted.
function socketInodesOf(dir: string, wanted: Set<number>, stopWhenAll = true): number[] {
  let fds: string[];
  try {
    fds = fs.readdirSync(dir);
  } catch (error) {
    if (skippable(error)) return []; // gone, or not ours to read
    throw error;
  }
  const found: number[] = [];
  for (const fd of fds) {
    const inode = descriptorInode(dir, fd);
    if (inode === null) continue; // closed meanwhile
    if (inode > 0 && wanted.has(inode)) {
      found.push(inode);
      if (stopWhenAll && found.length === wanted.size) break;
    }
  }
  return found;
}

/** The program name of `pid` (/proc/PID/comm), or `?` when it is gone. */
export function readComm(pid: number, procRoot: string): string {
  try {
    return fs.readFileSync(`${procRoot}/${pid}/comm`, 'utf8').trimEnd();
  } catch {
    return '?';
  }
}
