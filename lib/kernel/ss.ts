// A listener's backlog, which /proc does not carry: `ss -tlnHe` (iproute2,
// reading netlink) prints it as the Send-Q of each LISTEN row. Run with
// execFile (no shell, no zx), started early so the caller can walk /proc
// while it runs; without ss the Send-Q stays null (`-`).
import { execFile } from 'node:child_process';
import type { SocketRow } from './procnet.ts';

/**
 * Parses `ss -tlnHe` output into inode -> backlog (the Send-Q of a listener).
 * @example parseSsBacklogs('LISTEN 0 4 127.0.0.1:8001 0.0.0.0:* ino:123 sk:1 <->') // Map { 123 => 4 }
 */
export function parseSsBacklogs(text: string): Map<number, number> {
  const backlogs = new Map<number, number>();
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] !== 'LISTEN' || fields.length < 6) continue;
    const ino = fields.find((field) => field.startsWith('ino:'));
    const backlog = Number(fields[2]);
    if (ino && Number.isInteger(backlog)) backlogs.set(Number(ino.slice(4)), backlog);
  }
  return backlogs;
}

/**
 * Fills the Send-Q of the TCP listeners among `rows` with their backlog, in
 * two steps so the caller can work while `ss` runs: `ss` is started at once
 * (only when a listener is shown) and `done` resolves when it has answered
 * and the rows are filled, to false when `ss` is missing or failed.
 * @example const backlogs = startBacklogs(rows); attachOwners(rows); await backlogs.done;
 */
export function startBacklogs(rows: SocketRow[]): { done: Promise<boolean> } {
  const listeners = rows.filter((row) => row.state === 'LISTEN' && row.proto !== 'unix' && row.inode > 0);
  if (listeners.length === 0) return { done: Promise.resolve(true) };
  const done = new Promise<boolean>((resolve) => {
    // Any failure (ENOENT: no ss; a non-zero exit) leaves the Send-Q unknown.
    execFile('ss', ['-tlnHe'], { maxBuffer: 1 << 28 }, (error, stdout) => {
      if (error) return resolve(false);
      const backlogs = parseSsBacklogs(stdout);
      for (const row of listeners) row.sendQ = backlogs.get(row.inode) ?? null;
      resolve(true);
    });
  });
  return { done };
}
