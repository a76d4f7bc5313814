// lib/kernel/strace-report.ts: how syscalls says a trace (text lines, JSON
// records, the summary), and lib/trace.ts's pure splitCommandLine.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCallLine } from '../lib/kernel/strace.ts';
import { callRecord, callText, errnoWords, summaryText, traceDocument } from '../lib/kernel/strace-report.ts';
import { splitCommandLine } from '../lib/trace.ts';

const listen = parseCallLine('9 listen(19<TCP:[127.0.0.1:8001]>, 511) = 0')!;
const refused = parseCallLine('5 connect(21<TCP:[9]>, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)')!;
const accepted = parseCallLine('9 accept4(19<TCP:[127.0.0.1:8001]>, NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK) = 20<TCP:[127.0.0.1:8001->127.0.0.1:40112]>')!;

test('callText: the call, the lesson beside it, details indented; [pid N] from another process', () => {
  assert.is(callText(listen, true), "listen(19, 511) = 0    // lesson: listen(sockfd, backlog); Node's default backlog is 511\n");
  assert.ok(callText(listen, false).startsWith('[pid 9] listen(19, 511) = 0'));
  const lines = callText(refused, true).split('\n');
  assert.match(lines[1], /^    sockaddr_in 127\.0\.0\.1 port 1 \(sin_port=htons\(1\)\): 02 00 00 01 7f 00 00 01/);
});

test('errnoWords: errno in words, nothing without one', () => {
  assert.is(errnoWords(listen), undefined);
  assert.match(errnoWords(refused)!, /ECONNREFUSED/);
});

test('callRecord: the --json fields, socket and newSocket', () => {
  const record = callRecord(accepted);
  assert.equal(Object.keys(record), ['pid', 'name', 'fd', 'socket', 'args', 'result', 'newSocket', 'errno', 'error']);
  assert.equal(record.socket, { proto: 'TCP', local: '127.0.0.1:8001', remote: null });
  assert.equal(record.newSocket, { fd: 20, proto: 'TCP', local: '127.0.0.1:8001', remote: '127.0.0.1:40112' });
  const failed = callRecord(refused);
  assert.is(failed.errno, 'ECONNREFUSED');
  assert.ok('sockaddr' in failed);
});

test('summaryText and traceDocument', () => {
  assert.is(summaryText(0, []), 'summary (exit code 0): no socket calls\n');
  assert.is(summaryText(3, [listen, listen]), 'summary (exit code 3):\n  listen ×2\n');
  const doc = JSON.parse(traceDocument(['true'], 0, [listen]));
  assert.equal(Object.keys(doc), ['command', 'exitCode', 'calls', 'summary']);
  assert.is(doc.calls[0].name, 'listen');
});

test('splitCommandLine: own flags, then the command at -- or the first word', () => {
  assert.equal(splitCommandLine(['--json', 'client', '-v']), { own: ['--json'], command: ['client', '-v'] });
  assert.equal(splitCommandLine(['-o', 'x', '--', '-weird']), { own: ['-o', 'x'], command: ['-weird'] });
  assert.equal(splitCommandLine(['--all']), { own: ['--all'], command: [] });
  assert.equal(splitCommandLine(['-', 'x']), { own: [], command: ['-', 'x'] });
});

test.run();
