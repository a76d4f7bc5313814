// The half-open (SYN) queue held for real, as steps of evidence: inside a
// private network namespace (lib/netns.ts) a listener that never accepts
// (noaccept.ts), a rule that drops the client's final pure ACK, clients whose
// connect() returns while the server side sits in SYN_RECV, the release into
// the accept queue, accept(), and optionally the SYN queue's overflow. Each
// step carries the rows of the port (netstat's layout), the kernel counters
// that changed (kernel/counters.ts) and, with a capture, the packets.
import net from 'node:net';
import { once } from 'node:events';
import { Failure } from '../errors.ts';
import { sleep, until, withTimeout } from '../deadline.ts';
import { listenWithoutAccept, readAcceptQueue, type HeldListener } from './noaccept.ts';
import { readSockets, attachOwners, type SocketRow } from '../kernel/table.ts';
import { readCounters, counterDeltas, COUNTER_MEANINGS, type Counters } from '../kernel/counters.ts';
import { addDropPureAck, readSysctl, startCapture, writeSysctl, type Capture, type DropRule } from '../netns.ts';

export interface SynQueueOptions {
  clients: number;
  backlog: number;
  release: 'ack' | 'data';
  overflow: boolean;
  syncookies: number | null;
  capture: boolean;
}

export interface Step {
  name: string;
  rows: SocketRow[];
  counters: Counters;
  packets?: string[];
  [key: string]: unknown;
}

/** How a step is told while it happens: a heading, lines, the table. */
export interface StepSink {
  step(step: Step, heading: string, sentences: string[]): void;
  note(line: string): void;
}

/** The port's rows inside the namespace, owners attached. */
export function portRows(port: number): SocketRow[] {
  const rows = readSockets({ tcp: true, udp: false, unix: false }).filter((row) => row.localPort === port || row.remotePort === port);
  attachOwners(rows);
  return rows;
}

const serverSide = (rows: SocketRow[], port: number, state: string) => rows.filter((row) => row.localPort === port && row.state === state);
const clientSide = (rows: SocketRow[], port: number, state: string) => rows.filter((row) => row.remotePort === port && row.state === state);

function connectClient(port: number): net.Socket {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  return socket;
}

/** Runs the whole story; returns the JSON document. `stop` is set by Ctrl-C. */
export async function runSynQueue(options: SynQueueOptions, sink: StepSink, cleanups: Array<() => Promise<void> | void>): Promise<Record<string, unknown>> {
  if (options.syncookies !== null) writeSysctl('net.ipv4.tcp_syncookies', options.syncookies);
  const settings = {
    syncookies: readSysctl('net.ipv4.tcp_syncookies'),
    somaxconn: readSysctl('net.core.somaxconn'),
    synackRetries: readSysctl('net.ipv4.tcp_synack_retries'),
    maxSynBacklog: readSysctl('net.ipv4.tcp_max_syn_backlog'),
  };
  const listener: HeldListener = await listenWithoutAccept({ host: '127.0.0.1', port: 0, backlog: options.backlog });
  cleanups.push(() => listener.close());
  const port = listener.port;
  const clients: net.Socket[] = [];
  cleanups.push(() => clients.forEach((c) => c.resetAndDestroy()));
  let rule: DropRule | null = await addDropPureAck(port);
  cleanups.push(() => rule?.remove());
  let capture: Capture | null = null;
  if (options.capture) {
    const started = await startCapture(`tcp port ${port}`);
    if (typeof started === 'string') sink.note(started);
    else {
      capture = started;
      cleanups.push(() => capture?.stop());
    }
  }
  let last = readCounters();
  const steps: Step[] = [];
  const emit = async (name: string, heading: string, sentences: string[], extra: Record<string, unknown> = {}) => {
    if (capture) await sleep(60); // tcpdump -l --immediate-mode: lines follow within milliseconds
    const now = readCounters();
    const step: Step = { name, rows: portRows(port), counters: counterDeltas(last, now), ...extra };
    if (capture) step.packets = capture.take();
    last = now;
    steps.push(step);
    sink.step(step, heading, sentences);
    return step;
  };

  await emit('listen', `listen(fd, ${options.backlog}) on 127.0.0.1:${port}, no accept()`, [
    `The listener is in place; a ${rule.tool} rule in this namespace drops every pure ACK to port ${port} (the client's last handshake packet).`,
  ]);

  // Step 2: the handshakes stop half-way on the server.
  const n = options.clients;
  for (let i = 0; i < n; i++) clients.push(connectClient(port));
  await Promise.all(clients.map((c) => withTimeout(once(c, 'connect'), 5000, 'connect() on a client')));
  const held = await until(() => serverSide(portRows(port), port, 'SYN_RECV').length >= n || null, 2000, `${n} SYN_RECV rows`).catch(() => {
    const deltas = counterDeltas(last, readCounters());
    const seen = serverSide(portRows(port), port, 'SYN_RECV').length;
    const shown = Object.entries(deltas).filter(([name]) => COUNTER_MEANINGS[name]).map(([name, d]) => `${name} +${d}`).join(', ');
    throw new Failure(`${seen === 0 ? 'no SYN_RECV row appeared' : `only ${seen} SYN_RECV rows appeared`} for the ${n} clients; the counters show ${shown || 'no change'} instead`);
  });
  void held;
  await until(async () => (await rule!.counter()) >= n || null, 2000, `the rule to drop ${n} ACKs`).catch(() => null);
  const dropped = await rule.counter();
  const step2 = await emit('connect', `${n} clients call connect()`, [
    `connect() returned on every client (ESTABLISHED), while the server side holds ${n} rows in SYN_RECV (no owner, inode 0): the half-open queue.`,
    `The listener's Recv-Q is ${readAcceptQueue('127.0.0.1', port).listener?.recvQ ?? '?'}: nothing is in the accept queue. The rule has dropped ${dropped} ACKs.`,
  ], { ackDropped: dropped });
  void step2;

  // Step 3: release.
  const t0 = performance.now();
  if (options.release === 'ack') {
    await rule.remove();
    rule = null;
  } else {
    for (const client of clients) client.write('x');
  }
  await until(() => (readAcceptQueue('127.0.0.1', port).listener?.recvQ ?? 0) >= n || null, 40000, `the accept queue to hold ${n}`);
  const releaseSeconds = Math.round(performance.now() - t0) / 1000;
  if (rule) {
    await rule.remove();
    rule = null;
  }
  await emit('release', options.release === 'ack' ? 'the rule goes; the SYN-ACK re-send brings the ACK' : 'each client writes one byte (not a pure ACK)', [
    options.release === 'ack'
      ? `With the rule gone, the next SYN-ACK re-send drew an ACK that got through: ${releaseSeconds} s from the release.`
      : `A data segment is not a pure ACK: the handshakes completed ${releaseSeconds} s after the writes.`,
    `The rows are ESTABLISHED with no owner and the listener's Recv-Q is ${n}: the connections moved from the half-open queue to the accept queue.`,
  ], { releaseSeconds });

  // Step 4: accept().
  const accepted: string[] = [];
  const bytes = new Map<number, number>();
  listener.on('data', (id: number, chunk: Buffer) => bytes.set(id, (bytes.get(id) ?? 0) + chunk.length));
  const conns: Array<{ id: number; remoteAddress: string; remotePort: number }> = [];
  listener.on('connection', (conn) => conns.push(conn));
  listener.acceptAll();
  const want = options.release === 'data' ? 1 : 0;
  await until(() => conns.length >= n && conns.every((c) => (bytes.get(c.id) ?? 0) >= want) || null, 5000, `accept() of ${n} connections`);
  for (const conn of conns) accepted.push(`accepted 127.0.0.1:${port} <- ${conn.remoteAddress}:${conn.remotePort}; ${bytes.get(conn.id) ?? 0} bytes sent before accept()${want ? ': "x"' : ''}`);
  await emit('accept', 'accept()', [...accepted, 'The rows now have their owner (this process): accept() took them from the accept queue.'], { accepted });

  if (options.overflow) await overflow(port, options, clients, emit, (r) => (rule = r));
  return { settings, port, backlog: options.backlog, clients: n, release: options.release, steps };
}

async function overflow(
  port: number,
  options: SynQueueOptions,
  clients: net.Socket[],
  emit: (name: string, heading: string, sentences: string[], extra?: Record<string, unknown>) => Promise<Step>,
  setRule: (rule: DropRule) => void,
): Promise<void> {
  const rule = await addDropPureAck(port);
  setRule(rule);
  const mine: net.Socket[] = [];
  let queueSize: number | null = null;
  let extra = 0;
  const limit = options.backlog * 2 + 8;
  while (mine.length < limit && extra < 3) {
    const before = serverSide(portRows(port), port, 'SYN_RECV').length;
    const socket = connectClient(port);
    mine.push(socket);
    clients.push(socket);
    // A held request shows as a row within milliseconds; a cookie or a dropped SYN never does.
    const grew = await until(() => serverSide(portRows(port), port, 'SYN_RECV').length > before || null, 300, 'a row').catch(() => false);
    if (!grew) {
      if (queueSize === null) queueSize = before;
      extra++;
    }
  }
  await sleep(100);
  const rows = portRows(port);
  const synRecv = serverSide(rows, port, 'SYN_RECV').length;
  const sent = clientSide(rows, port, 'SYN_SENT').length;
  const established = mine.length - synRecv - sent;
  const cookies = options.syncookies ?? 1;
  await emit('overflow', `${mine.length} more clients overflow the half-open queue (the rule is back)`, [
    `The SYN queue held ${queueSize ?? synRecv} requests (listen backlog ${options.backlog}); the ${extra} clients past it:`,
    cookies
      ? `tcp_syncookies=${cookies}: they got a SYN cookie: ESTABLISHED on the client, no row at all on the server (${established} beyond the held ones).`
      : `tcp_syncookies=0: their SYNs were dropped; ${sent} clients wait in SYN_SENT and retry.`,
  ], { queueSize: queueSize ?? synRecv, extraClients: extra, clientsSynSent: sent });
}

/** `  +3  ListenDrops  what it counts` lines for the changed counters. */
export function formatDeltas(deltas: Counters): string[] {
  const names = Object.keys(deltas).filter((name) => COUNTER_MEANINGS[name]);
  const width = Math.max(0, ...names.map((name) => name.length));
  return names.map((name) => `  ${(deltas[name] > 0 ? '+' : '') + deltas[name]}`.padEnd(8) + `${name.padEnd(width)}  ${COUNTER_MEANINGS[name]}`);
}
