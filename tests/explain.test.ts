// lib/kernel/explain.ts and retries.ts: what --explain says for each state,
// table-driven over hand-made rows (the fields /proc/net/tcp gives, timers
// included), with the SYN and SYN-ACK schedules computed from the settings
// (checked against what tcpdump showed on this kernel: 1, 2, 3, 4, 5, 7, 11,
// 19, 35, 68 s, ETIMEDOUT at ~134 s, for tcp_syn_retries 6 and
// tcp_syn_linear_timeouts 4; the timer wheel fires long timers a little late).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { explain, explainRow, type ExplainContext } from '../lib/kernel/explain.ts';
import { readRetrySettings, synAckSchedule, synRetrySchedule } from '../lib/kernel/retries.ts';
import { formatTable } from '../lib/kernel/format.ts';
import type { SocketRow } from '../lib/kernel/procnet.ts';

const HERE: ExplainContext = { retries: { synRetries: 6, synLinearTimeouts: 4, synAckRetries: 5 }, root: true };
const USER: ExplainContext = { ...HERE, root: false };

function row(fields: Partial<SocketRow>): SocketRow {
  return {
    proto: 'tcp', localAddress: '127.0.0.1', localPort: 8001, remoteAddress: '127.0.0.1', remotePort: 40000,
    state: 'ESTABLISHED', recvQ: 0, sendQ: 0, inode: 100, uid: 0, pid: 4242, program: 'node',
    owners: [{ pid: 4242, program: 'node' }], timerSeconds: null, retransmits: 0, ...fields,
  };
}
const noOwner = { pid: null, program: null, owners: [] };

test('SYN schedule from the settings: linear timeouts, then doubling; older kernels; SYN-ACKs', () => {
  const measured = [1, 2, 3, 4, 5, 7, 11, 19, 35, 68]; // tcpdump, this kernel
  const { resends, giveUp } = synRetrySchedule(6, 4);
  assert.equal(resends, [1, 2, 3, 4, 5, 7, 11, 19, 35, 67]);
  assert.is(giveUp, 131);
  // Nominal times are never later than measured, and within the timer wheel's rounding (~12%).
  resends.forEach((at, i) => assert.ok(at <= measured[i] && measured[i] <= at * 1.13 + 0.2, `${at} vs ${measured[i]}`));
  assert.ok(giveUp <= 134 && 134 <= giveUp * 1.13);
  assert.equal(synRetrySchedule(6, 0), { resends: [1, 3, 7, 15, 31, 63], giveUp: 127 });
  assert.equal(synRetrySchedule(1, 0), { resends: [1], giveUp: 3 });
  assert.is(synRetrySchedule(15, 0).resends.at(-1)! - synRetrySchedule(15, 0).resends.at(-2)!, 120); // TCP_RTO_MAX
  assert.equal(synAckSchedule(5), { resends: [1, 3, 7, 15, 31], giveUp: 63 });
});

test('readRetrySettings: this kernel, a kernel without linear timeouts, no /proc', () => {
  const live = readRetrySettings();
  assert.is(live.synRetries, Number(fs.readFileSync('/proc/sys/net/ipv4/tcp_syn_retries', 'utf8')));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'retries-'));
  try {
    fs.mkdirSync(path.join(root, 'sys/net/ipv4'), { recursive: true });
    fs.writeFileSync(path.join(root, 'sys/net/ipv4/tcp_syn_retries'), '3\n');
    assert.equal(readRetrySettings(root), { synRetries: 3, synLinearTimeouts: 0, synAckRetries: 5 });
    assert.equal(readRetrySettings(path.join(root, 'missing')), { synRetries: 6, synLinearTimeouts: 0, synAckRetries: 5 });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('SYN_SENT: the schedule the settings give, never 1, 3, 7 from memory', () => {
  const text = explainRow(row({ state: 'SYN_SENT', localPort: 40000, remotePort: 8001, retransmits: 3, timerSeconds: 1 }), HERE);
  assert.match(text, /at about 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s, then connect\(\) fails with ETIMEDOUT at about 131 s \(tcp_syn_retries 6, tcp_syn_linear_timeouts 4\)/);
  assert.match(text, /re-sent 3 times so far, next in 1 s/);
  const table = explain([row({ state: 'SYN_SENT' })], HERE).join('\n');
  assert.not.match(table, /1, 3, 7/);
  assert.match(table, /1, 2, 3, 4, 5, 7, 11/);
  assert.match(explain([row({ state: 'SYN_SENT' })], { ...HERE, retries: { synRetries: 6, synLinearTimeouts: 0, synAckRetries: 5 } }).join(), /1, 3, 7, 15, 31, 63 s/);
});

test('SYN_RECV: half-open, waiting for the client\'s ACK, SYN-ACKs re-sent and the next one', () => {
  const text = explainRow(row({ state: 'SYN_RECV', inode: 0, ...noOwner, retransmits: 2, timerSeconds: 3.9 }), HERE);
  assert.match(text, /half-open/);
  assert.match(text, /waits for the client's ACK/);
  assert.match(text, /SYN-ACK re-sent 2 times, next in 3\.9 s/);
  assert.match(text, /at about 1, 3, 7, 15, 31 s, and drops the request at about 63 s/);
  assert.match(explain([row({ state: 'SYN_RECV', inode: 0, ...noOwner, retransmits: 1, timerSeconds: 2 })], HERE).join(), /next in 2 s/);
});

test('the close: each state says which side waits and for what', () => {
  const cases: Array<[Partial<SocketRow>, RegExp, RegExp?]> = [
    [{ state: 'FIN_WAIT1' }, /this side closed .* sent its FIN; it waits for the peer to ACK it/],
    [{ state: 'FIN_WAIT2', timerSeconds: 59.7 }, /FIN was ACKed; it waits only for the peer's FIN/, /ACK or FIN/],
    [{ state: 'FIN_WAIT2', inode: 0, ...noOwner, timerSeconds: 40 }, /no process holds it any more, so the kernel gives up after tcp_fin_timeout \(40 s left\)/],
    [{ state: 'CLOSE_WAIT' }, /the peer closed .*; 4242\/node must call close\(\)/],
    [{ state: 'CLOSE_WAIT', inode: 0, ...noOwner }, /with no process: the client closed before any process accept\(\)ed/, /local process/],
    [{ state: 'LAST_ACK', inode: 0, ...noOwner }, /peer closed first, then this side .* waits for the peer's ACK of that FIN/],
    [{ state: 'CLOSING' }, /both sides sent a FIN at the same time; this side waits for the ACK of its FIN, then goes to TIME_WAIT/],
    [{ state: 'TIME_WAIT', inode: 0, ...noOwner, timerSeconds: 55.4 }, /TIME_WAIT: this side closed first; the kernel keeps the four-tuple 55\.4 s left \(60 s in all/],
  ];
  for (const [fields, yes, no] of cases) {
    const text = explainRow(row(fields), HERE);
    assert.match(text, yes, text);
    if (no) assert.not.match(text, no, text);
    // The table's sentences say the same for these states.
    if (fields.state !== 'TIME_WAIT') assert.ok(explain([row(fields)], HERE).includes(text), fields.state);
  }
  assert.match(explain([row({ state: 'TIME_WAIT', inode: 0, ...noOwner, timerSeconds: 60 })], HERE).join(), /closed first .*\(2 x MSL; 60 s left\)/);
});

test('UDP: a Recv-Q of 832 for one datagram is memory, not "nothing to explain"', () => {
  const udp = row({ proto: 'udp', state: 'UNCONN', remoteAddress: '0.0.0.0', remotePort: 0, recvQ: 832, sendQ: 0 });
  const sentences = explain([udp], HERE);
  assert.not.match(sentences.join(), /Nothing to explain/);
  assert.match(sentences.join(), /Recv-Q 832 is receive-buffer memory/);
  assert.match(explain([], HERE).join(), /Nothing to explain/);
});

test('a listener with an unknown owner: not inspectable for a user, no process found for root', () => {
  const listener = row({ state: 'LISTEN', remoteAddress: '0.0.0.0', remotePort: 0, recvQ: 0, sendQ: 511, ...noOwner });
  assert.match(explain([listener], USER).join(), /held by a process this user may not inspect/);
  assert.not.match(explain([listener], USER).join(), /held by no process/);
  assert.match(explainRow(listener, USER), /held by a process this user may not inspect/);
  assert.match(explainRow(listener, HERE), /held by no process visible here/);
});

test('a socket shared by forked processes names every pid, in the table too', () => {
  const owners = [{ pid: 4242, program: 'node' }, { pid: 4250, program: 'node' }];
  const listener = row({ state: 'LISTEN', remoteAddress: '0.0.0.0', remotePort: 0, sendQ: 511, owners });
  assert.match(explain([listener], HERE).join(), /held by 4242\/node,4250\/node/);
  assert.match(formatTable([listener]), /LISTEN\s+4242\/node,4250\/node\n/);
  assert.match(explainRow(row({ state: 'CLOSE_WAIT', owners })), /4242\/node,4250\/node must call close\(\)/);
});

test('the lesson\'s listener that never accepts keeps its sentences', () => {
  const listener = row({ state: 'LISTEN', remoteAddress: '0.0.0.0', remotePort: 0, recvQ: 2, sendQ: 1 });
  const queued = [40001, 40002].map((port) => row({ remotePort: port, inode: 0, ...noOwner, recvQ: 5 }));
  const clients = [40001, 40002].map((port) => row({ localPort: port, remotePort: 8001, pid: 77, program: 'python3', owners: [{ pid: 77, program: 'python3' }] }));
  const text = explain([listener, ...queued, ...clients], HERE).join('\n');
  assert.match(text, /2 connections finished the handshake and wait in the accept queue of 127\.0\.0\.1:8001; no process has accept\(\)ed them/);
  assert.match(text, /The accept queue of 127\.0\.0\.1:8001 is full/);
  assert.match(text, /2 server-side ESTABLISHED sockets have no process/);
  assert.match(text, /2 clients are ESTABLISHED .* connect\(\) returned when the handshake finished/);
  assert.match(explainRow(queued[0], HERE), /holds it in the accept queue/);
});

test.run();
