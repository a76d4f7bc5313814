// One reading of the socket tables shared by every caller: a snapshot is
// read from /proc at most once per interval however many viewers ask, and
// the owners (/proc/[pid]/fd walk) and listener backlogs (ss) are kept per
// inode between readings, looked up again only when a new inode appears.
// A reading whose tables are byte for byte the last one's (and with no owner
// left to retry) is the last snapshot again, same rows array: callers skip
// diffing and sending by identity. Unchanged lines are not parsed again
// (rowcache.ts) and a walk reads only descriptors it has not seen (fdindex.ts).
import { FdIndex } from './fdindex.ts';
import type { Owner } from './owners.ts';
import { parseSsBacklogs } from './ss.ts';
import { execFile } from 'node:child_process';
import { defaultProcRoot } from './procfile.ts';
import type { InetProto, SocketRow } from './procnet.ts';
import { RowCache } from './rowcache.ts';

export interface Snapshot {
  /** ms since the epoch when it was read. */
  time: number;
  rows: SocketRow[];
  /** How many /proc readings this sampler has made so far (this one included). */
  reads: number;
}

export interface SamplerOptions {
  procRoot?: string;
  /** Pids whose sockets are left out (the viewer itself). */
  exclude?: Set<number>;
  /** Whether to ask `ss` for listener backlogs (default true). */
  backlogs?: boolean;
}

// netstat's order, as readSockets reads them.
const TABLES: Array<InetProto | 'unix'> = ['tcp', 'tcp6', 'udp', 'udp6', 'unix'];

/** Readings on which an owner-less inode is looked up again before it is taken as having none. */
const MAX_MISSES = 3;

function runSs(): Promise<Map<number, number> | null> {
  return new Promise((resolve) => {
    execFile('ss', ['-tlnHe'], { maxBuffer: 1 << 28 }, (error, stdout) => resolve(error ? null : parseSsBacklogs(stdout)));
  });
}

/** Reads snapshots with owners and backlogs cached per inode. */
export class Sampler {
  reads = 0;
  /** Full /proc/[pid]/fd walks so far (one per reading with new inodes). */
  ownerWalks = 0;
  private owners = new Map<number, Owner[]>();
  // Inodes whose walk found no owner: looked up again on the next few readings
  // (the walk may have run between a socket's creation and its fd_install()).
  private misses = new Map<number, number>();
  private backlogs = new Map<number, number | null>();
  private last: Snapshot | null = null;
  private pending: Promise<Snapshot> | null = null;
  private readonly tables = new RowCache();
  private lastTables: Array<SocketRow[] | null> = [];
  private readonly fds: FdIndex;
  private readonly procRoot: string;
  private readonly exclude: Set<number>;
  private readonly useSs: boolean;

  constructor(options: SamplerOptions = {}) {
    this.procRoot = options.procRoot ?? defaultProcRoot();
    this.exclude = options.exclude ?? new Set();
    this.useSs = options.backlogs ?? true;
    this.fds = new FdIndex(this.procRoot);
  }

  /** The last snapshot if it is younger than `maxAgeMs`, else a fresh one (concurrent callers share one reading). */
  async get(maxAgeMs: number): Promise<Snapshot> {
    if (this.last && Date.now() - this.last.time < maxAgeMs) return this.last;
    if (!this.pending) {
      this.pending = this.read().finally(() => {
        this.pending = null;
      });
    }
    return this.pending;
  }

  /** One reading of tcp, tcp6, udp, udp6 and unix, with owners and backlogs filled. */
  async read(): Promise<Snapshot> {
    const tables = TABLES.map((proto) => this.tables.read(`${this.procRoot}/net/${proto}`, proto)?.rows ?? null);
    this.reads++;
    const same = this.last !== null && tables.every((rows, i) => rows === this.lastTables[i]);
    this.lastTables = tables;
    if (same && ![...this.misses.values()].some((n) => n < MAX_MISSES)) {
      this.last = { time: Date.now(), rows: this.last!.rows, reads: this.reads };
      return this.last;
    }
    const rows: SocketRow[] = [];
    for (const table of tables) if (table) for (const row of table) rows.push(row);
    const live = new Set<number>();
    const fresh: number[] = [];
    const freshListeners: SocketRow[] = [];
    for (const row of rows) {
      if (row.inode === 0) continue;
      live.add(row.inode);
      const known = this.owners.get(row.inode);
      if (!known || (known.length === 0 && (this.misses.get(row.inode) ?? 0) < MAX_MISSES)) fresh.push(row.inode);
      if (row.state === 'LISTEN' && row.proto !== 'unix' && !this.backlogs.has(row.inode)) freshListeners.push(row);
    }
    const ss = this.useSs && freshListeners.length > 0 ? runSs() : null;
    if (fresh.length > 0) {
      this.ownerWalks++;
      // A retry lists every process's descriptors: the quick walk may have skipped the one holding it.
      const retry = fresh.some((inode) => (this.misses.get(inode) ?? 0) > 0);
      const found = this.fds.find(new Set(fresh), live, !retry && this.procRoot === '/proc');
      for (const inode of fresh) {
        const owners = found.get(inode) ?? [];
        this.owners.set(inode, owners);
        if (owners.length === 0) this.misses.set(inode, (this.misses.get(inode) ?? 0) + 1);
        else this.misses.delete(inode);
      }
    }
    // Forget closed sockets once they are a fair share of the cache, not on every reading (20,000 lookups).
    if (this.owners.size > live.size + (live.size >> 3) + 64) {
      for (const inode of this.owners.keys()) if (!live.has(inode)) this.owners.delete(inode);
    }
    for (const inode of this.backlogs.keys()) if (!live.has(inode)) this.backlogs.delete(inode);
    for (const inode of this.misses.keys()) if (!live.has(inode)) this.misses.delete(inode);
    if (ss) {
      const found = await ss;
      for (const row of freshListeners) this.backlogs.set(row.inode, found?.get(row.inode) ?? null);
    }
    const kept: SocketRow[] = [];
    for (const row of rows) {
      const owners = row.inode === 0 ? undefined : this.owners.get(row.inode);
      if (owners && owners.length > 0) {
        if (this.exclude.size > 0 && owners.every((owner) => this.exclude.has(owner.pid))) continue;
        row.owners = owners;
        row.pid = owners[0].pid;
        row.program = owners[0].program;
      }
      if (row.state === 'LISTEN' && row.proto !== 'unix') row.sendQ = this.backlogs.get(row.inode) ?? null;
      kept.push(row);
    }
    this.last = { time: Date.now(), rows: kept, reads: this.reads };
    return this.last;
  }
}
