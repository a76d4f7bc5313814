// scripts/http-hello.ts over raw TCP sockets: one test per HTTP case of the
// issue (keep-alive, pipelining, Connection: close, HTTP/1.0, 431, 400, body
// by Content-Length, 413, 411, HEAD, 100-continue, timeouts), plus a client
// that never reads and a server that must survive garbage.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import fs from 'node:fs';
import { once } from 'node:events';
import { connect, hasStackTrace, runScript, startScript, withDeadline, type ScriptProcess } from './helpers.ts';

interface Response {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A raw client: writes bytes and cuts the byte stream back into responses. */
class RawClient {
  readonly socket: net.Socket;
  private buffer = Buffer.alloc(0);
  ended = false;
  private wakers: Array<() => void> = [];
  readonly closed: Promise<void>;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake() {
    for (const waker of this.wakers.splice(0)) waker();
  }

  send(text: string | Buffer) {
    this.socket.write(text);
  }

  /** The next response; `head` for a HEAD request (no body follows). */
  response(head = false, ms = 5000): Promise<Response> {
    const attempt = async (): Promise<Response> => {
      for (;;) {
        const end = this.buffer.indexOf('\r\n\r\n');
        if (end >= 0) {
          const lines = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
          const status = Number(lines[0].split(' ')[1]);
          const headers: Record<string, string> = {};
          for (const line of lines.slice(1)) {
            const colon = line.indexOf(':');
            headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
          }
          const length = head || status === 100 ? 0 : Number(headers['content-length'] ?? 0);
          if (this.buffer.length >= end + 4 + length) {
            const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
            this.buffer = this.buffer.subarray(end + 4 + length);
            return { status, headers, body };
          }
        }
        if (this.ended) throw new Error(`connection ended before a full response: ${JSON.stringify(this.buffer.toString('latin1').slice(0, 200))}`);
        await new Promise<void>((resolve) => this.wakers.push(resolve));
      }
    };
    return withDeadline(attempt(), ms, 'an HTTP response');
  }

  /** Waits until the server closes the connection; returns bytes left unread. */
  async serverCloses(ms = 5000): Promise<string> {
    await withDeadline(
      (async () => {
        while (!this.ended) await new Promise<void>((resolve) => this.wakers.push(resolve));
      })(),
      ms,
      'the server to close the connection',
    );
    return this.buffer.toString('latin1');
  }

  destroy() {
    this.socket.destroy();
  }
}

let server: ScriptProcess;
let port = 0;
const clients: RawClient[] = [];

async function client(): Promise<RawClient> {
  const c = new RawClient(await connect(port));
  clients.push(c);
  return c;
}

const GET = (target = '/', extra = '') => `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;

test.before(async () => {
  server = startScript('http-hello', ['--port', '0', '--head-timeout', '1', '--max-body', '1000']);
  ({ port } = await server.listening());
});

test.after.each(() => {
  for (const c of clients.splice(0)) c.destroy();
});

test.after(async () => {
  if (server) await server.stop('SIGKILL').catch(() => {});
});

test('--help exits 0 and lists exit codes; a bad flag is one line and exit 2', async () => {
  const help = await runScript('http-hello', ['--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /Usage: http-hello/);
  assert.match(help.stdout, /--head-timeout/);
  assert.match(help.stdout, /Exit codes:/);
  for (const args of [['--port', 'http'], ['--bogus'], ['--head-timeout', '-1'], ['--max-body', 'lots']]) {
    const bad = await runScript('http-hello', args);
    assert.is(bad.code, 2, args.join(' '));
    assert.match(bad.stderr, /^http-hello: error: .+\n$/);
  }
});

test('announces the listening line and the URL to open', () => {
  assert.match(server.stderr, new RegExp(`^listening on 127\\.0\\.0\\.1:${port} \\(tcp\\)\\n`));
  assert.match(server.stderr, new RegExp(`open http://127\\.0\\.0\\.1:${port}/ in a browser\\n`));
});

test('a GET gets the page: exact request bytes, four-tuple, request count', async () => {
  const c = await client();
  const request = `GET /path?q=<x>&y HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: raw "test" <1>\r\nX-Tab:\ta\r\n\r\n`;
  c.send(request);
  const response = await c.response();
  assert.is(response.status, 200);
  assert.is(response.headers['content-type'], 'text/html; charset=utf-8');
  assert.is(response.headers['connection'], 'keep-alive');
  assert.is(Buffer.byteLength(response.body), Number(response.headers['content-length']));
  assert.ok(response.body.includes('GET /path?q=&lt;x&gt;&amp;y HTTP/1.1\\r\\n\n'), response.body);
  assert.ok(response.body.includes('User-Agent: raw &quot;test&quot; &lt;1&gt;\\r\\n\n'));
  assert.ok(response.body.includes('X-Tab:\\ta\\r\\n'));
  assert.ok(response.body.includes(`(${request.length} bytes)`));
  const tuple = `127.0.0.1:${c.socket.localPort} -&gt; 127.0.0.1:${port}`;
  assert.ok(response.body.includes(`<td id="four-tuple">${tuple} (TCP)</td>`), response.body);
  assert.ok(response.body.includes('<td id="requests">1</td>'));
  const open = `open 127.0.0.1:${c.socket.localPort} -> 127.0.0.1:${port}`;
  await server.waitForStderr(new RegExp(open.replace(/\./g, '\\.')));
});

test('keep-alive: several requests on one connection, counted', async () => {
  const c = await client();
  for (let i = 1; i <= 3; i++) {
    c.send(GET(`/n${i}`));
    const response = await c.response();
    assert.is(response.status, 200);
    assert.ok(response.body.includes(`<td id="requests">${i}</td>`), `request ${i}`);
    assert.ok(response.body.includes(`GET /n${i} HTTP/1.1`));
  }
  assert.not.ok(c.ended);
  c.socket.end();
  const tuple = `127.0.0.1:${c.socket.localPort} -> 127.0.0.1:${port}`;
  await server.waitForStderr(new RegExp(`close ${tuple.replace(/\./g, '\\.')} \\(3 requests\\)`));
});

test('pipelined requests (one write, split bytes) are answered in order', async () => {
  const c = await client();
  const batch = GET('/a') + 'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody' + GET('/c');
  c.send(batch.slice(0, 50));
  c.send(batch.slice(50));
  const targets = [];
  for (let i = 1; i <= 3; i++) {
    const response = await c.response();
    targets.push(/<pre id="head">(\S+ \S+)/.exec(response.body)?.[1]);
    assert.ok(response.body.includes(`<td id="requests">${i}</td>`));
  }
  assert.equal(targets, ['GET /a', 'POST /b', 'GET /c']);
});

test('Connection: close is honoured: answer, then the server closes', async () => {
  const c = await client();
  c.send(GET('/', 'Connection: close\r\n') + GET('/ignored'));
  const response = await c.response();
  assert.is(response.status, 200);
  assert.is(response.headers['connection'], 'close');
  assert.is(await c.serverCloses(), '', 'nothing answered after Connection: close');
});

test('HTTP/1.0 closes by default and stays open with keep-alive', async () => {
  const c = await client();
  c.send('GET / HTTP/1.0\r\n\r\n');
  assert.is((await c.response()).headers['connection'], 'close');
  await c.serverCloses();
  const k = await client();
  k.send('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  assert.is((await k.response()).headers['connection'], 'keep-alive');
  k.send('GET /again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  assert.ok((await k.response()).body.includes('<td id="requests">2</td>'));
});

test('a head over 16 KiB gets 431 and a close; exactly 16 KiB is fine', async () => {
  const start = 'GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ';
  const exact = start + 'a'.repeat(16384 - start.length - 4) + '\r\n\r\n';
  const ok = await client();
  ok.send(exact);
  assert.is((await ok.response()).status, 200);
  const big = await client();
  big.send(start + 'a'.repeat(16384 - start.length - 3) + '\r\n\r\n');
  const response = await big.response();
  assert.is(response.status, 431);
  assert.is(response.headers['connection'], 'close');
  await big.serverCloses();
  // No end of head at all: the server stops reading at the limit.
  const endless = await client();
  endless.send('GET / HTTP/1.1\r\nX-Pad: ' + 'b'.repeat(40_000));
  assert.is((await endless.response()).status, 431);
  await endless.serverCloses();
});

test('malformed requests get 400 and a close', async () => {
  const cases = [
    'HELLO\r\n\r\n',
    'GET / HTTP/1.1\r\n\r\n', // no Host
    'GET / HTTP/1.1\r\nHost : x\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nbroken header\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
    '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\n\n', // TLS to a plain port
  ];
  for (const request of cases) {
    const c = await client();
    c.send(Buffer.from(request, 'latin1'));
    const response = await c.response();
    assert.is(response.status, 400, JSON.stringify(request));
    assert.is(response.headers['connection'], 'close');
    assert.match(response.body, /^400 Bad Request: .+\n$/);
    await c.serverCloses();
  }
  const v2 = await client();
  v2.send('GET / HTTP/2.0\r\nHost: x\r\n\r\n');
  assert.is((await v2.response()).status, 505);
});

test('a body is read by Content-Length (in pieces) and shown', async () => {
  const c = await client();
  c.send('POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nname=');
  await new Promise((resolve) => setTimeout(resolve, 50)); // let the first piece be read alone
  c.send('a&b<c' + '\r' + GET('/next'));
  const response = await c.response();
  assert.ok(response.body.includes('<pre id="body">name=a&amp;b&lt;c\\r</pre>'), response.body);
  assert.ok(response.body.includes('(11 bytes, read by Content-Length)'));
  const next = await c.response();
  assert.ok(next.body.includes('GET /next HTTP/1.1'));
});

test('a body over --max-body gets 413; a chunked body gets 411', async () => {
  const c = await client();
  c.send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n');
  const response = await c.response();
  assert.is(response.status, 413);
  assert.match(response.body, /over the limit of 1000/);
  await c.serverCloses();
  const chunked = await client();
  chunked.send('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
  assert.is((await chunked.response()).status, 411);
  await chunked.serverCloses();
});

test('HEAD gets the headers of GET and no body', async () => {
  const c = await client();
  c.send(GET('/'));
  const got = await c.response();
  c.send('HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' + GET('/after'));
  const head = await c.response(true);
  assert.is(head.status, 200);
  assert.is(head.body, '');
  // The page differs only in the counted request, so the lengths are close; the
  // next response parsing cleanly proves no body bytes followed the HEAD answer.
  assert.ok(Math.abs(Number(head.headers['content-length']) - Number(got.headers['content-length'])) < 10);
  const after = await c.response();
  assert.is(after.status, 200);
  assert.ok(after.body.includes('GET /after HTTP/1.1'));
  assert.ok(after.body.includes('<td id="requests">3</td>'));
});

test('Expect: 100-continue gets 100 Continue before the body is sent', async () => {
  const c = await client();
  c.send('PUT /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n');
  assert.is((await c.response()).status, 100);
  c.send('abc');
  const response = await c.response();
  assert.is(response.status, 200);
  assert.ok(response.body.includes('<pre id="body">abc</pre>'));
});

test('a client that never finishes its head gets 408 and is closed; an idle one is closed', async () => {
  const slow = await client();
  slow.send('GET / HTTP/1.1\r\nHost: x\r\n');
  const response = await slow.response(false, 5000);
  assert.is(response.status, 408);
  await slow.serverCloses();
  const idle = await client();
  assert.is(await idle.serverCloses(5000), '', 'an idle connection is closed without an answer');
});

test('a client that never reads its answers does not grow the server without bound', async () => {
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${server.pid}/status`, 'utf8'))![1]);
  const before = rss();
  const c = await client();
  c.socket.pause(); // never read: the server's answers pile up in the kernel, then it must stop
  const one = GET('/flood', `X-Pad: ${'p'.repeat(1000)}\r\n`); // ~1 KB asks for a ~2.4 KB page
  const burst = Buffer.from(one.repeat(2000));
  let written = 0;
  // Write until the kernel buffers are full in both directions (write() says false and
  // no 'drain' comes): the server has stopped reading. Loopback buffers hold ~10 MB
  // each way; the cap is 200k requests (200 MB sent, 480 MB of answers if kept).
  let blocked = false;
  for (let i = 0; i < 100 && !blocked; i++) {
    written += 2000;
    if (!c.socket.write(burst)) {
      const drained = await Promise.race([
        once(c.socket, 'drain').then(() => true),
        new Promise((resolve) => setTimeout(resolve, 500, false)),
      ]);
      blocked = !drained;
    }
  }
  const grown = rss() - before;
  if (process.env.DEBUG_FLOOD) console.log({ written, grown, blocked });
  assert.ok(blocked, 'the server stopped reading from a client that does not read');
  assert.ok(grown < 30_000, `server RSS grew ${grown} kB after ${written} unread requests`);
  // The server is still answering others.
  const other = await client();
  other.send(GET('/still-here'));
  assert.is((await other.response()).status, 200);
});

test('garbage and resets do not crash it', async () => {
  for (let i = 0; i < 5; i++) {
    const c = await client();
    const junk = Buffer.alloc(3000);
    for (let j = 0; j < junk.length; j++) junk[j] = (j * 7919 + i * 31) & 0xff;
    c.send(junk);
    c.socket.resetAndDestroy();
  }
  const c = await client();
  c.send(GET('/'));
  assert.is((await c.response()).status, 200);
  assert.not.ok(hasStackTrace(server.stderr), server.stderr);
});

test('Ctrl-C with connections open: clean exit 0 with close lines', async () => {
  const own = startScript('http-hello', ['--port', '0']);
  try {
    const { port: p } = await own.listening();
    const socket = await connect(p);
    socket.on('error', () => {});
    const c = new RawClient(socket);
    c.send(GET('/'));
    await c.response();
    const exit = await own.stop('SIGINT');
    assert.is(exit.code, 0);
    assert.match(own.stderr, /close 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ \(1 request\)/);
    assert.not.ok(hasStackTrace(own.stderr));
    c.destroy();
  } finally {
    own.child.kill('SIGKILL');
  }
});

test('port in use: one line, exit 1', async () => {
  const result = await runScript('http-hello', ['--port', String(port)]);
  assert.is(result.code, 1);
  assert.match(result.stderr, /^http-hello: error: cannot listen on 127\.0\.0\.1:\d+: address already in use \(EADDRINUSE\)/);
});

test.run();
