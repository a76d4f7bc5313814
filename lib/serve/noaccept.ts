// listen() without accept(), for real, in Node: the C lesson's server calls
// socket(), bind(), listen() and then never accept(), and the kernel still
// completes handshakes into the accept queue. Node's libuv calls accept() on
// its own as soon as the listening fd is readable and the event loop runs,
// and Node has no API to stop that. So the listener lives in a worker thread
// that blocks in Atomics.wait() inside its 'listening' callback: while that
// thread is blocked its event loop never runs, libuv never polls the fd, and
// nothing calls accept(). The main thread stays free to print the queue and
// to handle Ctrl-C. acceptAll() wakes the worker (Atomics.notify): its loop
// runs, libuv accepts everything queued, and the worker forwards each
// connection and the bytes waiting in it.
//
// The worker is created from a code string (`eval: true`), so this works when
// the script is bundled into one file, and under Deno and Bun, which have
// node:worker_threads too.
import { Worker } from 'node:worker_threads';
import { EventEmitter, once } from 'node:events';
import fs from 'node:fs';
import { formatEndpoint } from '../wire/address.ts';
import { listenFailure, resolveHost } from '../net.ts';
import { defaultProcRoot } from '../kernel/procfile.ts';
import { readSockets, type SocketRow } from '../kernel/table.ts';

const WORKER_CODE = `(async () => {
  const { parentPort, workerData } = await import('node:worker_threads');
  const net = await import('node:net');
  const flag = new Int32Array(workerData.flag);
  const server = net.createServer();
  let nextId = 1;
  const sockets = new Map();
  // The main thread may close a connection at once (an access list said no).
  parentPort.on('message', (message) => {
    if (message.type === 'close') sockets.get(message.id)?.destroy();
  });
  server.on('error', (error) => parentPort.postMessage({ type: 'error', code: error.code, message: error.message }));
  server.on('listening', () => {
    const address = server.address();
    parentPort.postMessage({ type: 'listening', address: address.address, port: address.port });
    // Hold: this thread's event loop stops here, so libuv never accept()s.
    Atomics.wait(flag, 0, 0);
    parentPort.postMessage({ type: 'accepting' });
  });
  server.on('connection', (socket) => {
    const id = nextId++;
    socket.on('error', () => {});
    sockets.set(id, socket);
    socket.on('close', () => sockets.delete(id));
    parentPort.postMessage({
      type: 'connection', id,
      remoteAddress: socket.remoteAddress, remotePort: socket.remotePort,
      localAddress: socket.localAddress, localPort: socket.localPort,
    });
    socket.on('data', (bytes) => parentPort.postMessage({ type: 'data', id, bytes }));
    socket.on('end', () => parentPort.postMessage({ type: 'end', id }));
  });
  server.listen({ host: workerData.host, port: workerData.port, backlog: workerData.backlog });
})();
`;

/** A connection the worker accepted, as the main thread learns of it. */
export interface AcceptedConnection {
  id: number;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
}

export interface NoAcceptOptions {
  host: string;
  port: number;
  backlog: number;
}

/**
 * A TCP listener that does not accept until told to. Events: `connection`
 * (AcceptedConnection), `data` (id, Buffer), `end` (id), `error` (Error).
 */
export class HeldListener extends EventEmitter {
  readonly address: string;
  readonly port: number;
  private readonly worker: Worker;
  private readonly flag: Int32Array;

  constructor(worker: Worker, flag: Int32Array, address: string, port: number) {
    super();
    this.worker = worker;
    this.flag = flag;
    this.address = address;
    this.port = port;
  }

  /** `HOST:PORT` as the `listening on` line prints it. */
  get endpoint(): string {
    return formatEndpoint(this.address, this.port);
  }

  /** Wakes the worker: it accept()s everything queued, then keeps accepting. */
  acceptAll(): void {
    Atomics.store(this.flag, 0, 1);
    Atomics.notify(this.flag, 0);
  }

  /** Closes one accepted connection at once (the worker destroys its socket). */
  closeConnection(id: number): void {
    this.worker.postMessage({ type: 'close', id });
  }

  /** Stops the worker: the listener and every accepted socket close. */
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * socket() + bind() + listen(backlog) in a worker that then holds without
 * accept(). Resolves once the kernel listens; bind errors become one-line
 * Failures (`address already in use (EADDRINUSE); ...`).
 */
export async function listenWithoutAccept(options: NoAcceptOptions): Promise<HeldListener> {
  const { address } = await resolveHost(options.host);
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_CODE, {
    eval: true,
    workerData: { host: address, port: options.port, backlog: options.backlog, flag: flag.buffer },
  });
  const [first] = (await once(worker, 'message')) as [{ type: string; address: string; port: number; code?: string; message?: string }];
  if (first.type !== 'listening') {
    await worker.terminate();
    throw listenFailure(formatEndpoint(address, options.port), options.port, Object.assign(new Error(first.message), { code: first.code }));
  }
  const held = new HeldListener(worker, flag, first.address, first.port);
  worker.on('message', (message: { type: string; id: number; bytes?: Uint8Array } & AcceptedConnection) => {
    if (message.type === 'connection') held.emit('connection', message);
    else if (message.type === 'data') held.emit('data', message.id, Buffer.from(message.bytes!));
    else if (message.type === 'end') held.emit('end', message.id);
    else if (message.type === 'accepting') held.emit('accepting');
  });
  worker.on('error', (error) => held.emit('error', error));
  return held;
}

/** The kernel's cap on any backlog (`net.core.somaxconn`), or null if unknown. */
export function somaxconn(procRoot = defaultProcRoot()): number | null {
  try {
    const value = Number(fs.readFileSync(`${procRoot}/sys/net/core/somaxconn`, 'utf8').trim());
    return Number.isInteger(value) ? value : null;
  } catch {
    return null;
  }
}

/** What the kernel says about one listener: its row and the connections queued on it. */
export interface QueueView {
  listener: SocketRow | null;
  /** Server-side ESTABLISHED sockets no descriptor refers to yet: the accept queue. */
  queued: SocketRow[];
}

/**
 * Reads /proc/net/tcp{,6} once (through lib/procnet.ts) and returns the
 * LISTEN row of `address:port` (its rx_queue is the accept-queue length) and
 * the queued server-side sockets (inode 0; their Recv-Q holds the bytes the
 * client sent before accept()).
 */
export function readAcceptQueue(address: string, port: number, procRoot = defaultProcRoot()): QueueView {
  const rows = readSockets({ tcp: true, udp: false, unix: false }, procRoot);
  const listener = rows.find((row) => row.state === 'LISTEN' && row.localPort === port && row.localAddress === address) ?? null;
  const queued = rows.filter(
    (row) => row.localPort === port && row.inode === 0 && row.state !== 'TIME_WAIT' && row.state !== 'LISTEN' && !row.state.startsWith('SYN'),
  );
  return { listener, queued };
}
