// Who holds a local port: the sockets bound to it in /proc/net/{tcp,udp}[6]
// (listeners for TCP) and the processes holding them (lib/kernel/owners.ts),
// for the "already in use, held by 20398/node" of a failed bind(). A holder
// this user may not inspect (another user's process, without root) is not
// listed: the caller then says nothing rather than guess.
import fs from 'node:fs';
import { parseInetTable } from './procnet.ts';
import { findOwners, type Owner } from './owners.ts';

/** The processes holding `port` (TCP: in LISTEN), `pid/program` each, in pid order. */
export function portHolders(port: number, transport: 'tcp' | 'udp', procRoot = '/proc'): Owner[] {
  const inodes: number[] = [];
  for (const proto of transport === 'tcp' ? (['tcp', 'tcp6'] as const) : (['udp', 'udp6'] as const)) {
    let table: string;
    try {
      table = fs.readFileSync(`${procRoot}/net/${proto}`, 'latin1');
    } catch {
      continue; // IPv6 disabled, or no /proc: nothing to tell
    }
    for (const row of parseInetTable(table, proto)) {
      if (row.localPort !== port) continue;
      if (transport === 'tcp' && row.state !== 'LISTEN') continue;
      if (transport === 'udp' && row.remotePort !== 0 && row.remotePort !== null) continue;
      inodes.push(row.inode);
    }
  }
  const byPid = new Map<number, Owner>();
  for (const owner of findOwners(inodes, procRoot).values()) byPid.set(owner.pid, owner);
  return [...byPid.values()].sort((a, b) => a.pid - b.pid);
}
