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
import { exitCodesHelp, parseCli, parseNumber, runMain } from '../lib/cli.ts';
import { announceListening, browserHint, listenTcp, onShutdown } from '../lib/net.ts';
import { aclHelp } from '../lib/serve/acl.ts';
import { LISTEN_OPTIONS, parseListenFlags, listenHelp } from '../lib/serve/listen-flags.ts';
import { AcceptGate } from '../lib/serve/gate.ts';
import { MAX_BODY_BYTES } from '../lib/wire/http.ts';
import { serveHello, type HelloOptions } from '../lib/serve/hello.ts';

const NAME = 'http-hello';
const HELP = `Usage: http-hello [--host HOST] [--port PORT] [--head-timeout SECONDS] [--max-body BYTES]
                  [--allow CIDR] [--deny CIDR]

A web server on a plain TCP socket (node:net): open it in a browser and see
the exact bytes of the browser's request, the connection's four-tuple and how
many requests the connection has carried.

Options:
${listenHelp(8080, 27)}
  --head-timeout SECONDS   close a connection that has not completed a request
                           within this time, also an idle keep-alive one (default 10)
  --max-body BYTES         largest request body shown; longer ones get 413 (default ${MAX_BODY_BYTES})
${aclHelp(27)}
  -h, --help               show this help

Logs (stderr): listening on HOST:PORT (tcp), open SRC -> DST,
  SRC -> DST #N "REQUEST LINE" STATUS, close SRC -> DST (N requests),
  deny SRC -> DST (a client refused by --allow/--deny, closed at once)

${exitCodesHelp({ server: true })}`;

await runMain(NAME, async () => {
  const args = parseCli({
    name: NAME,
    help: HELP,
    options: {
      ...LISTEN_OPTIONS,
      'head-timeout': { type: 'string' },
      'max-body': { type: 'string' },
    },
  });
  if (!args) return;
  const { host, port, acl } = parseListenFlags(args.values, 8080);
  const options: HelloOptions = {
    headTimeoutMs: parseNumber(args.values['head-timeout'] ?? '10', '--head-timeout', { min: 0.01, max: 86400 }) * 1000,
    maxBody: parseNumber(args.values['max-body'] ?? String(MAX_BODY_BYTES), '--max-body', { integer: true, max: 64 * 1024 * 1024 }),
  };

  const log = (line: string) => process.stderr.write(`${line}\n`);
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    if (gate.admit(socket) === null) return;
    gate.track(socket);
    serveHello(socket, options);
  });
  const gate = new AcceptGate(server, { log, acl });
  const endpoint = await listenTcp(server, { host, port });
  announceListening(endpoint, 'tcp');
  log(browserHint(endpoint));

  onShutdown(() => gate.closeAll());
});
