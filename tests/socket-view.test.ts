// scripts/socket-view.ts over raw TCP sockets: SSE framing (event: snapshot,
// data: one JSON line, blank line; comment heartbeats), the Host check (421),
// HEAD, 404, 405 for other methods, the API documents, 20 concurrent
// viewers costing one /proc reading per interval, Ctrl-C closing streams.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import os from 'node:os';
import { ViewHub, hostAllowed, serveView } from '../lib/serve/view.ts';
import { Sampler } from '../lib/kernel/sampler.ts';
import { connect, hasStackTrace, runScript, startScript, withDeadline, type ScriptProcess } from './helpers.ts';

const INTERVAL = 200;
let view: ScriptProcess;
let port = 0;

/** Sends raw request bytes; resolves with everything until the server closes or `until` matches. */
async function exchange(bytes: string, until?: RegExp, ms = 5000): Promise<string> {
  const socket = await connect(port);
  let text = '';
  const done = new Promise<string>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (until && until.test(text)) resolve(text);
    });
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(text));
  });
  socket.write(bytes);
  try {
    return await withDeadline(done, ms, `answer to ${JSON.stringify(bytes.slice(0, 40))}`);
  } finally {
    socket.destroy();
  }
}
const get = (path: string, host = `127.0.0.1:${port}`, method = 'GET') =>
  exchange(`${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
const status = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
const body = (text: string) => text.slice(text.indexOf('\r\n\r\n') + 4);

/** An open event stream: the raw text so far and the parsed events. */
function openStream(path = '/events'): Promise<{ socket: net.Socket; text: () => string; events: () => Array<{ event: string; data: string }> }> {
  return connect(port).then((socket) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.on('error', () => {});
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost:${port}\r\nAccept: text/event-stream\r\n\r\n`);
    const events = () =>
      body(text)
        .split('\n\n')
        .slice(0, -1)
        .map((block) => {
          const lines = block.split('\n');
          return {
            event: lines.find((l) => l.startsWith('event: '))?.slice(7) ?? '',
            data: lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n'),
          };
        })
        .filter((e) => e.event);
    return { socket, text: () => text, events };
  });
}
async function until<T>(check: () => T | undefined | false | Promise<T | false>, what: string, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
const apiStatus = async () => JSON.parse(body(await get('/api/status'))) as { reads: number; viewers: number };

test.before(async () => {
  view = startScript('socket-view', ['--port', '0', '--interval', String(INTERVAL)]);
  port = (await view.listening()).port;
  await view.waitForStderr(/open http:\/\/127\.0\.0\.1:\d+\/ in a browser/);
});
test.after(async () => {
  await view?.stop('SIGKILL').catch(() => {});
});

test('GET / is one HTML page with no external resource', async () => {
  const text = await get('/');
  assert.is(status(text), 200);
  assert.match(text, /Content-Type: text\/html/);
  const page = body(text);
  assert.match(page, /new EventSource\('\/events' \+ location\.search\)/);
  assert.not.match(page, /(src|href)="(https?:)?\/\//);
  assert.not.match(text, /Access-Control-Allow-Origin/i);
});

test('HEAD: the same headers, no body', async () => {
  const text = await get('/', `127.0.0.1:${port}`, 'HEAD');
  assert.is(status(text), 200);
  const length = Number(/Content-Length: (\d+)/.exec(text)?.[1]);
  assert.ok(length > 1000);
  assert.is(body(text), '');
});

test('404 for an unknown path, 405 for POST, 400 for a bad filter', async () => {
  assert.is(status(await get('/nope')), 404);
  const post = await get('/', `127.0.0.1:${port}`, 'POST');
  assert.is(status(post), 405);
  assert.match(post, /Allow: GET, HEAD/);
  assert.is(status(await get('/api/sockets?port=99999')), 400);
  assert.is(status(await get('/api/sockets?state=nonsense')), 400);
});

test('Host check: 421 for another name (DNS rebinding), a wrong port or none', async () => {
  assert.is(status(await get('/', 'evil.example:' + port)), 421);
  assert.is(status(await get('/', 'localhost:1')), 421);
  assert.is(status(await get('/api/sockets', 'rebind.attacker.test')), 421);
  assert.is(status(await exchange(`GET / HTTP/1.0\r\n\r\n`)), 421); // HTTP/1.1 without Host is a 400 already
  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'localhost', 'LOCALHOST:' + port]) {
    assert.is(status(await get('/', host)), 200, host);
  }
});

test('hostAllowed: the bound address; bound to 0.0.0.0, every IPv4 address of this host; never another name', () => {
  assert.ok(hostAllowed('192.0.2.7:8090', { host: '192.0.2.7', port: 8090 }));
  assert.not.ok(hostAllowed('192.0.2.8:8090', { host: '192.0.2.7', port: 8090 }));
  const own = Object.values(os.networkInterfaces()).flat().find((entry) => entry?.family === 'IPv4')!.address;
  assert.ok(hostAllowed(`${own}:8090`, { host: '0.0.0.0', port: 8090 }), own);
  assert.not.ok(hostAllowed('0.0.0.0:8090', { host: '0.0.0.0', port: 8090 }));
  assert.not.ok(hostAllowed('evil.example', { host: '0.0.0.0', port: 8090 }));
  assert.not.ok(hostAllowed('[::1', { host: '127.0.0.1', port: 8090 }));
  assert.ok(hostAllowed('[::1]', { host: '127.0.0.1', port: 8090 }));
});

test('/api/sockets is netstat --json, filtered; /api/statistics is netstat -s --json', async () => {
  const listener = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => listener.once('listening', resolve));
  const target = (listener.address() as net.AddressInfo).port;
  try {
    await new Promise((resolve) => setTimeout(resolve, INTERVAL + 20)); // past the shared snapshot's age
    const rows = JSON.parse(body(await get(`/api/sockets?port=${target}`)));
    assert.equal(rows.map((r: { state: string; localPort: number; pid: number }) => [r.state, r.localPort, r.pid]), [['LISTEN', target, process.pid]]);
    assert.equal(Object.keys(rows[0]).sort(), ['inode', 'localAddress', 'localPort', 'owners', 'pid', 'program', 'proto', 'recvQ', 'remoteAddress', 'remotePort', 'retransmits', 'sendQ', 'state', 'timerSeconds', 'uid'].sort());
    const stats = JSON.parse(body(await get('/api/statistics')));
    assert.type(stats.counters.ListenOverflows, 'number');
    assert.type(stats.meanings.ListenOverflows, 'string');
  } finally {
    listener.close();
  }
});

test('SSE framing: event-stream headers, retry, snapshot events as one data line, heartbeat comments', async () => {
  const stream = await openStream(`/events?port=${port}`);
  try {
    await until(() => stream.events().length >= 1, 'a first snapshot event');
    const text = stream.text();
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text, /Content-Type: text\/event-stream/);
    assert.not.match(text.slice(0, text.indexOf('\r\n\r\n')), /Content-Length/);
    assert.match(body(text), /^retry: 2000\n\nevent: snapshot\ndata: \{.*\}\n\n/);
    const doc = JSON.parse(stream.events()[0].data);
    assert.ok(Array.isArray(doc.rows) && Array.isArray(doc.timeline));
    assert.is(doc.intervalMs, INTERVAL);
  } finally {
    stream.socket.destroy();
  }
});

test('a change is sent, the timeline says so', async () => {
  const listener = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => listener.once('listening', resolve));
  const target = (listener.address() as net.AddressInfo).port;
  const stream = await openStream(`/events?port=${target}`);
  try {
    await until(() => stream.events().length >= 1, 'first snapshot');
    const client = await connect(target);
    const last = () => JSON.parse(stream.events().at(-1)!.data);
    await until(() => stream.events().length >= 2 && last().timeline.some((e: { kind: string }) => e.kind === 'accepted'), 'accepted event', 3000);
    client.destroy();
  } finally {
    stream.socket.destroy();
    listener.close();
  }
});

test('20 concurrent viewers cost one /proc reading per interval', async () => {
  await until(async () => (await apiStatus()).viewers === 0, 'earlier streams gone'); // then the counts are ours
  const before = await apiStatus();
  const started = Date.now();
  const streams = await Promise.all(Array.from({ length: 20 }, () => openStream()));
  try {
    await until(() => streams.every((s) => s.events().length >= 1), 'every viewer got a snapshot');
    assert.is((await apiStatus()).viewers, 20);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const after = await apiStatus();
    const elapsed = Date.now() - started;
    const reads = after.reads - before.reads;
    // One per interval (plus the first one and a rounding), not 20 per interval.
    assert.ok(reads <= Math.ceil(elapsed / INTERVAL) + 2, `${reads} readings in ${elapsed} ms for 20 viewers`);
    assert.ok(reads >= 2, `${reads} readings`);
  } finally {
    for (const s of streams) s.socket.destroy();
  }
});

test('Ctrl-C: exit 0, every event stream closed', async () => {
  const other = startScript('socket-view', ['--port', '0']);
  const { port: otherPort } = await other.listening();
  const streams = await Promise.all(
    Array.from({ length: 3 }, async () => {
      const socket = await connect(otherPort);
      socket.on('error', () => {});
      socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${otherPort}\r\n\r\n`);
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      await new Promise((resolve) => socket.once('data', resolve));
      return { closed }; // an object: an async function returning the promise itself would wait for it
    }),
  );
  const exit = await other.stop('SIGINT');
  assert.is(exit.code, 0);
  await withDeadline(Promise.all(streams.map((s) => s.closed)), 3000, 'streams closed');
});

test('usage errors: exit 2, one line; a non-loopback --host warns once', async () => {
  const bad = await runScript('socket-view', ['--interval', 'fast']);
  assert.is(bad.code, 2);
  assert.not.ok(hasStackTrace(bad.stderr));
  const wide = startScript('socket-view', ['--host', '0.0.0.0', '--port', '0']);
  try {
    await wide.listening();
    await wide.waitForStderr(/open http/);
    assert.is(wide.stderr.match(/warning/g)?.length, 1);
  } finally {
    await wide.stop('SIGINT');
  }
});


test('heartbeat: a comment line every heartbeatMs on an idle stream (ViewHub in this process)', async () => {
  const hub = new ViewHub({ intervalMs: 100, heartbeatMs: 150, host: '127.0.0.1', port: 0, sampler: new Sampler({ backlogs: false }) });
  const server = net.createServer((socket) => serveView(socket, hub)).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const local = (server.address() as net.AddressInfo).port;
  hub.options.port = local;
  const socket = await connect(local);
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk));
  socket.write(`GET /events?port=1 HTTP/1.1\r\nHost: 127.0.0.1:${local}\r\n\r\n`);
  try {
    await until(() => (text.match(/\n: heartbeat \S+\n\n/g) ?? []).length >= 2, 'two heartbeats');
    // port=1 has no sockets: the view never changes, so one snapshot event only.
    assert.is(text.match(/^event: snapshot$/gm)?.length, 1);
  } finally {
    socket.destroy();
    hub.close();
    server.close();
  }
});

test.run();
