// lib/kernel/rowcache.ts and lib/kernel/fdindex.ts, socket-view's two caches:
// rows of unchanged lines come back as the same objects and equal a fresh
// parse whatever changed (a timer, a row gone, a row new, the sl: numbers
// shifted); the descriptor index finds the same owners as a full walk while
// reading only the links it has not seen.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { RowCache } from '../lib/kernel/rowcache.ts';
import { FdIndex } from '../lib/kernel/fdindex.ts';
import { findAllOwners } from '../lib/kernel/owners.ts';
import { parseInetTable } from '../lib/kernel/procnet.ts';
import { readSockets, type SocketRow } from '../lib/kernel/table.ts';
import { diffSnapshots } from '../lib/kernel/diff.ts';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
// One line per port: a socket of 127.0.0.1:8001 <-> 127.0.0.1:PORT, TIME_WAIT (timer `when`) or ESTABLISHED.
const line = (port: number, when = 0) =>
  `0100007F:1F41 0100007F:${port.toString(16).toUpperCase().padStart(4, '0')} ${when ? '06' : '01'} 00000000:00000000 ${when ? '03' : '00'}:${when.toString(16).toUpperCase().padStart(8, '0')} 00000000     0        0 ${when ? 0 : 5000 + port} 1 0000000000000000 20 4 30 10 -1`;
const table = (lines: string[]) => [HEADER, ...lines.map((text, i) => `${String(i).padStart(4)}: ${text}`)].join('\n') + '\n';

test('RowCache: the same bytes give the same array; changed tables equal a fresh parse and keep unchanged rows as the same objects', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rowcache-'));
  const file = path.join(dir, 'tcp');
  try {
    const cache = new RowCache();
    const ports = Array.from({ length: 40 }, (_, i) => 40000 + i);
    fs.writeFileSync(file, table(ports.map((p) => line(p, p % 7 === 0 ? 3000 : 0))));
    const first = cache.read(file, 'tcp')!;
    assert.is(first.same, false);
    assert.equal(first.rows, parseInetTable(fs.readFileSync(file), 'tcp'));
    const again = cache.read(file, 'tcp')!;
    assert.is(again.same, true);
    assert.is(again.rows, first.rows);

    // Timers tick, two rows go, three come (one at the front: every sl: number shifts).
    const next = [39000, ...ports.filter((p) => p !== 40005 && p !== 40020), 41000, 41001];
    fs.writeFileSync(file, table(next.map((p) => line(p, p % 7 === 0 ? 2900 : 0))));
    const second = cache.read(file, 'tcp')!;
    assert.is(second.same, false);
    assert.equal(second.rows, parseInetTable(fs.readFileSync(file), 'tcp'));
    const before = new Map(first.rows.map((row) => [row.remotePort, row]));
    for (const row of second.rows) {
      const old = before.get(row.remotePort!);
      const unchanged = old !== undefined && row.remotePort! % 7 !== 0;
      assert.is(row === old, unchanged, `port ${row.remotePort}: reused ${row === old}, unchanged ${unchanged}`);
    }
    fs.rmSync(file);
    assert.is(cache.read(file, 'tcp'), null);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('diffSnapshots: rows shared by identity (as the sampler reuses them) give the events copies give', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const states = ['ESTABLISHED', 'TIME_WAIT', 'SYN_RECV', 'CLOSE_WAIT', 'FIN_WAIT2'];
  const make = (port: number): SocketRow => ({
    ...parseInetTable(table([line(port)]), 'tcp')[0],
    state: states[Math.floor(random() * states.length)],
    inode: random() < 0.3 ? 0 : 9000 + port,
  });
  const copy = (rows: SocketRow[]) => rows.map((row) => ({ ...row }));
  const listener = { ...make(1), localPort: 8001, remotePort: 0, remoteAddress: '0.0.0.0', state: 'LISTEN' };
  let before: SocketRow[] = [listener, ...Array.from({ length: 300 }, (_, i) => make(30000 + i))];
  for (let round = 0; round < 20; round++) {
    const after: SocketRow[] = [];
    for (const row of before) {
      const r = random();
      if (r < 0.05) continue; // gone
      if (r < 0.1) after.push({ ...row, state: states[Math.floor(random() * states.length)] }); // changed
      else if (r < 0.13) after.push({ ...row, inode: row.inode || 12345 }); // accepted
      else after.push(row); // the same object
      if (random() < 0.03) after.push(make(40000 + Math.floor(random() * 20000))); // new
    }
    if (random() < 0.5) after.reverse(); // identity far from its place
    const shared = diffSnapshots(before, after, round).map((e) => e.text).sort();
    const copied = diffSnapshots(copy(before), copy(after), round).map((e) => e.text).sort();
    assert.equal(shared, copied, `round ${round}`);
    before = after;
  }
});

test('FdIndex: the owners a full walk finds, reading far fewer links the second time', async () => {
  if (!fs.existsSync('/proc/self/fd')) return;
  const server = net.createServer((socket) => socket.on('error', () => {}));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const sockets: net.Socket[] = [];
  try {
    const port = (server.address() as net.AddressInfo).port;
    const inodes = () => readSockets({ tcp: true, udp: true, unix: true });
    const index = new FdIndex('/proc');
    const listener = inodes().find((row) => row.localPort === port && row.state === 'LISTEN')!;
    const live = () => new Set(inodes().map((row) => row.inode).filter((inode) => inode > 0));
    const first = index.find(new Set([listener.inode]), live());
    assert.equal(first.get(listener.inode)?.map((o) => o.pid), findAllOwners([listener.inode]).get(listener.inode)?.map((o) => o.pid));
    assert.ok(first.get(listener.inode)!.some((o) => o.pid === process.pid));
    const fullWalk = index.linksRead;

    for (let i = 0; i < 3; i++) {
      const socket = net.connect(port, '127.0.0.1');
      await once(socket, 'connect');
      sockets.push(socket);
    }
    const mine = new Set(sockets.map((s) => s.localPort));
    const fresh = inodes().filter((row) => row.remotePort === port && mine.has(row.localPort!)).map((row) => row.inode);
    assert.is(fresh.length, 3);
    const second = index.find(new Set(fresh), live());
    for (const inode of fresh) assert.equal(second.get(inode)?.map((o) => o.pid), [process.pid]);
    assert.ok(index.linksRead < fullWalk, `second walk read ${index.linksRead} links, the first ${fullWalk}`);
    // Without trusting the descriptor counts (the retry), the same owners.
    const retry = index.find(new Set(fresh), live(), false);
    for (const inode of fresh) assert.equal(retry.get(inode)?.map((o) => o.pid), [process.pid]);
  } finally {
    for (const socket of sockets) socket.destroy();
    server.close();
  }
});

test.run();
