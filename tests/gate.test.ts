// The accept gate (lib/serve/gate.ts) on real loopback sockets: the cap, the
// access list and its rate-limited log, the open set and closeAll.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { once } from 'node:events';
import { AcceptGate, type GateOptions } from '../lib/serve/gate.ts';
import { AccessList } from '../lib/serve/acl.ts';
import { connect, readAll, withDeadline } from './helpers.ts';

interface Gated {
  server: net.Server;
  gate: AcceptGate;
  lines: string[];
  admitted: net.Socket[];
  port: number;
  /** Resolves once `n` connections have passed through the gate (admitted or not). */
  seen: (n: number) => Promise<void>;
}

async function gatedServer(options: Omit<GateOptions, 'log'>): Promise<Gated> {
  const lines: string[] = [];
  const admitted: net.Socket[] = [];
  let count = 0;
  const waiters: Array<() => void> = [];
  const server = net.createServer((socket) => {
    count++;
    if (gate.admit(socket) !== null) {
      gate.track(socket);
      admitted.push(socket);
    }
    waiters.splice(0).forEach((wake) => wake());
  });
  const gate = new AcceptGate(server, { ...options, log: (line) => lines.push(line) });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const seen = (n: number) =>
    withDeadline(
      new Promise<void>((resolve) => {
        const check = () => (count >= n ? resolve() : waiters.push(check));
        check();
      }),
      5000,
      `${n} connections at the gate`,
    );
  return { server, gate, lines, admitted, port, seen };
}

test('past maxConns a connection is closed at once and logged with its four-tuple', async () => {
  const counts = { refused: 0, denied: 0 };
  const g = await gatedServer({ maxConns: 2, counts });
  const clients = [await connect(g.port), await connect(g.port), await connect(g.port)];
  await g.seen(3);
  assert.is(g.gate.active, 2);
  assert.is(counts.refused, 1);
  const third = clients[2];
  assert.is((await readAll(third)).length, 0, 'the refused client reads end of file at once');
  const refuse = g.lines.find((line) => line.startsWith('refuse '));
  assert.ok(refuse, g.lines.join('\n'));
  assert.match(refuse, new RegExp(`^refuse 127\\.0\\.0\\.1:${third.localPort} -> 127\\.0\\.0\\.1:${g.port} \\(--max-conns 2 reached\\)$`));
  clients.forEach((client) => client.destroy());
  await g.gate.closeAll();
});

test('fullReason replaces the words of a refusal', async () => {
  const g = await gatedServer({ maxConns: 0, fullReason: '64 clients already waiting' });
  const client = await connect(g.port);
  await g.seen(1);
  assert.match(g.lines[0], /^refuse .* \(64 clients already waiting\)$/);
  client.destroy();
  await g.gate.closeAll();
});

test('--deny: every denied peer is closed and counted, but at most 20 lines a second are logged', async () => {
  const counts = { refused: 0, denied: 0 };
  const g = await gatedServer({ acl: AccessList.fromFlags([], ['127.0.0.0/8']), counts });
  const clients: net.Socket[] = [];
  for (let i = 0; i < 30; i++) clients.push(await connect(g.port));
  await g.seen(30);
  assert.is(counts.denied, 30);
  assert.is(g.gate.active, 0);
  const denies = g.lines.filter((line) => line.startsWith('deny '));
  assert.ok(denies.length >= 20 && denies.length < 30, `${denies.length} deny lines`);
  assert.match(denies[0], /^deny 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ \(--allow\/--deny\)$/);
  clients.forEach((client) => client.destroy());
  await g.gate.closeAll();
});

test('closeAll closes every open connection and the listener; later connections are not admitted', async () => {
  const g = await gatedServer({});
  const clients = [await connect(g.port), await connect(g.port)];
  await g.seen(2);
  assert.is(g.gate.active, 2);
  const ended = clients.map((client) => once(client, 'close'));
  await withDeadline(g.gate.closeAll(), 5000, 'closeAll');
  await withDeadline(Promise.all(ended), 5000, 'clients closed');
  assert.is(g.gate.active, 0);
  assert.is(g.server.listening, false);
});

test('closeAll with graceMs sends FIN first: the client reads end of file, not a reset', async () => {
  const g = await gatedServer({});
  const client = await connect(g.port);
  client.on('end', () => client.end()); // answer the FIN, as a browser's event stream does
  await g.seen(1);
  const errors: string[] = [];
  client.on('error', (error: NodeJS.ErrnoException) => errors.push(error.code ?? error.message));
  const closing = g.gate.closeAll({ graceMs: 2000 });
  assert.is((await readAll(client)).length, 0);
  await withDeadline(closing, 5000, 'closeAll with grace');
  assert.equal(errors, []);
});

test.run();
