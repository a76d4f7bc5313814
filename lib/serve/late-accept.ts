// The late accept() of listen-only: take every connection the kernel queued
// on a held listener (lib/serve/noaccept.ts) and report each with the bytes
// its client sent before accept(). The kernel says how many bytes wait in
// each queued socket (its Recv-Q); a connection is reported once that many
// have arrived from the worker, or it ended, or a second passed, so no report
// is cut short by the message hop between threads.
import { formatEndpoint } from '../wire/address.ts';
import type { AcceptGate } from './gate.ts';
import { readAcceptQueue, type AcceptedConnection, type HeldListener } from './noaccept.ts';

/** How long one connection's bytes may take to arrive from the worker. */
const REPORT_WAIT_MS = 1000;
/** How long acceptQueued waits for all its reports. */
const ALL_REPORTS_MS = 3000;

export interface LateAcceptOptions {
  /** --allow/--deny: a denied connection is closed at once and logged. */
  gate: AcceptGate;
  /** Called once per accepted connection: `accepted SRC -> DST; N bytes sent before accept()...`. */
  print: (line: string) => void;
  /** The `accept(): taking N queued connections` line, before the worker wakes. */
  log: (line: string) => void;
}

interface Pending {
  conn: AcceptedConnection;
  want: number;
  bytes: Buffer[];
  received: number;
  timer: NodeJS.Timeout;
}

/**
 * Reports the connections `held` accepts from now on (those that were queued
 * and, after acceptQueued, every later one). Returns `acceptQueued`, which
 * wakes the worker and resolves with how many were queued once each was
 * reported (or after 3 s).
 */
export function reportLateAccepts(held: HeldListener, options: LateAcceptOptions): () => Promise<number> {
  const pending = new Map<number, Pending>();
  let expected = new Map<string, number>(); // peer -> bytes the kernel held for it
  let reported = 0;
  let onReport = () => {};

  const report = (id: number) => {
    const entry = pending.get(id);
    if (!entry) return;
    pending.delete(id);
    clearTimeout(entry.timer);
    const bytes = Buffer.concat(entry.bytes);
    const sent = bytes.length === 0 ? '' : `: ${JSON.stringify(bytes.toString('latin1'))}`;
    options.print(`accepted ${tupleOf(entry.conn)}; ${bytes.length} bytes sent before accept()${sent}`);
    reported++;
    onReport();
  };

  held.on('connection', (conn: AcceptedConnection) => {
    const peer = formatEndpoint(conn.remoteAddress, conn.remotePort);
    const want = expected.get(peer) ?? 0;
    expected.delete(peer);
    if (options.gate.denies(conn.remoteAddress, tupleOf(conn))) {
      held.closeConnection(conn.id);
      reported++;
      onReport();
      return;
    }
    const timer = setTimeout(() => report(conn.id), REPORT_WAIT_MS);
    pending.set(conn.id, { conn, want, bytes: [], received: 0, timer });
    if (want === 0) setImmediate(() => report(conn.id));
  });
  held.on('data', (id: number, chunk: Buffer) => {
    const entry = pending.get(id);
    if (!entry) return;
    entry.bytes.push(chunk);
    entry.received += chunk.length;
    if (entry.received >= entry.want) report(id);
  });
  held.on('end', (id: number) => report(id));

  let accepting = false;
  return async () => {
    if (accepting) return 0;
    accepting = true;
    // Snapshot what waits in the kernel: the bytes each queued client sent.
    const { queued } = readAcceptQueue(held.address, held.port);
    expected = new Map(queued.map((row) => [formatEndpoint(row.remoteAddress!, row.remotePort!), row.recvQ ?? 0]));
    options.log(`accept(): taking ${queued.length} queued connection${queued.length === 1 ? '' : 's'}`);
    const target = reported + queued.length;
    held.acceptAll();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ALL_REPORTS_MS);
      onReport = () => {
        if (reported < target) return;
        clearTimeout(timer);
        resolve();
      };
      onReport();
    });
    return queued.length;
  };
}

function tupleOf(conn: AcceptedConnection): string {
  return `${formatEndpoint(conn.remoteAddress, conn.remotePort)} -> ${formatEndpoint(conn.localAddress, conn.localPort)}`;
}
