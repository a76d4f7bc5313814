// The socket calls every server and client script makes, each wrapped once
// (as UNP's Socket()/Bind()/Listen()): listen on TCP, UDP or a Unix path and
// announce it with the `listening on ...` line, connect with a deadline, name
// a connection by its four-tuple, and stop cleanly on Ctrl-C or SIGTERM.
import net from 'node:net';
import dgram from 'node:dgram';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import nodePath from 'node:path';
import { once } from 'node:events';
import { AF_INET, addressFamily, formatEndpoint, splitEndpoint } from './wire/address.ts';
import { Failure, describeError, errorCode } from './errors.ts';
import { launcherPids, watchLaunchers } from './runtime.ts';
import { portHolders } from './kernel/holder.ts';

export type Transport = 'tcp' | 'udp' | 'unix';

// Read once at startup, while the chain npm -> sh -> tsx -> this is whole.
const LAUNCHERS = launcherPids();

/** Resolves a host the way getaddrinfo() would; numeric addresses pass through. */
export async function resolveHost(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const family = addressFamily(host);
  if (family) return { address: host, family: family === AF_INET ? 4 : 6 };
  try {
    const found = await dns.lookup(host);
    return { address: found.address, family: found.family === 6 ? 6 : 4 };
  } catch (error) {
    throw new Failure(`cannot resolve host ${JSON.stringify(host)}: ${describeError(error)}`);
  }
}

/**
 * Why a bind failed, in words, with what to try next. A port in use names
 * the processes this user can see holding it (`held by 20398/node`).
 */
export function listenFailure(where: string, port: number, error: unknown, transport: 'tcp' | 'udp' = 'tcp'): Failure {
  const code = errorCode(error);
  let hint = '';
  if (code === 'EADDRINUSE') {
    const holders = port > 0 ? portHolders(port, transport) : [];
    const held = holders.length > 0 ? `, held by ${holders.map((owner) => `${owner.pid}/${owner.program}`).join(', ')}` : '';
    hint = `${held}; see \`netstat --port ${port}\`, or try --port 0`;
  } else if (code === 'EACCES' && port > 0 && port < 1024) {
    hint = '; ports below 1024 need root or CAP_NET_BIND_SERVICE; try --port 8001 or --port 0';
  } else if (code === 'EACCES') hint = '; check the permissions of the path';
  else if (code === 'EADDRNOTAVAIL') hint = '; is that an address of this machine? try --host 127.0.0.1';
  else if (code === 'EAFNOSUPPORT') hint = '; is IPv6 enabled on this machine?';
  return new Failure(`cannot listen on ${where}: ${describeError(error)}${hint}`);
}

/**
 * The `listening on ...` line every server prints on stderr when ready. A
 * Ctrl-C or SIGTERM from then on is held (not the default death) until the
 * script's onShutdown() takes it, so a signal sent right after the line is
 * a clean stop too.
 */
export function announceListening(endpoint: string, transport: Transport): void {
  holdSignals();
  process.stderr.write(`listening on ${endpoint} (${transport})\n`);
}

let shutdownInstalled = false;
let heldSignal: NodeJS.Signals | undefined;
let holder: ((signal: NodeJS.Signals) => void) | undefined;
let holderTimer: NodeJS.Timeout | undefined;
function holdSignals(): void {
  if (shutdownInstalled || holder) return;
  holder = (signal) => {
    heldSignal ??= signal;
    // A script that never installs onShutdown still stops (as a stopped server does).
    holderTimer ??= setTimeout(() => process.exit(0), 2000);
  };
  process.on('SIGINT', holder);
  process.on('SIGTERM', holder);
}

/**
 * The `open http://HOST:PORT/ in a browser` line for a server bound to
 * `endpoint`: a wildcard address (0.0.0.0, ::) is reached through loopback.
 */
export function browserHint(endpoint: string): string {
  const split = splitEndpoint(endpoint);
  let where = endpoint;
  if (split?.address === '0.0.0.0') where = formatEndpoint('127.0.0.1', Number(split.port));
  if (split?.address === '::') where = formatEndpoint('::1', Number(split.port));
  return `open http://${where}/ in a browser`;
}

/** `HOST:PORT` of a bound server or socket. */
export function boundEndpoint(server: net.Server | dgram.Socket): string {
  const address = server.address();
  if (typeof address === 'string') return address;
  if (!address) return '?';
  return formatEndpoint(address.address, address.port);
}

export interface TcpListenOptions {
  host: string;
  port: number;
  backlog?: number;
}

/**
 * bind() + listen() for TCP; resolves once the kernel listens, with the
 * bound endpoint (the real port after `--port 0`). Failures become one-line
 * Failure errors (`address already in use (EADDRINUSE); ...`).
 */
export async function listenTcp(server: net.Server, options: TcpListenOptions): Promise<string> {
  const { address } = await resolveHost(options.host);
  const where = formatEndpoint(address, options.port);
  try {
    server.listen({ host: address, port: options.port, backlog: options.backlog ?? 511 });
    await once(server, 'listening');
  } catch (error) {
    throw listenFailure(where, options.port, error);
  }
  return boundEndpoint(server);
}

/** bind() for UDP; resolves with the bound endpoint. */
export async function bindUdp(host: string, port: number): Promise<{ socket: dgram.Socket; endpoint: string }> {
  const { address, family } = await resolveHost(host);
  const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
  try {
    socket.bind(port, address);
    await once(socket, 'listening');
  } catch (error) {
    socket.close();
    throw listenFailure(formatEndpoint(address, port), port, error, 'udp');
  }
  return { socket, endpoint: boundEndpoint(socket) };
}

/**
 * bind() + listen() on a Unix socket path. A stale file left by a crashed run
 * (nobody accepts on it) is replaced; a path a live server holds, or a path
 * that is not a socket, is refused with a clear Failure.
 */
export async function listenUnix(server: net.Server, path: string): Promise<string> {
  checkUnixPath(path, 'listen on');
  await removeStaleSocket(path);
  try {
    server.listen({ path });
    await once(server, 'listening');
  } catch (error) {
    // libuv reports EACCES for a pipe whose directory is missing: look.
    const missing = missingDirectory(path);
    if (missing !== null) {
      const dir = nodePath.dirname(nodePath.resolve(path));
      const first = missing === dir ? '' : ` (${missing} is missing)`;
      throw new Failure(`cannot listen on ${path}: the directory ${dir} does not exist${first} (ENOENT); create it or choose another --unix path`);
    }
    throw listenFailure(path, 0, error);
  }
  return path;
}

// The first directory on the way to `path` that does not exist, or null.
function missingDirectory(path: string): string | null {
  const parts = nodePath.resolve(path).split('/').slice(1, -1);
  let dir = '';
  for (const part of parts) {
    dir += `/${part}`;
    try {
      if (!fs.statSync(dir).isDirectory()) return null; // not missing: another error
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return dir;
      return null; // EACCES on the way: the permission hint fits
    }
  }
  return null;
}

/** sizeof(sun_path) - 1: the longest Unix socket path bind()/connect() take. */
export const MAX_UNIX_PATH_BYTES = 107;

// libuv silently truncates a longer path (binding a different file), so refuse it.
function checkUnixPath(path: string, what: string): void {
  const bytes = Buffer.byteLength(path);
  if (bytes <= MAX_UNIX_PATH_BYTES) return;
  const shown = path.length > 60 ? `${path.slice(0, 60)}...` : path;
  throw new Failure(
    `cannot ${what} ${shown}: name too long (ENAMETOOLONG); a Unix socket path is at most ${MAX_UNIX_PATH_BYTES} bytes (this one has ${bytes})`,
  );
}

async function removeStaleSocket(path: string): Promise<void> {
  let stat;
  try {
    stat = fs.lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (!stat.isSocket()) {
    throw new Failure(`cannot listen on ${path}: the path exists and is not a socket; remove it or choose another --unix path`);
  }
  const probe = net.connect({ path });
  probe.on('error', () => {});
  // once(probe, 'connect') rejects on 'error': that rejection is the answer.
  const [outcome] = await once(probe, 'connect').then(
    () => ['live'],
    (error) => [errorCode(error)],
  );
  probe.destroy();
  if (outcome === 'live') {
    throw new Failure(`cannot listen on ${path}: a live server is using it; stop it or choose another --unix path`);
  }
  if (outcome === 'ECONNREFUSED') {
    fs.unlinkSync(path); // stale: left behind by a process that is gone
    return;
  }
  throw new Failure(`cannot listen on ${path}: cannot check the existing socket file: ${describeError({ code: outcome })}`);
}

/** `SRC -> DST` of a connection: the client's endpoint, then the server's. */
export function fourTuple(socket: net.Socket, unixPath?: string): string {
  if (unixPath !== undefined) return `${unixPath}#${socketId(socket)} -> ${unixPath}`;
  const remote = formatEndpoint(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
  const local = formatEndpoint(socket.localAddress ?? '?', socket.localPort ?? 0);
  return `${remote} -> ${local}`;
}

// Unix peers have no address of their own; number them so logs can be told apart.
const socketIds = new WeakMap<net.Socket, number>();
let nextSocketId = 1;
function socketId(socket: net.Socket): number {
  let id = socketIds.get(socket);
  if (id === undefined) socketIds.set(socket, (id = nextSocketId++));
  return id;
}

/**
 * Calls `stop` once on the first SIGINT or SIGTERM, or when the launcher the
 * user started (npx, npm start, the shebang's `npx tsx`) exits: a `kill $!`
 * reaches npm, not this process, and npm leaves it orphaned. A second signal
 * while stopping exits at once, as a user pressing Ctrl-C twice expects. A
 * stop that fails is reported as runMain reports errors (one line, exit 1).
 */
export function onShutdown(stop: (signal: NodeJS.Signals) => void | Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    Promise.resolve()
      .then(() => stop(signal))
      .catch((error: unknown) => {
        // Thrown outside the promise: runMain's guard prints it and exits 1.
        process.nextTick(() => {
          throw error;
        });
      });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  shutdownInstalled = true;
  if (holder) {
    process.off('SIGINT', holder);
    process.off('SIGTERM', holder);
    holder = undefined;
    clearTimeout(holderTimer);
    const early = heldSignal;
    if (early) setImmediate(() => handler(early));
  }
  watchLaunchers(() => handler('SIGHUP'), LAUNCHERS);
}

export interface ConnectOptions {
  host?: string;
  port?: number;
  path?: string;
  timeoutSeconds: number;
}

/**
 * connect() with a deadline. Refused, unreachable and timed-out connections
 * become one-line Failures naming the endpoint and the cause.
 */
export async function connectStream(options: ConnectOptions): Promise<net.Socket> {
  let where: string;
  let socket: net.Socket;
  if (options.path !== undefined) {
    checkUnixPath(options.path, 'connect to');
    where = options.path;
    socket = net.connect({ path: options.path });
  } else {
    const { address } = await resolveHost(options.host ?? '127.0.0.1');
    where = formatEndpoint(address, options.port ?? 0);
    socket = net.connect({ host: address, port: options.port ?? 0 });
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      once(socket, 'connect'),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
          options.timeoutSeconds * 1000,
        );
      }),
    ]);
  } catch (error) {
    socket.destroy();
    const code = errorCode(error);
    // The handshake completed (a refused SYN is ECONNREFUSED) and the server
    // reset at once, before libuv reported the connect: a reset like any other.
    if (code === 'ECONNRESET') throw new Failure(`connection to ${where}: ${describeError(error)}`);
    const hint =
      code === 'ECONNREFUSED' ? '; is the server running on that port?' :
      code === 'ENOENT' ? '; is the server running on that path?' :
      code === 'ETIMEDOUT' ? ` after ${options.timeoutSeconds} s; try --timeout` : '';
    throw new Failure(`cannot connect to ${where}: ${describeError(error)}${hint}`);
  } finally {
    clearTimeout(timer);
  }
  return socket;
}


/**
 * A UDP socket connect()ed to HOST:PORT (send() needs no address, and an
 * ICMP port unreachable comes back as an ECONNREFUSED 'error').
 */
export async function connectDatagram(host: string, port: number): Promise<{ socket: dgram.Socket; endpoint: string }> {
  const { address, family } = await resolveHost(host);
  const endpoint = formatEndpoint(address, port);
  const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
  try {
    socket.connect(port, address);
    await once(socket, 'connect');
  } catch (error) {
    socket.close();
    throw new Failure(`cannot connect to ${endpoint} (udp): ${describeError(error)}`);
  }
  return { socket, endpoint };
}
