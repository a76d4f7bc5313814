// The page http-hello serves, and the connection loop behind it: read
// requests with lib/http.ts, answer each in order with a page showing the
// request's exact bytes, the four-tuple and the request count, and close when
// HTTP says so (Connection: close, an error, --head-timeout).
import type net from 'node:net';
import { fourTuple } from '../net.ts';
import {
  HttpError,
  MAX_HEAD_BYTES,
  RequestReader,
  STATUS_TEXT,
  escapeHtml,
  formatResponse,
  keepsAlive,
  showBytes,
  type RequestHead,
} from '../wire/http.ts';

/** How long a client may keep an error response's connection half-open. */
const LINGER_MS = 2000;

export interface HelloOptions {
  headTimeoutMs: number;
  maxBody: number;
}

/** One accepted connection: read requests, answer each in order, close when told to. */
export function serveHello(socket: net.Socket, options: HelloOptions): void {
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
