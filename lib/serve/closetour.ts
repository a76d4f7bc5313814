// How a TCP connection ends, as steps of evidence: the half-close (FIN_WAIT2
// and CLOSE_WAIT, the server still writing), the close that leaves TIME_WAIT
// on the side that closed first (client, then server, and a new listener on
// the same port at once), the abortive close (RST, ECONNRESET, no TIME_WAIT)
// and the leak (a server process that never closes: CLOSE_WAIT owned by its
// pid). Each step carries the rows of the tour's own four-tuples as netstat
// reads them and, with a capture, the FIN/ACK/RST packets. Also where the
// tour runs (placeCloseTour: the private namespace, or the host's loopback
// and why).
import net from 'node:net';
import { once } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';
import { Failure } from '../errors.ts';
import { sleep, until, withTimeout } from '../deadline.ts';
import { readSockets, attachOwners, type SocketRow } from '../kernel/table.ts';
import { explainRow } from '../kernel/explain.ts';
import { runInPrivateNamespace, startCapture, type Capture } from '../netns.ts';
import { runtimeName } from '../runtime.ts';

/** Set in the environment of the leaking server child (the tour re-runs itself). */
export const LEAK_ENV = 'SOCKET_LAB_CLOSE_TOUR_LEAK';

export interface Step {
  name: string;
  rows: SocketRow[];
  packets?: string[];
  [key: string]: unknown;
}

/**
 * Where the tour runs: `private` once inside the namespace; `host` with why
 * not (unshare refused, Bun, --view); or, on the outer side, the exit code
 * of the tour re-run in the namespace.
 */
export async function placeCloseTour(name: string, view: boolean): Promise<{ where: 'private' | 'host'; why?: string } | { exitCode: number }> {
  try {
    // Bun closes the inherited control pipe (fd 3) that lib/netns.ts keeps the inner process alive by.
    if (runtimeName() === 'bun') throw new Failure('Bun cannot keep the namespace\'s control pipe open');
    if (view) throw new Failure('--view: a page on the host cannot see the sockets of a private network namespace');
    const code = await runInPrivateNamespace(name);
    return code === null ? { where: 'private' } : { exitCode: code };
  } catch (error) {
    if (!(error instanceof Failure)) throw error;
    return { where: 'host', why: error.message };
  }
}

/** How a step is told while it happens. */
export interface StepSink {
  step(step: Step, sentences: string[]): void;
  note(line: string): void;
  /** Awaited once the tour's listener is up, before step 1 (--view prints its URL here). */
  listening?(port: number): Promise<void> | void;
}

interface Tuple {
  client: number;
  server: number;
}

/** The rows of these four-tuples (both sides, 127.0.0.1) and of the tour's listeners, owners attached. */
export function tupleRows(tuples: Tuple[], listeners: number[] = []): SocketRow[] {
  const rows = readSockets({ tcp: true, udp: false, unix: false }).filter(
    (row) =>
      row.proto === 'tcp' &&
      (tuples.some(
        (t) => (row.localPort === t.client && row.remotePort === t.server) || (row.localPort === t.server && row.remotePort === t.client),
      ) ||
        (row.state === 'LISTEN' && row.localAddress === '127.0.0.1' && listeners.includes(row.localPort ?? -1))),
  );
  attachOwners(rows);
  return rows;
}

const side = (rows: SocketRow[], port: number, state?: string) => rows.find((r) => r.localPort === port && r.state !== 'LISTEN' && (!state || r.state === state));

/** A server's accepted connection, with what it read. */
interface Accepted {
  socket: net.Socket;
  ended: Promise<void>;
  error: Promise<NodeJS.ErrnoException>;
}

async function listen(port = 0): Promise<net.Server & { accepted: Accepted[] }> {
  const server = Object.assign(net.createServer({ allowHalfOpen: true }), { accepted: [] as Accepted[] });
  server.on('connection', (socket) => {
    const error = new Promise<NodeJS.ErrnoException>((resolve) => socket.on('error', resolve));
    server.accepted.push({ socket, ended: once(socket, 'end').then(() => undefined, () => undefined), error });
  });
  server.listen(port, '127.0.0.1');
  await withTimeout(once(server, 'listening'), 5000, `listen() on 127.0.0.1:${port}`);
  return server;
}

async function connect(port: number, clients: net.Socket[]): Promise<{ socket: net.Socket; tuple: Tuple }> {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  socket.on('error', () => {});
  clients.push(socket);
  await withTimeout(once(socket, 'connect'), 5000, `connect() to 127.0.0.1:${port}`);
  return { socket, tuple: { client: socket.localPort!, server: port } };
}

/** The leaking server, in its own process: accepts, reads, never close()s. Prints `port N`. */
export function runLeakServer(): void {
  const held: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    held.push(socket);
    socket.on('error', () => {});
    socket.resume();
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${(server.address() as net.AddressInfo).port}\n`));
  // Gone with its parent: stdin is the parent's pipe.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}

/** Runs the six steps; returns the steps. `cleanups` undo everything started so far. */
export async function runCloseTour(
  options: { capture: boolean; selfCommand: string[] },
  sink: StepSink,
  cleanups: Array<() => Promise<void> | void>,
): Promise<Step[]> {
  const clients: net.Socket[] = [];
  const servers: net.Server[] = [];
  cleanups.push(() => clients.forEach((c) => c.destroyed || c.resetAndDestroy()));
  cleanups.push(() => servers.forEach((s) => s.close()));
  let capture: Capture | null = null;
  if (options.capture) {
    const started = await startCapture('tcp and host 127.0.0.1');
    if (typeof started === 'string') sink.note(started);
    else {
      capture = started;
      cleanups.push(() => capture?.stop());
    }
  }
  const steps: Step[] = [];
  const emit = async (name: string, rows: SocketRow[], sentences: string[], extra: Record<string, unknown> = {}) => {
    const step: Step = { name, rows, ...extra };
    if (capture) {
      await sleep(80); // tcpdump -l --immediate-mode: lines follow within milliseconds
      step.packets = capture.take().filter((line) => /Flags \[(?:[^\]]*[FR][^\]]*|\.)\]/.test(line));
    }
    steps.push(step);
    sink.step(step, sentences);
  };

  // Step 1: connect.
  const server = await listen();
  servers.push(server);
  const port = (server.address() as net.AddressInfo).port;
  await sink.listening?.(port);
  const a = await connect(port, clients);
  await until(() => server.accepted[0], 5000, 'accept()');
  const t1 = a.tuple;
  const rows1 = await until(() => { const r = tupleRows([t1], [port]); return side(r, t1.client, 'ESTABLISHED') && side(r, port, 'ESTABLISHED') && r; }, 3000, 'two ESTABLISHED rows');
  await emit('a client connects: both sides ESTABLISHED', rows1, [
    `The four-tuple is 127.0.0.1:${t1.client} <-> 127.0.0.1:${port}: one connection, two sockets, one row for each side.`,
  ], { tuple: t1 });

  // Step 2: half-close.
  const conn1 = server.accepted[0];
  a.socket.end();
  await withTimeout(conn1.ended, 3000, "the server's read() to return 0");
  const rows2 = await until(() => { const r = tupleRows([t1], [port]); return side(r, t1.client, 'FIN_WAIT2') && side(r, port, 'CLOSE_WAIT') && r; }, 3000, 'FIN_WAIT2 and CLOSE_WAIT');
  const line = 'still here after your FIN\n';
  const got = new Promise<string>((resolve) => a.socket.once('data', (chunk) => resolve(String(chunk))));
  conn1.socket.write(line);
  const read = await withTimeout(got, 3000, 'the client to read the server\'s line');
  await emit('the client half-closes (shutdown(SHUT_WR)): FIN_WAIT2 and CLOSE_WAIT', rows2, [
    `The client's end() sent a FIN; the server's read() returned 0 (EOF), so the server is in CLOSE_WAIT and the client in FIN_WAIT2.`,
    `The server can still write: it sent ${JSON.stringify(line)} and the client read ${JSON.stringify(read)}. Half-close works.`,
  ]);

  // Step 3: the server closes; the client closed first, so it waits.
  conn1.socket.end();
  const rows3 = await until(() => { const r = tupleRows([t1], [port]); return side(r, t1.client, 'TIME_WAIT') && !side(r, port) && r; }, 3000, "the client's TIME_WAIT");
  const tw3 = side(rows3, t1.client, 'TIME_WAIT')!;
  await emit('the server closes: the client, which closed first, is in TIME_WAIT', rows3, [
    `The server sent its FIN (LAST_ACK until the client's ACK, too brief to see on loopback) and its row is gone.`,
    `The client's side is in TIME_WAIT with no owner: ${tw3.timerSeconds ?? '?'} s left on its timer (60 s on Linux), so stray segments of this four-tuple die here.`,
  ]);

  // Step 4: the server closes first; TIME_WAIT is on the server's side; a new listener on the same port.
  const b = await connect(port, clients);
  const t2 = b.tuple;
  const conn2 = await until(() => server.accepted[1], 5000, 'accept()');
  conn2.socket.end();
  await withTimeout(once(b.socket, 'end'), 3000, "the client's read() to return 0");
  b.socket.end();
  await until(() => side(tupleRows([t2]), port, 'TIME_WAIT'), 3000, "the server's TIME_WAIT");
  await withTimeout(new Promise((resolve) => server.close(resolve)), 3000, 'the old listener to close');
  const again = await listen(port);
  servers.push(again);
  const rows4 = tupleRows([t1, t2], [port]);
  await emit('the server closes first: TIME_WAIT on the server side, and a new listener on the same port at once', rows4, [
    `The server closed first, so the TIME_WAIT row has the server's port ${port} as its local side (${side(rows4, port, 'TIME_WAIT')?.timerSeconds ?? '?'} s left).`,
    `The old listener closed, and a new listen() on 127.0.0.1:${port} succeeded at once beside that TIME_WAIT: Node sets SO_REUSEADDR on every listening socket. A C server without it gets EADDRINUSE from bind() for up to 60 s.`,
  ], { tuple: t2 });

  // Step 5: the abortive close.
  const c = await connect(port, clients);
  const t3 = c.tuple;
  const conn3 = await until(() => again.accepted[0], 5000, 'accept()');
  c.socket.resetAndDestroy();
  const error = await withTimeout(conn3.error, 3000, "the server's read() to fail");
  const rows5 = await until(() => { const r = tupleRows([t3], [port]); return !side(r, t3.client) && !side(r, port) && r; }, 3000, 'the reset rows to go');
  await emit('the client resets the connection (SO_LINGER 0): an RST, no TIME_WAIT', rows5, [
    `resetAndDestroy() sets SO_LINGER to 0 and closes: the kernel sends an RST instead of a FIN, and both rows of 127.0.0.1:${t3.client} <-> 127.0.0.1:${port} are gone, no TIME_WAIT on either side.`,
    `The server's next read failed: ${error.code === 'ECONNRESET' ? 'connection reset by peer (ECONNRESET)' : `${error.code}: ${error.message}`}.`,
  ], { tuple: t3, peerError: error.code ?? null });

  // Step 6: the leak, in a separate process so that its pid owns the socket.
  const leak = await startLeakServer(options.selfCommand, cleanups);
  const d = await connect(leak.port, clients);
  const t4 = d.tuple;
  d.socket.end();
  const rows6 = await until(() => { const r = tupleRows([t4], [leak.port]); const cw = side(r, leak.port, 'CLOSE_WAIT'); return cw && cw.pid === leak.pid && r; }, 3000, 'CLOSE_WAIT owned by the leaking server');
  await emit("a server that never closes: CLOSE_WAIT owned by its pid (the leak)", rows6, [
    `The leaking server (pid ${leak.pid}) read the client's EOF and never called close(): its socket stays in CLOSE_WAIT for as long as the process lives, and the client waits in FIN_WAIT2.`,
    `netstat --explain: ${explainRow(side(rows6, leak.port, 'CLOSE_WAIT')!)}`,
  ], { tuple: t4, leakPid: leak.pid });
  return steps;
}

async function startLeakServer(self: string[], cleanups: Array<() => Promise<void> | void>): Promise<{ pid: number; port: number }> {
  const child: ChildProcess = spawn(self[0], self.slice(1), { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, [LEAK_ENV]: '1' } });
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await withTimeout(once(child, 'exit'), 2000, 'the leaking server to exit').catch(() => {});
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk));
  const port = await until(() => Number(/port (\d+)/.exec(out)?.[1] ?? 0), 15000, 'the leaking server to listen').catch((error) => {
    throw child.exitCode !== null ? new Failure(`the leaking server exited early (code ${child.exitCode})`) : error;
  });
  return { pid: child.pid!, port };
}
