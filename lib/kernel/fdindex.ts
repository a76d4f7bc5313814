// Owners of new sockets without reading every descriptor again: remembers
// what each /proc/[pid]/fd entry pointed at, so a later walk reads the link
// only of descriptors it has not seen (or whose socket is gone from the
// tables), and skips a process whose descriptor count (the size stat()
// reports for /proc/[pid]/fd, Linux >= 6.2) is unchanged while all its known
// sockets are still listed. At 10,000 connections a walk drops from ~150 ms
// (20,000 readlink calls) to a few ms when nothing new belongs to them.
import fs from 'node:fs';
import { descriptorInode, listPids, readComm, type Owner } from './owners.ts';

// A descriptor that is not a socket; sockets are kept as their inode (> 0).
const NOT_SOCKET = -1;

interface Known {
  fds: Map<string, number>;
  /** Its sockets that were in no table we read when their link was read (netlink, another namespace). */
  unlisted: Set<number>;
  /** stat().size of the fd directory when it was read (0 where the kernel does not count). */
  count: number;
}

const GONE_OR_HIDDEN = new Set(['ENOENT', 'ESRCH', 'EACCES', 'EPERM', 'ENOTDIR']);
const skippable = (error: unknown) => GONE_OR_HIDDEN.has((error as { code?: string }).code ?? '');

export class FdIndex {
  /** Descriptor links read by the last find() (the cost it saves is the ones it did not read). */
  linksRead = 0;
  private known = new Map<number, Known>();
  private readonly procRoot: string;

  constructor(procRoot = '/proc') {
    this.procRoot = procRoot;
  }

  /**
   * Every process holding each of `wanted`, in pid order (as findAllOwners).
   * `live` is every inode in the tables now. With `trustCounts` false every
   * process's directory is listed (the retry for an inode a quicker walk missed).
   */
  find(wanted: Set<number>, live: Set<number>, trustCounts = true): Map<number, Owner[]> {
    const owners = new Map<number, Owner[]>();
    const next = new Map<number, Known>();
    this.linksRead = 0;
    for (const pid of listPids(this.procRoot)) {
      const dir = `${this.procRoot}/${pid}/fd/`;
      const before = this.known.get(pid);
      let owner: Owner | null = null;
      const holds = (inode: number) => {
        if (!wanted.has(inode)) return;
        owner ??= { pid, program: readComm(pid, this.procRoot) };
        const list = owners.get(inode);
        if (!list) owners.set(inode, [owner]);
        else if (list[list.length - 1] !== owner) list.push(owner);
      };
      let count: number;
      try {
        count = fs.statSync(dir).size;
      } catch (error) {
        if (skippable(error)) continue; // gone, or not ours to read
        throw error;
      }
      if (trustCounts && before && count > 0 && count === before.count && unchanged(before, live)) {
        for (const inode of before.fds.values()) if (inode > 0) holds(inode);
        next.set(pid, before);
        continue;
      }
      let names: string[];
      try {
        names = fs.readdirSync(dir);
      } catch (error) {
        if (skippable(error)) continue;
        throw error;
      }
      const fds = new Map<string, number>();
      const unlisted = new Set<number>();
      for (const fd of names) {
        const was = before?.fds.get(fd);
        // A socket still listed is taken to be still at that descriptor: no readlink.
        let inode = was !== undefined && was > 0 && live.has(was) ? was : 0;
        if (inode === 0) {
          const read = descriptorInode(dir, fd);
          if (read === null) continue; // closed meanwhile
          this.linksRead++;
          inode = read;
          if (inode <= 0) inode = NOT_SOCKET;
          else if (!live.has(inode)) unlisted.add(inode);
        }
        if (inode > 0) holds(inode);
        fds.set(fd, inode);
      }
      next.set(pid, { fds, unlisted, count });
    }
    this.known = next;
    return owners;
  }
}

// A process's descriptors are taken as unchanged (same count) when every
// socket it held is still listed, or was in no table already.
function unchanged(known: Known, live: Set<number>): boolean {
  for (const inode of known.fds.values()) if (inode > 0 && !live.has(inode) && !known.unlisted.has(inode)) return false;
  return true;
}
