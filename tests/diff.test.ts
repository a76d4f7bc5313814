// lib/kernel/diff.ts: table tests, (before, after) snapshots in, timeline
// sentences out, one row per change the page draws.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { diffSnapshots } from '../lib/kernel/diff.ts';
import type { SocketRow } from '../lib/kernel/procnet.ts';

function row(state: string, local: number, remote: number | null, extra: Partial<SocketRow> = {}): SocketRow {
  return {
    proto: 'tcp',
    localAddress: '127.0.0.1',
    localPort: local,
    remoteAddress: remote === null ? '0.0.0.0' : '127.0.0.1',
    remotePort: remote ?? 0,
    state,
    recvQ: 0,
    sendQ: 0,
    inode: 0,
    uid: 0,
    pid: null,
    program: null,
    owners: [],
    timerSeconds: null,
    retransmits: 0,
    ...extra,
  };
}
const owned = (pid: number, program: string) => ({ inode: pid * 10, pid, program, owners: [{ pid, program }] });
const listener = row('LISTEN', 8001, null, owned(1234, 'node'));

const CASES: Array<[name: string, before: SocketRow[], after: SocketRow[], texts: string[]]> = [
  ['nothing changed', [listener], [listener], []],
  ['a listener opens', [], [listener], ['listening on 127.0.0.1:8001 (1234/node)']],
  ['a listener closes', [listener], [], ['stopped listening on 127.0.0.1:8001']],
  ['a SYN arrives', [listener], [listener, row('SYN_RECV', 8001, 40112)], ['127.0.0.1:40112 -> :8001 entered the half-open queue (SYN_RECV)']],
  [
    'half-open to accept queue',
    [listener, row('SYN_RECV', 8001, 40112)],
    [listener, row('ESTABLISHED', 8001, 40112)],
    ['127.0.0.1:40112 -> :8001 entered the accept queue'],
  ],
  ['straight into the accept queue', [listener], [listener, row('ESTABLISHED', 8001, 40112)], ['127.0.0.1:40112 -> :8001 entered the accept queue']],
  [
    'accepted',
    [listener, row('ESTABLISHED', 8001, 40112)],
    [listener, row('ESTABLISHED', 8001, 40112, owned(1234, 'node'))],
    ['127.0.0.1:40112 -> :8001 accepted by 1234/node'],
  ],
  [
    'a client connects',
    [listener],
    [listener, row('ESTABLISHED', 40112, 8001, owned(99, 'curl'))],
    ['127.0.0.1:40112 -> 127.0.0.1:8001 connected (99/curl)'],
  ],
  ['SYN_SENT', [], [row('SYN_SENT', 40112, 9)], ['127.0.0.1:40112 -> 127.0.0.1:9 connecting (SYN_SENT)']],
  [
    'the client closes first: TIME_WAIT on the client',
    [listener, row('ESTABLISHED', 40112, 8001, owned(99, 'curl'))],
    [listener, row('TIME_WAIT', 40112, 8001)],
    ['127.0.0.1:40112 -> 127.0.0.1:8001 closed: TIME_WAIT on the client'],
  ],
  [
    'the server side waits in CLOSE_WAIT',
    [listener, row('ESTABLISHED', 8001, 40112, owned(1234, 'node'))],
    [listener, row('CLOSE_WAIT', 8001, 40112, owned(1234, 'node'))],
    ['127.0.0.1:40112 -> :8001: ESTABLISHED -> CLOSE_WAIT'],
  ],
  ['TIME_WAIT ends', [row('TIME_WAIT', 40112, 8001)], [], ['127.0.0.1:40112 -> 127.0.0.1:8001 gone (was TIME_WAIT)']],
  ['UDP and Unix rows are left out', [], [{ ...row('UNCONN', 53, null), proto: 'udp' }, { ...row('LISTEN', null as never, null), proto: 'unix' }], []],
];

for (const [name, before, after, texts] of CASES) {
  test(name, () => {
    assert.equal(diffSnapshots(before, after, 1000).map((event) => event.text), texts);
  });
}

test('events carry time, ports and kind for filtering', () => {
  const [event] = diffSnapshots([listener], [listener, row('SYN_RECV', 8001, 40112)], 42);
  assert.equal([event.time, event.kind, event.localPort, event.remotePort, event.state], [42, 'half-open', 8001, 40112, 'SYN_RECV']);
});

test('IPv6 endpoints are bracketed', () => {
  const six = { ...row('LISTEN', 8001, null), proto: 'tcp6' as const, localAddress: '::1', remoteAddress: '::' };
  assert.equal(diffSnapshots([], [six], 0)[0].text, 'listening on [::1]:8001');
});

test.run();
