// What the rows mean for the lesson, in plain sentences: listeners and
// their accept queues, sockets no process has accept()ed, clients whose
// connect() returned anyway, the handshake's SYN_SENT and SYN_RECV (with the
// kernel's own retry schedule), the states of a close (which side waits for
// what), and UDP queues. `explainRow` gives one sentence for one row (for
// socket-view and the tours); `explain` the sentences for a whole table.
import { describeSynAckRetries, describeSynRetries, readRetrySettings, type RetrySettings } from './retries.ts';
import { localText, ownersText, remoteText } from './format.ts';
import type { SocketRow } from './procnet.ts';

/** What an explanation needs besides the rows; read from this system when not given. */
export interface ExplainContext {
  /** The kernel's SYN and SYN-ACK retry settings. */
  retries: RetrySettings;
  /** True when this process may inspect every process (root): an owner-less socket with an inode then really has no owner. */
  root: boolean;
}

/** The context of this process: /proc/sys retry settings, whether we are root. */
export function currentContext(procRoot = '/proc'): ExplainContext {
  return { retries: readRetrySettings(procRoot), root: process.getuid?.() === 0 };
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
const tuple = (row: SocketRow) => `${localText(row)} -> ${remoteText(row)}`;
const examples = (rows: SocketRow[], max = 3) =>
  rows.slice(0, max).map(tuple).join(', ') + (rows.length > max ? `, … (${rows.length - max} more)` : '');
const seconds = (value: number) => `${Number.isInteger(value) ? value : value.toFixed(1)} s`;
const isTcp = (row: SocketRow) => row.proto === 'tcp' || row.proto === 'tcp6';
const isUdp = (row: SocketRow) => row.proto === 'udp' || row.proto === 'udp6';

/** Who holds a socket, in words: `4242/node`, or why no owner is shown. */
function holder(row: SocketRow, context: ExplainContext): string {
  if (row.pid !== null) return ownersText(row);
  if (row.inode === 0) return 'no process';
  return context.root ? 'no process visible here' : 'a process this user may not inspect';
}

/**
 * One sentence saying what a row is waiting for, and who must act.
 * @example explainRow(timeWaitRow) // '127.0.0.1:40000 -> 127.0.0.1:8001 is in TIME_WAIT: this side closed first; ...'
 */
export function explainRow(row: SocketRow, context: ExplainContext = currentContext()): string {
  const name = row.proto === 'unix' ? localText(row) : tuple(row);
  const left = row.timerSeconds === null ? '' : `${seconds(row.timerSeconds)} left`;
  if (row.proto === 'unix') {
    if (row.state === 'LISTEN') return `${name} is a listening Unix socket, held by ${holder(row, context)}.`;
    return `${name} is a Unix socket (${row.state}), held by ${holder(row, context)}.`;
  }
  if (isUdp(row)) {
    const queued =
      row.recvQ && row.recvQ > 0
        ? `; Recv-Q ${row.recvQ} is receive-buffer memory (each datagram with its overhead, ~800 bytes for a small one), not payload bytes: datagrams wait to be read`
        : '';
    const kind = row.state === 'ESTABLISHED' ? 'a connected UDP socket (connect() fixed its peer)' : 'an unconnected UDP socket: it takes datagrams from any peer';
    return `${localText(row)} is ${kind}, held by ${holder(row, context)}${queued}.`;
  }
  switch (row.state) {
    case 'LISTEN': {
      const backlog = row.sendQ === null ? '' : `backlog ${row.sendQ}, `;
      const queued = row.recvQ ?? 0;
      const queue =
        queued === 0
          ? 'its accept queue is empty'
          : `${plural(queued, 'connection waits', 'connections wait')} in its accept queue for accept()` +
            (row.sendQ !== null && queued > row.sendQ ? ' (full: the kernel holds backlog + 1 and drops new SYNs)' : '');
      return `${localText(row)} is listening (${backlog}held by ${holder(row, context)}); ${queue}.`;
    }
    case 'SYN_SENT': {
      const sofar = row.retransmits ? `; re-sent ${plural(row.retransmits, 'time', 'times')} so far` : '';
      const next = row.timerSeconds === null ? '' : `, next in ${seconds(row.timerSeconds)}`;
      return (
        `${name} is in SYN_SENT: connect() sent a SYN and has had no answer (a full accept queue drops SYNs); ` +
        `the kernel re-sends it ${describeSynRetries(context.retries)}${sofar}${next}.`
      );
    }
    case 'SYN_RECV':
    case 'NEW_SYN_RECV': {
      const sofar = `SYN-ACK re-sent ${plural(row.retransmits ?? 0, 'time', 'times')}`;
      const next = row.timerSeconds === null ? '' : `, next in ${seconds(row.timerSeconds)}`;
      return (
        `${name} is half-open (SYN_RECV, in the SYN queue): the server answered the SYN with a SYN-ACK and waits for the client's ACK ` +
        `(${sofar}${next}; the kernel re-sends ${describeSynAckRetries(context.retries)}); ` +
        `with the ACK it moves to the accept queue; no process holds it before accept().`
      );
    }
    case 'ESTABLISHED':
      if (row.pid === null && row.inode === 0) {
        return (
          `${name} is ESTABLISHED with no process: the kernel finished the handshake and holds it in the accept queue ` +
          `(with any bytes the client sent in Recv-Q) until accept() hands it to the server.`
        );
      }
      return `${name} is ESTABLISHED, held by ${holder(row, context)}: data flows both ways.`;
    case 'FIN_WAIT1':
      return `${name} is in FIN_WAIT1: this side closed (close() or shutdown()) and sent its FIN; it waits for the peer to ACK it.`;
    case 'FIN_WAIT2': {
      const orphan =
        row.inode === 0 && row.pid === null
          ? `; no process holds it any more, so the kernel gives up after tcp_fin_timeout${left ? ` (${left})` : ''}`
          : left && row.timerSeconds !== null
            ? ` (${left} on its timer)`
            : '';
      return `${name} is in FIN_WAIT2: this side's FIN was ACKed; it waits only for the peer's FIN (the peer has not closed yet, it may still send)${orphan}.`;
    }
    case 'CLOSE_WAIT':
      if (row.inode === 0 && row.pid === null) {
        return (
          `${name} is in CLOSE_WAIT with no process: the client closed before any process accept()ed this connection; ` +
          `it waits in the accept queue, and only once accept() hands it over can a process read the EOF and close() it.`
        );
      }
      return `${name} is in CLOSE_WAIT: the peer closed (its FIN arrived, read() returns 0); ${holder(row, context)} must call close().`;
    case 'LAST_ACK':
      return `${name} is in LAST_ACK: the peer closed first, then this side closed and sent its FIN; it waits for the peer's ACK of that FIN, then the row goes.`;
    case 'CLOSING':
      return `${name} is in CLOSING: both sides sent a FIN at the same time; this side waits for the ACK of its FIN, then goes to TIME_WAIT.`;
    case 'TIME_WAIT':
      return (
        `${name} is in TIME_WAIT: this side closed first; the kernel keeps the four-tuple ${left ? `${left} ` : ''}` +
        `(60 s in all on Linux) so late segments of the old connection die out and a lost final ACK can be sent again; no process holds it.`
      );
    case 'CLOSE':
      return `${name} is CLOSE: a socket with no connection (bound, or just created).`;
    default:
      return `${name} is in ${row.state}.`;
  }
}

/**
 * One plain sentence for each thing in `rows` that matters for the lesson:
 * listeners and their accept queues, server-side sockets no process has
 * accept()ed, clients whose connect() returned anyway, SYN_SENT and SYN_RECV
 * handshakes, each state of a close, UDP queues.
 */
export function explain(rows: SocketRow[], context: ExplainContext = currentContext()): string[] {
  const sentences: string[] = [];
  const tcp = rows.filter(isTcp);
  const listeners = tcp.filter((row) => row.state === 'LISTEN');
  const listenPorts = new Set(listeners.map((row) => row.localPort));
  const key = (address: string | null, port: number | null) => `${address}|${port}`;
  const byTuple = new Map(tcp.map((row) => [`${key(row.localAddress, row.localPort)}>${key(row.remoteAddress, row.remotePort)}`, row]));
  const peerOf = (row: SocketRow) => byTuple.get(`${key(row.remoteAddress, row.remotePort)}>${key(row.localAddress, row.localPort)}`);

  for (const row of listeners) {
    const where = localText(row);
    const backlog = row.sendQ === null ? '' : `backlog ${row.sendQ}, `;
    const queued = row.recvQ ?? 0;
    if (queued === 0) {
      sentences.push(`${where} is listening (${backlog}held by ${holder(row, context)}); its accept queue is empty.`);
      continue;
    }
    sentences.push(
      queued === 1
        ? `1 connection finished the handshake and waits in the accept queue of ${where}; no process has accept()ed it.`
        : `${queued} connections finished the handshake and wait in the accept queue of ${where}; no process has accept()ed them.`,
    );
    if (row.sendQ !== null && queued > row.sendQ) {
      sentences.push(
        `The accept queue of ${where} is full (${queued} waiting, backlog ${row.sendQ}: the kernel holds backlog + 1): ` +
          `it drops new SYNs, so further clients wait in SYN_SENT and retry.`,
      );
    }
  }

  const unowned = tcp.filter((row) => row.state === 'ESTABLISHED' && row.pid === null && listenPorts.has(row.localPort));
  const queued = unowned.filter((row) => row.inode === 0);
  const hidden = unowned.filter((row) => row.inode !== 0);
  if (queued.length > 0) {
    sentences.push(
      `${plural(queued.length, 'server-side ESTABLISHED socket has', 'server-side ESTABLISHED sockets have')} no process (PID/Program -): ` +
        `${examples(queued)}; the kernel finished the handshake and holds ${queued.length === 1 ? 'it' : 'them'} in the accept queue, ` +
        `with any bytes the client already sent in Recv-Q, until accept() hands ${queued.length === 1 ? 'it' : 'them'} to the server.`,
    );
  }
  if (hidden.length > 0) {
    sentences.push(
      `${plural(hidden.length, 'ESTABLISHED socket belongs', 'ESTABLISHED sockets belong')} to a process this user may not inspect ` +
        `(${examples(hidden)}); run as root to see the owner.`,
    );
  }
  const waitingClients = tcp.filter((row) => row.state === 'ESTABLISHED' && row.pid !== null && peerOf(row)?.inode === 0);
  if (waitingClients.length > 0) {
    sentences.push(
      `${plural(waitingClients.length, 'client is', 'clients are')} ESTABLISHED (${waitingClients
        .slice(0, 3)
        .map((row) => `${tuple(row)} by ${ownersText(row)}`)
        .join(', ')}${waitingClients.length > 3 ? ', …' : ''}): connect() returned when the handshake finished, although the server has not accept()ed yet.`,
    );
  }

  const synSent = tcp.filter((row) => row.state === 'SYN_SENT');
  if (synSent.length > 0) {
    sentences.push(
      `${plural(synSent.length, 'connection is', 'connections are')} in SYN_SENT (${examples(synSent)}): the SYN has had no answer yet; ` +
        `a listener whose accept queue is full drops SYNs, and the kernel re-sends the SYN ${describeSynRetries(context.retries)}, ` +
        `until it gets in or connect() fails.`,
    );
  }
  // One sentence per row from here: each says what that socket waits for.
  const perRow = tcp.filter((row) => ['SYN_RECV', 'NEW_SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSING'].includes(row.state));
  for (const row of perRow.slice(0, 8)) sentences.push(explainRow(row, context));
  if (perRow.length > 8) sentences.push(`… and ${perRow.length - 8} more half-open or closing sockets.`);

  const timeWait = tcp.filter((row) => row.state === 'TIME_WAIT');
  if (timeWait.length > 0) {
    const lefts = timeWait.map((row) => row.timerSeconds).filter((value): value is number => value !== null);
    const range = lefts.length === 0 ? '' : `; ${lefts.length > 1 ? `${Math.min(...lefts).toFixed(1)}-` : ''}${seconds(Math.max(...lefts))} left`;
    sentences.push(
      `${plural(timeWait.length, 'socket is', 'sockets are')} in TIME_WAIT (${examples(timeWait)}): the side that closed first keeps ` +
        `the four-tuple for 60 s (2 x MSL${range}) so late segments of the old connection die out and a lost final ACK can be sent again; no process holds ${timeWait.length === 1 ? 'it' : 'them'}.`,
    );
  }
  for (const row of rows.filter((row) => isUdp(row) && (row.recvQ ?? 0) > 0).slice(0, 8)) sentences.push(explainRow(row, context));

  if (sentences.length === 0) sentences.push('Nothing to explain: no listeners, queued connections, handshakes, closing sockets or queued datagrams here.');
  return sentences;
}
