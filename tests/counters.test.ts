// lib/kernel/counters.ts: the TcpExt/Tcp counters parsed from fixtures
// captured on this machine (tests/fixtures/proc-net-{netstat,snmp}.txt),
// deltas, a missing /proc, an error that is not ENOENT, and the live files
// against the kernel's own `nstat` where installed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { COUNTER_MEANINGS, LESSON_COUNTERS, counterDeltas, parseCounters, readCounters } from '../lib/kernel/counters.ts';
import { ROOT } from './helpers.ts';

const fixture = (name: string) => fs.readFileSync(`${ROOT}tests/fixtures/proc-net-${name}.txt`, 'utf8');

test('parseCounters: TcpExt from /proc/net/netstat (IpExt, MPTcpExt left out)', () => {
  const counters = parseCounters(fixture('netstat'));
  assert.is(counters.SyncookiesSent, 0);
  assert.is(counters.TW, 788);
  assert.is(counters.ListenOverflows, 19);
  assert.is(counters.ListenDrops, 19);
  assert.is(counters.TCPReqQFullDrop, 0);
  assert.type(counters.TCPSynRetrans, 'number');
  assert.is(counters.InOctets, undefined); // IpExt
  assert.is(counters.MPCapableSYNRX, undefined); // MPTcpExt
});

test('parseCounters: Tcp from /proc/net/snmp (Ip, Udp left out; MaxConn -1 kept)', () => {
  const counters = parseCounters(fixture('snmp'));
  assert.equal(
    [counters.ActiveOpens, counters.PassiveOpens, counters.AttemptFails, counters.EstabResets, counters.CurrEstab, counters.RetransSegs],
    [1018, 955, 12, 313, 0, 72],
  );
  assert.is(counters.MaxConn, -1);
  assert.is(counters.Forwarding, undefined);
  assert.is(counters.InDatagrams, undefined);
});

test('parseCounters: malformed pairs skipped', () => {
  assert.equal(parseCounters(''), {});
  assert.equal(parseCounters('Tcp: A B\nTcp: 1\n'), {}); // counts differ
  assert.equal(parseCounters('Tcp: A B\nUdp: 1 2\n'), {}); // not a pair
  assert.equal(parseCounters('Tcp: A B\nTcp: 1 x\nTcp: C\nTcp: 3\n'), { A: 1, C: 3 });
});

test('counterDeltas: only what changed, gauges may fall, new counters from 0', () => {
  assert.equal(counterDeltas({ ListenDrops: 3, CurrEstab: 4, TW: 1 }, { ListenDrops: 5, CurrEstab: 2, TW: 1, SyncookiesSent: 2 }), {
    ListenDrops: 2,
    CurrEstab: -2,
    SyncookiesSent: 2,
  });
  assert.equal(counterDeltas({ A: 1 }, { A: 1 }), {});
});

test('every lesson counter is on this kernel and has a meaning', () => {
  const counters = { ...parseCounters(fixture('netstat')), ...parseCounters(fixture('snmp')) };
  for (const name of LESSON_COUNTERS) {
    assert.type(counters[name], 'number', name);
    assert.ok(COUNTER_MEANINGS[name]?.length > 10, name);
  }
});

test('readCounters: live files, a missing /proc, an error that is not ENOENT', () => {
  const live = readCounters();
  assert.type(live.ActiveOpens, 'number');
  assert.type(live.ListenOverflows, 'number');
  assert.equal(readCounters('/nonexistent-proc'), {});
  // A directory where the file should be: EISDIR must reach the caller.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'counters-'));
  try {
    fs.mkdirSync(path.join(dir, 'net/netstat'), { recursive: true });
    assert.throws(() => readCounters(dir), /^cannot read .*\/net\/netstat: .*\(EISDIR\)$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('readCounters: ActiveOpens rises with a connect()', async () => {
  const net = await import('node:net');
  const server = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const before = readCounters();
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve, reject) => {
    const client = net.connect(port, '127.0.0.1', () => client.end());
    client.on('close', () => resolve()).on('error', reject);
  });
  const delta = counterDeltas(before, readCounters());
  server.close();
  assert.ok((delta.ActiveOpens ?? 0) >= 1, JSON.stringify(delta));
  assert.ok((delta.PassiveOpens ?? 0) >= 1, JSON.stringify(delta));
});

test.run();
