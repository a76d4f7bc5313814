#!/usr/bin/env -S npx tsx
// http-hello: the B/S (browser/server) side of the lesson. A browser is one
// more client on a TCP socket: this server is built on node:net, not
// node:http, and speaks just enough HTTP/1.1 to answer with a small HTML page
// that shows the exact bytes of the request the browser sent (request line
// and headers, escaped), the connection's four-tuple, and how many requests
// this connection has carried (reload the page: the count grows while the
// browser keeps the connection alive).
//
// C calls it mirrors: socket(AF_INET, SOCK_STREAM, 0), bind() to
// 127.0.0.1:8080, listen(), accept() per browser connection, then read() the
// request and write() the response on the connected socket.
//
// HTTP handled: keep-alive (pipelined requests answered in order),
// Connection: close (and HTTP/1.0's default close), a head over 16 KiB -> 431,
// a malformed request -> 400, a body read by Content-Length (over --max-body
// -> 413; Transfer-Encoding: chunked -> 411 Length Required), HEAD without a
// body, Expect: 100-continue, and a connection that does not complete a
// request within --head-timeout seconds is closed (408 if it sent part of one).
//
//   npx tsx scripts/http-hello.ts              # then open http://127.0.0.1:8080/
//   curl -v http://127.0.0.1:8080/
import net from 'node:net';
import { EXIT_CODES_HELP, parseCli, parseHost, parseNumber, parsePort, runMain } from '../lib/cli.ts';
import { announceListening, fourTuple, listenTcp, onShutdown } from '../lib/net.ts';
import { formatEndpoint, splitEndpoint } from '../lib/address.ts';
import { ACL_OPTIONS, AccessList, aclHelp } from '../lib/acl.ts';
import { RateLimitedLog, watchDescriptors } from '../lib/guard.ts';
import {
  HttpError,
  MAX_BODY_BYTES,
  MAX_HEAD_BYTES,
  RequestReader,
  STATUS_TEXT,
  escapeHtml,
  formatResponse,
  keepsAlive,
  showBytes,
  type RequestHead,
} from '../lib/http.ts';

const NAME = 'http-hello';
const HELP = `Usage: http-hello [--host HOST] [--port PORT] [--head-timeout SECONDS] [--max-body BYTES]
                  [--allow CIDR] [--deny CIDR]

A web server on a plain TCP socket (node:net): open it in a browser and see
the exact bytes of the browser's request, the connection's four-tuple and how
many requests the connection has carried.

Options:
  --host HOST              address to listen on (default 127.0.0.1)
  --port PORT              port to listen on, 0 for any free port (default 8080)
  --head-timeout SECONDS   close a connection that has not completed a request
                           within this time, also an idle keep-alive one (default 10)
  --max-body BYTES         largest request body shown; longer ones get 413 (default ${MAX_BODY_BYTES})
${aclHelp(27)}
  -h, --help               show this help

Logs (stderr): listening on HOST:PORT (tcp), open SRC -> DST,
  SRC -> DST #N "REQUEST LINE" STATUS, close SRC -> DST (N requests),
  deny SRC -> DST (a client refused by --allow/--deny, closed at once)

${EXIT_CODES_HELP}`;

/** How long a client may keep an error response's connection half-open. */
const LINGER_MS = 2000;

interface Options {
  headTimeoutMs: number;
  maxBody: number;
}

runMain(NAME, async () => {
  const args = parseCli({
    name: NAME,
    help: HELP,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'head-timeout': { type: 'string' },
      'max-body': { type: 'string' },
      ...ACL_OPTIONS,
    },
  });
  if (!args) return;
  const host = parseHost(args.values.host ?? '127.0.0.1');
  const port = parsePort(args.values.port ?? '8080');
  const options: Options = {
    headTimeoutMs: parseNumber(args.values['head-timeout'] ?? '10', '--head-timeout', { min: 0.01, max: 86400 }) * 1000,
    maxBody: parseNumber(args.values['max-body'] ?? String(MAX_BODY_BYTES), '--max-body', { integer: true, max: 64 * 1024 * 1024 }),
  };

  const acl = AccessList.fromFlags(args.values.allow, args.values.deny);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const denyLog = new RateLimitedLog(log, { burst: 20 });
  const connections = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    if (acl && !acl.allows(socket.remoteAddress)) {
      socket.on('error', () => {});
      denyLog.log(`deny ${fourTuple(socket)} (--allow/--deny)`);
      return void socket.destroy();
    }
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    serve(socket, options);
  });
  const endpoint = await listenTcp(server, { host, port });
  announceListening(endpoint, 'tcp');
  // EMFILE and other accept() errors: log (once a second), never crash.
  const unwatch = watchDescriptors(server, { log, active: () => connections.size });
  process.stderr.write(`open http://${browsable(endpoint)}/ in a browser\n`);

  onShutdown(() => {
    unwatch();
    server.close();
    for (const socket of connections) socket.destroy();
  });
});

/** The URL host for a bound endpoint: a wildcard address is reached through loopback. */
function browsable(endpoint: string): string {
  const split = splitEndpoint(endpoint);
  if (!split) return endpoint;
  if (split.address === '0.0.0.0') return formatEndpoint('127.0.0.1', Number(split.port));
  if (split.address === '::') return formatEndpoint('::1', Number(split.port));
  return endpoint;
}

/** One accepted connection: read requests, answer each in order, close when told to. */
function serve(socket: net.Socket, options: Options): void {
  const tuple = fourTuple(socket);
  const reader = new RequestReader({ maxHeadBytes: MAX_HEAD_BYTES, maxBodyBytes: options.maxBody });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let requests = 0;
  let closing = false; // the last response said Connection: close
  let peerEnded = false;
  let lastError = '';
  let timer: NodeJS.Timeout | undefined;

  log(`open ${tuple}`);

  // One clock per request: a client has headTimeoutMs to deliver a whole
  // request, counted from the connection's start or the previous answer.
  const armTimer = () => {
    clearTimeout(timer);
    timer = setTimeout(onTimeout, options.headTimeoutMs);
  };
  const onTimeout = () => {
    const seconds = options.headTimeoutMs / 1000;
    if (closing) {
      socket.destroy();
    } else if (reader.started && !socket.writableNeedDrain) {
      answerError(new HttpError(408, `no complete request within ${seconds} s`));
    } else {
      log(`${tuple} idle for ${seconds} s`);
      socket.destroy();
    }
  };

  // After a Connection: close answer: send FIN, drop whatever else arrives,
  // and give the client a moment to read before the socket is torn down.
  const finish = () => {
    closing = true;
    socket.end();
    clearTimeout(timer);
    timer = setTimeout(() => socket.destroy(), LINGER_MS);
  };

  const answerError = (error: HttpError, head?: RequestHead) => {
    requests++;
    const status = error.status;
    const body = `${status} ${STATUS_TEXT[status]}: ${error.message}\n`;
    log(`${tuple} #${requests} ${head ? JSON.stringify(requestLine(head)) : '-'} ${status} (${error.message})`);
    socket.write(
      formatResponse(status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' }, body, head?.method === 'HEAD'),
    );
    finish();
  };

  const answer = (head: RequestHead, body: Buffer) => {
    requests++;
    const keepAlive = keepsAlive(head);
    const headers: Record<string, string> = {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: keepAlive ? 'keep-alive' : 'close',
    };
    let status = 200;
    let page: string;
    if (head.target === '/favicon.ico') {
      status = 404;
      headers['Content-Type'] = 'text/plain; charset=utf-8';
      page = 'no icon here\n';
    } else {
      page = renderPage({ head, body, tuple, requests, keepAlive });
    }
    log(`${tuple} #${requests} ${JSON.stringify(requestLine(head))} ${status}`);
    socket.write(formatResponse(status, headers, page, head.method === 'HEAD'));
    if (!keepAlive) finish();
  };

  // A bug must cost one connection, never the server: log it and drop the connection.
  const guarded = (step: () => void) => () => {
    try {
      step();
    } catch (error) {
      lastError = `internal error: ${(error as Error)?.message ?? String(error)}`;
      socket.destroy();
    }
  };

  // Answers every complete request buffered so far, in order, but stops while
  // the client is not reading its answers (so memory stays bounded).
  const pump = () => {
    while (!closing && !socket.writableNeedDrain) {
      const event = reader.next();
      if (!event) break;
      if (event.kind === 'continue') {
        socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      } else if (event.kind === 'error') {
        answerError(event.error, event.head);
      } else {
        answer(event.head, event.body);
        if (!closing) armTimer();
      }
    }
    if (closing) return;
    if (socket.writableNeedDrain) {
      socket.pause();
    } else if (peerEnded) {
      // The client sent FIN: everything it asked for has been answered.
      if (reader.started) log(`${tuple} ended in the middle of a request`);
      finish();
    } else {
      socket.resume();
    }
  };

  armTimer();
  socket.on('data', (chunk: Buffer) => {
    if (closing) return;
    reader.push(chunk);
    guarded(pump)();
  });
  socket.on('drain', guarded(pump));
  socket.on('end', () => {
    peerEnded = true;
    if (closing) socket.destroy();
    else guarded(pump)();
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    lastError = error.code ?? error.message;
  });
  socket.on('close', () => {
    clearTimeout(timer);
    const plural = requests === 1 ? 'request' : 'requests';
    log(`close ${tuple} (${requests} ${plural}${lastError ? `, ${lastError}` : ''})`);
  });
}

function requestLine(head: RequestHead): string {
  return `${head.method} ${head.target} HTTP/${head.version}`;
}

interface PageData {
  head: RequestHead;
  body: Buffer;
  tuple: string;
  requests: number;
  keepAlive: boolean;
}

/** The HTML page: the request's bytes, the four-tuple and the request count. */
function renderPage({ head, body, tuple, requests, keepAlive }: PageData): string {
  const [src, dst] = tuple.split(' -> ');
  const bodySection = body.length
    ? `<h2>Request body (${body.length} bytes, read by Content-Length)</h2>\n<pre id="body">${escapeHtml(showBytes(body))}</pre>\n`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>http-hello: socket-lab</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; }
pre { background: #f4f4f4; padding: 1em; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
th { text-align: left; padding-right: 1em; }
</style>
</head>
<body>
<h1>Hello, browser</h1>
<p>This page comes from a TCP server written on <code>node:net</code>: your browser is one more
client that called <code>connect()</code>, and the server <code>accept()</code>ed it, read its request
bytes and wrote these bytes back (B/S is C/S with a browser as the client).</p>
<h2>This connection</h2>
<table>
<tr><th>four-tuple</th><td id="four-tuple">${escapeHtml(tuple)} (TCP)</td></tr>
<tr><th>client (source)</th><td id="src">${escapeHtml(src)}</td></tr>
<tr><th>server (destination)</th><td id="dst">${escapeHtml(dst)}</td></tr>
<tr><th>requests carried</th><td id="requests">${requests}</td></tr>
<tr><th>after this answer</th><td id="connection">${keepAlive ? 'kept open (keep-alive)' : 'closed'}</td></tr>
</table>
<h2>Your request head, byte for byte (${head.raw.length} bytes)</h2>
<pre id="head">${escapeHtml(showBytes(head.raw))}</pre>
${bodySection}</body>
</html>
`;
}
