// lib/http.ts: request-head parsing, body framing, keep-alive rules and the
// incremental reader, on known vectors (including byte-at-a-time delivery).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  HttpError,
  RequestReader,
  bodyLength,
  escapeHtml,
  findHeadEnd,
  formatResponse,
  header,
  keepsAlive,
  parseRequestHead,
  showBytes,
  type ReaderEvent,
} from '../lib/wire/http.ts';

const head = (text: string) => parseRequestHead(Buffer.from(text, 'latin1'));

function status(fn: () => unknown): number {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return error.status;
    throw error;
  }
  return 0;
}

test('findHeadEnd finds CRLF CRLF and LF LF, or -1', () => {
  assert.is(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\nxyz')), 27);
  assert.is(findHeadEnd(Buffer.from('GET / HTTP/1.1\nHost: a\n\nxyz')), 24);
  assert.is(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n')), -1);
  assert.is(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r')), -1);
});

test('parseRequestHead: request line, headers in order, raw bytes kept', () => {
  const raw = 'POST /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Two:  spaced value \t\r\ncontent-length: 3\r\n\r\n';
  const parsed = head(raw);
  assert.is(parsed.method, 'POST');
  assert.is(parsed.target, '/a?b=1');
  assert.is(parsed.version, '1.1');
  assert.equal(parsed.headers, [['Host', 'x'], ['X-Two', 'spaced value'], ['content-length', '3']]);
  assert.is(parsed.raw.toString('latin1'), raw);
  assert.is(header(parsed, 'CONTENT-LENGTH'), '3');
  assert.is(head('GET / HTTP/1.0\r\n\r\n').version, '1.0');
  assert.is(head('GET / HTTP/1.9\r\nHost: x\r\n\r\n').version, '1.1');
});

test('parseRequestHead: malformed heads are 400, other majors 505', () => {
  const bad = [
    'GET /\r\nHost: x\r\n\r\n', // no version
    'GET  / HTTP/1.1\r\nHost: x\r\n\r\n', // two spaces
    'GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n',
    'G(T / HTTP/1.1\r\nHost: x\r\n\r\n', // method not a token
    'GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n', // control byte in target
    'GET / http/1.1\r\nHost: x\r\n\r\n',
    'GET / HTTP/1.1\r\nHost : x\r\n\r\n', // space before colon
    'GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded\r\n\r\n', // obs-fold
    'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n', // NUL in value
    'GET / HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n', // bare CR
    'GET / HTTP/1.1\r\n\r\n', // HTTP/1.1 without Host
    'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n', // TLS bytes
  ];
  for (const text of bad) assert.is(status(() => head(text)), 400, JSON.stringify(text));
  assert.is(status(() => head('GET / HTTP/2.0\r\nHost: x\r\n\r\n')), 505);
  assert.is(status(() => head('GET / HTTP/1.0\r\n\r\n')), 0, 'HTTP/1.0 needs no Host');
  assert.is(status(() => head('GET / HTTP/1.1\r\nHost: x\r\nX-Latin: caf\xe9\r\n\r\n')), 0, 'obs-text allowed');
});

test('bodyLength: Content-Length, conflicts, limits, chunked', () => {
  assert.is(bodyLength(head('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), 0);
  assert.is(bodyLength(head('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n')), 12);
  assert.is(bodyLength(head('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n')), 5);
  assert.is(status(() => bodyLength(head('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n'))), 400);
  assert.is(status(() => bodyLength(head('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'))), 400);
  assert.is(status(() => bodyLength(head('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n'))), 400);
  assert.is(status(() => bodyLength(head('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n'))), 400);
  assert.is(status(() => bodyLength(head('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n'), 100)), 413);
  assert.is(bodyLength(head('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n'), 100), 100);
  assert.is(status(() => bodyLength(head('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'))), 411);
});

test('keepsAlive: 1.1 default open, 1.0 default closed, Connection tokens', () => {
  assert.ok(keepsAlive(head('GET / HTTP/1.1\r\nHost: x\r\n\r\n')));
  assert.not.ok(keepsAlive(head('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')));
  assert.not.ok(keepsAlive(head('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, CLOSE\r\n\r\n')));
  assert.not.ok(keepsAlive(head('GET / HTTP/1.0\r\n\r\n')));
  assert.ok(keepsAlive(head('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n')));
});

function drain(reader: RequestReader): ReaderEvent[] {
  const events: ReaderEvent[] = [];
  for (let event = reader.next(); event; event = reader.next()) events.push(event);
  return events;
}

const PIPELINE =
  '\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n' +
  'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
  'GET /c HTTP/1.1\nHost: x\n\n';

test('RequestReader: pipelined requests in order, whole or byte by byte', () => {
  const whole = new RequestReader();
  whole.push(Buffer.from(PIPELINE));
  const a = drain(whole);
  const bytes = new RequestReader();
  const b: ReaderEvent[] = [];
  for (const byte of Buffer.from(PIPELINE)) {
    bytes.push(Buffer.from([byte]));
    b.push(...drain(bytes));
  }
  for (const events of [a, b]) {
    assert.equal(events.map((e) => e.kind), ['request', 'request', 'request']);
    assert.equal(events.map((e) => (e.kind === 'request' ? e.head.target : '')), ['/a', '/b', '/c']);
    assert.is(events[1].kind === 'request' && events[1].body.toString(), 'hello');
  }
  assert.not.ok(whole.started);
});

test('RequestReader: head limit 431 (with and without an end), body limit 413', () => {
  const limit = 16 * 1024;
  const exact = (size: number) => {
    const start = 'GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ';
    return start + 'a'.repeat(size - start.length - 4) + '\r\n\r\n';
  };
  assert.is(exact(limit).length, limit);
  const ok = new RequestReader();
  ok.push(Buffer.from(exact(limit)));
  assert.is(ok.next()?.kind, 'request');
  const over = new RequestReader();
  over.push(Buffer.from(exact(limit + 1)));
  const event = over.next();
  assert.is(event?.kind === 'error' && event.error.status, 431);
  const endless = new RequestReader();
  endless.push(Buffer.from('GET / HTTP/1.1\r\nX-Pad: ' + 'a'.repeat(limit)));
  const e2 = endless.next();
  assert.is(e2?.kind === 'error' && e2.error.status, 431);
  assert.is(endless.next(), null, 'nothing after an error');
  const body = new RequestReader({ maxBodyBytes: 10 });
  body.push(Buffer.from('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n'));
  const e3 = body.next();
  assert.is(e3?.kind === 'error' && e3.error.status, 413);
  assert.is(e3?.kind === 'error' && e3.head?.method, 'POST');
});

test('RequestReader: Expect 100-continue cues once, then the request', () => {
  const reader = new RequestReader();
  reader.push(Buffer.from('PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n'));
  assert.equal(drain(reader).map((e) => e.kind), ['continue']);
  assert.ok(reader.started);
  reader.push(Buffer.from('abc'));
  assert.equal(drain(reader).map((e) => e.kind), ['request']);
  const odd = new RequestReader();
  odd.push(Buffer.from('PUT / HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n'));
  const event = odd.next();
  assert.is(event?.kind === 'error' && event.error.status, 417);
});

test('formatResponse, showBytes, escapeHtml', () => {
  assert.is(
    formatResponse(200, { 'Content-Type': 'text/plain' }, 'hé').toString('utf8'),
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nhé',
  );
  assert.is(formatResponse(404, {}, 'abc', true).toString(), 'HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\n');
  assert.is(showBytes(Buffer.from('GET / HTTP/1.1\r\n\ta\\b\x00\xff', 'latin1')), 'GET / HTTP/1.1\\r\\n\n\\ta\\\\b\\x00\\xff');
  assert.is(escapeHtml(`<a href="x">&'`), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
});

test.run();
