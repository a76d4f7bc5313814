// socket-view's HTTP server, on lib/wire/http.ts: the routes (/ the page,
// /events Server-Sent Events, /api/sockets, /api/statistics, /api/status),
// the Host check against DNS rebinding (421), GET and HEAD only, and the hub
// that reads one snapshot per interval for all open event streams, diffs it
// into the timeline and sends each stream its filtered view when it changed.
import type net from 'node:net';
import os from 'node:os';
import { COUNTER_MEANINGS, LESSON_COUNTERS, readCounters } from '../kernel/counters.ts';
import { diffSnapshots, listeningPorts, type TimelineEvent } from '../kernel/diff.ts';
import { currentContext, explainRow, type ExplainContext } from '../kernel/explain.ts';
import { normalizeState } from '../kernel/procnet.ts';
import { Sampler, type Snapshot } from '../kernel/sampler.ts';
import { filterRows, type SocketRow } from '../kernel/table.ts';
import { HttpError, MAX_HEAD_BYTES, RequestReader, STATUS_TEXT, formatResponse, header, type RequestHead } from '../wire/http.ts';
import { renderViewPage } from './view-page.ts';

/** The filters a page, a stream or an API call may carry as query parameters. */
export interface ViewFilter {
  port?: number;
  state?: string;
  program?: string;
  listening?: boolean;
  tcp?: boolean;
  udp?: boolean;
  unix?: boolean;
}

/** Query parameters -> filter; a bad value is an HttpError 400. */
export function parseViewFilter(params: URLSearchParams): ViewFilter {
  const filter: ViewFilter = {};
  const port = params.get('port');
  if (port !== null && port !== '') {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new HttpError(400, `port=${JSON.stringify(port)}: expected 1-65535`);
    filter.port = n;
  }
  const state = params.get('state');
  if (state !== null && state !== '') {
    const name = normalizeState(state);
    if (name === null) throw new HttpError(400, `state=${JSON.stringify(state)}: unknown state`);
    filter.state = name;
  }
  const program = params.get('program');
  if (program !== null && program !== '') filter.program = program;
  for (const flag of ['listening', 'tcp', 'udp', 'unix'] as const) {
    const value = params.get(flag);
    if (value !== null) filter[flag] = value !== '0' && value !== 'false';
  }
  return filter;
}

const isTcp = (row: SocketRow) => row.proto === 'tcp' || row.proto === 'tcp6';

/** The rows a filter keeps. `program` also keeps the queues of that program's listeners (no owner yet). */
export function applyFilter(rows: SocketRow[], filter: ViewFilter, defaultKinds = { tcp: true, udp: true, unix: true }): SocketRow[] {
  const only = filter.tcp || filter.udp || filter.unix;
  const kinds = only ? { tcp: !!filter.tcp, udp: !!filter.udp, unix: !!filter.unix } : defaultKinds;
  let kept = rows.filter((row) =>
    row.proto === 'unix' ? kinds.unix : isTcp(row) ? kinds.tcp : kinds.udp,
  );
  kept = filterRows(kept, { port: filter.port, state: filter.state, listening: filter.listening });
  if (filter.program) {
    const wanted = filter.program.toLowerCase();
    const matches = (row: SocketRow) => row.owners.some((o) => o.program.toLowerCase().includes(wanted) || String(o.pid) === wanted);
    const ports = listeningPorts(kept.filter(matches));
    kept = kept.filter((row) => matches(row) || (isTcp(row) && row.localPort !== null && ports.has(row.localPort) && row.pid === null));
  }
  return kept;
}

function eventMatches(event: TimelineEvent, filter: ViewFilter): boolean {
  if (filter.port !== undefined && event.localPort !== filter.port && event.remotePort !== filter.port) return false;
  if (filter.state !== undefined && event.state !== filter.state) return false;
  if (filter.program && !(event.program ?? '').toLowerCase().includes(filter.program.toLowerCase())) return false;
  return true;
}

export interface ViewOptions {
  intervalMs: number;
  /** Comment heartbeat on every event stream (default 15 s). */
  heartbeatMs?: number;
  /** The bound address and port, for the Host check. */
  host: string;
  port: number;
  sampler?: Sampler;
  /** Timeline length kept (default 200). */
  timelineMax?: number;
}

interface Viewer {
  socket: net.Socket;
  filter: ViewFilter;
  last: string;
  /** The rows and timeline `last` was made from: the same two again is the same document. */
  lastRows?: SocketRow[];
  lastTimeline?: TimelineEvent[];
}

/** What an event stream carries: the filtered rows, the explanation of each non-queue row, the timeline. */
export interface ViewDocument {
  time: number;
  reads: number;
  intervalMs: number;
  rows: SocketRow[];
  /** Rows the filter kept; more than rows.length when the stream was cut at MAX_STREAM_ROWS. */
  total: number;
  explanations: Record<string, string>;
  timeline: TimelineEvent[];
}

const LANE_STATES = new Set(['SYN_SENT', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSING', 'CLOSE', 'SYN_RECV']);
const MAX_EXPLAINED = 300;
/** Rows one stream event carries at most (listeners first): a page cannot draw 20,000 rows twice a second, nor should the server send them. */
export const MAX_STREAM_ROWS = 1000;

/** The shared reader: one /proc reading per interval while any stream is open. */
export class ViewHub {
  readonly sampler: Sampler;
  readonly viewers = new Set<Viewer>();
  timeline: TimelineEvent[] = [];
  private previous: SocketRow[] | null = null;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly context: ExplainContext;
  private ticking = false;

  readonly options: ViewOptions;

  constructor(options: ViewOptions) {
    this.options = options;
    this.sampler = options.sampler ?? new Sampler();
    this.context = currentContext();
  }

  /** A snapshot no older than the interval (shared with the streams). */
  async snapshot(): Promise<Snapshot> {
    const snap = await this.sampler.get(this.options.intervalMs);
    this.record(snap);
    return snap;
  }

  private record(snap: Snapshot): void {
    if (this.previous === snap.rows) return;
    if (this.previous) {
      const events = diffSnapshots(this.previous, snap.rows, snap.time);
      if (events.length > 0) {
        this.timeline = [...events.reverse(), ...this.timeline].slice(0, this.options.timelineMax ?? 200);
      }
    }
    this.previous = snap.rows;
  }

  document(snap: Snapshot, filter: ViewFilter, max = MAX_STREAM_ROWS): ViewDocument {
    const all = applyFilter(snap.rows, filter);
    let rows = all;
    if (all.length > max) {
      const listeners = all.filter((row) => row.state === 'LISTEN');
      rows = [...listeners, ...all.filter((row) => row.state !== 'LISTEN').slice(0, Math.max(0, max - listeners.length))];
    }
    const explanations: Record<string, string> = {};
    let explained = 0;
    for (const row of rows) {
      if (!isTcp(row) || !LANE_STATES.has(row.state) || explained >= MAX_EXPLAINED) continue;
      explained++;
      explanations[`${row.localAddress}:${row.localPort}>${row.remoteAddress}:${row.remotePort}`] = explainRow(row, this.context);
    }
    return {
      time: snap.time,
      reads: snap.reads,
      intervalMs: this.options.intervalMs,
      rows,
      total: all.length,
      explanations,
      timeline: this.timeline.filter((event) => eventMatches(event, filter)).slice(0, 100),
    };
  }

  /** Starts an event stream on `socket` (the response head is already written). */
  add(socket: net.Socket, filter: ViewFilter): void {
    const viewer: Viewer = { socket, filter, last: '' };
    this.viewers.add(viewer);
    socket.on('close', () => {
      this.viewers.delete(viewer);
      if (this.viewers.size === 0) this.stop();
    });
    if (!this.timer) this.start();
    // The newest snapshot at once, so a page fills before the next tick.
    void this.sampler.get(this.options.intervalMs).then((snap) => {
      this.record(snap);
      this.send(viewer, snap);
    }, () => {});
  }

  private send(viewer: Viewer, snap: Snapshot): void {
    if (viewer.socket.destroyed) return;
    // An unchanged reading is the same rows array (lib/kernel/sampler.ts): nothing to filter, explain or serialize.
    if (viewer.lastRows === snap.rows && viewer.lastTimeline === this.timeline) return;
    viewer.lastRows = snap.rows;
    viewer.lastTimeline = this.timeline;
    const { time, reads, intervalMs, ...rest } = this.document(snap, viewer.filter);
    // Serialized once: compared without the clock, sent with it.
    const data = JSON.stringify(rest);
    if (data === viewer.last) return;
    viewer.last = data;
    viewer.socket.write(`event: snapshot\ndata: {"time":${time},"reads":${reads},"intervalMs":${intervalMs},${data.slice(1)}\n\n`);
  }

  private start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.heartbeat = setInterval(() => {
      for (const viewer of this.viewers) viewer.socket.write(`: heartbeat ${new Date().toISOString()}\n\n`);
    }, this.options.heartbeatMs ?? 15000);
  }

  private stop(): void {
    clearInterval(this.timer);
    clearInterval(this.heartbeat);
    this.timer = undefined;
    this.heartbeat = undefined;
  }

  private async tick(): Promise<void> {
    if (this.ticking) return; // a slow reading: skip, never pile up
    this.ticking = true;
    try {
      const snap = await this.sampler.get(this.options.intervalMs / 2);
      this.record(snap);
      for (const viewer of this.viewers) this.send(viewer, snap);
    } catch (error) {
      process.stderr.write(`socket-view: reading /proc failed: ${(error as Error).message}\n`);
    } finally {
      this.ticking = false;
    }
  }

  /** Ends every event stream (Ctrl-C). */
  close(): void {
    this.stop();
    for (const viewer of this.viewers) viewer.socket.end();
  }
}

const namesCache = new Map<string, Set<string>>();
/** Host names this server answers to: loopback names and its address; bound to a wildcard, every interface address of this host. */
function allowedNames(host: string): Set<string> {
  let names = namesCache.get(host);
  if (names) return names;
  names = new Set(['localhost', '127.0.0.1', '::1']);
  if (host === '0.0.0.0' || host === '::') {
    for (const list of Object.values(os.networkInterfaces())) {
      for (const entry of list ?? []) if (host === '::' || entry.family === 'IPv4') names.add(entry.address.toLowerCase());
    }
  } else names.add(host.toLowerCase());
  namesCache.set(host, names);
  return names;
}

/** Whether a Host header names this server: the bound address, localhost, 127.0.0.1 or [::1], with our port or none. */
export function hostAllowed(value: string | undefined, bound: { host: string; port: number }): boolean {
  if (!value) return false;
  const text = value.trim().toLowerCase();
  let name: string;
  let port: string | undefined;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) return false;
    name = text.slice(1, end);
    const rest = text.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return false;
    port = rest ? rest.slice(1) : undefined;
  } else {
    const colon = text.lastIndexOf(':');
    name = colon < 0 ? text : text.slice(0, colon);
    port = colon < 0 ? undefined : text.slice(colon + 1);
  }
  if (port !== undefined && port !== String(bound.port)) return false;
  return allowedNames(bound.host).has(name);
}


const ROUTES = new Set(['/', '/events', '/api/sockets', '/api/statistics', '/api/status']);

/** Serves one accepted connection: requests in order, keep-alive, until an event stream takes it over. */
export function serveView(socket: net.Socket, hub: ViewHub, log: (line: string) => void = () => {}): void {
  const reader = new RequestReader({ maxHeadBytes: MAX_HEAD_BYTES, maxBodyBytes: 0 });
  let busy = false;
  let streaming = false;
  let idle: NodeJS.Timeout | undefined = setTimeout(() => socket.destroy(), 10000);
  const bound = { host: hub.options.host, port: hub.options.port };

  const write = (status: number, headers: Record<string, string>, body: string, head?: RequestHead, close = false) => {
    const all: Record<string, string> = {
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'X-Proc-Reads': String(hub.sampler.reads),
      ...headers,
    };
    if (close) all.Connection = 'close';
    socket.write(formatResponse(status, all, body, head?.method === 'HEAD'));
    if (close) socket.end();
  };
  const fail = (status: number, message: string, head?: RequestHead, extra: Record<string, string> = {}) =>
    write(status, { 'Content-Type': 'text/plain; charset=utf-8', ...extra }, `${status} ${STATUS_TEXT[status] ?? ''}: ${message}\n`, head, status >= 500 || status === 400 || status === 431);

  const handle = async (head: RequestHead) => {
    const url = new URL(head.target.startsWith('/') ? head.target : '/', 'http://view.invalid');
    log(`${head.method} ${head.target}`);
    if (!hostAllowed(header(head, 'host'), bound)) {
      return fail(421, `Host ${JSON.stringify(header(head, 'host') ?? '')} is not this server (allowed: localhost, 127.0.0.1, [::1], ${bound.host}, port ${bound.port})`, head);
    }
    if (head.method !== 'GET' && head.method !== 'HEAD') return fail(405, `${head.method}: only GET and HEAD`, head, { Allow: 'GET, HEAD' });
    if (!head.target.startsWith('/') || !ROUTES.has(url.pathname)) return fail(404, `no ${url.pathname} here (try /)`, head);
    let filter: ViewFilter;
    try {
      filter = parseViewFilter(url.searchParams);
    } catch (error) {
      if (error instanceof HttpError) return fail(error.status, error.message, head);
      throw error;
    }
    const json = (value: unknown) =>
      write(200, { 'Content-Type': 'application/json; charset=utf-8' }, JSON.stringify(value) + '\n', head);
    switch (url.pathname) {
      case '/':
        return write(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': "default-src 'self'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'" }, renderViewPage(), head);
      case '/api/sockets': {
        const snap = await hub.snapshot();
        return json(applyFilter(snap.rows, filter, { tcp: true, udp: true, unix: false }));
      }
      case '/api/statistics': {
        const counters = readCounters();
        const lesson = Object.fromEntries(LESSON_COUNTERS.filter((name) => name in counters).map((name) => [name, counters[name]]));
        return json({ counters: lesson, meanings: Object.fromEntries(Object.keys(lesson).map((name) => [name, COUNTER_MEANINGS[name]])) });
      }
      case '/api/status':
        return json({ reads: hub.sampler.reads, ownerWalks: hub.sampler.ownerWalks, viewers: hub.viewers.size, intervalMs: hub.options.intervalMs });
      case '/events': {
        const headers =
          'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-store\r\n' +
          `X-Proc-Reads: ${hub.sampler.reads}\r\n`;
        if (head.method === 'HEAD') {
          socket.write(headers + 'Content-Length: 0\r\n\r\n');
          return;
        }
        streaming = true;
        clearTimeout(idle);
        idle = undefined;
        socket.write(headers + 'Connection: keep-alive\r\n\r\nretry: 2000\n\n');
        hub.add(socket, filter);
        return;
      }
    }
  };

  const pump = async () => {
    if (busy) return;
    busy = true;
    try {
      while (!streaming && !socket.destroyed) {
        const event = reader.next();
        if (!event) break;
        if (event.kind === 'continue') continue;
        if (event.kind === 'error') {
          fail(event.error.status, event.error.message, event.head);
          break;
        }
        await handle(event.head);
        if (event.head.version === '1.0' || /close/i.test(header(event.head, 'connection') ?? '')) {
          if (!streaming) socket.end();
          break;
        }
      }
    } catch (error) {
      socket.destroy();
      log(`internal error: ${(error as Error).message}`);
    } finally {
      busy = false;
    }
    if (idle) idle.refresh();
  };

  socket.on('data', (chunk: Buffer) => {
    if (streaming) return; // an event stream reads nothing more
    reader.push(chunk);
    void pump();
  });
  socket.on('end', () => {
    if (!streaming) socket.end();
  });
  socket.on('error', () => {});
  socket.on('close', () => clearTimeout(idle));
}
