// What the rows mean for the lesson, in plain sentences: listeners and
// their accept queues, sockets no process has accept()ed, clients whose
// connect() returned anyway, handshakes, and the states of a close.
import { localText, remoteText } from './format.ts';
import type { SocketRow } from './procnet.ts';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
const tuple = (row: SocketRow) => `${localText(row)} -> ${remoteText(row)}`;
const owner = (row: SocketRow) => (row.pid === null ? 'no process' : `${row.pid}/${row.program}`);
const examples = (rows: SocketRow[], max = 3) =>
  rows.slice(0, max).map(tuple).join(', ') + (rows.length > max ? `, … (${rows.length - max} more)` : '');

/**
 * One plain sentence for each thing in `rows` that matters for the lesson:
 * listeners and their accept queues, server-side sockets no process has
 * accept()ed, clients whose connect() returned anyway, SYN_SENT and SYN_RECV
 * handshakes, TIME_WAIT and CLOSE_WAIT.
 */
export function explain(rows: SocketRow[]): string[] {
  const sentences: string[] = [];
  const tcp = rows.filter((row) => row.proto === 'tcp' || row.proto === 'tcp6');
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
      sentences.push(`${where} is listening (${backlog}held by ${owner(row)}); its accept queue is empty.`);
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
        .map((row) => `${tuple(row)} by ${owner(row)}`)
        .join(', ')}${waitingClients.length > 3 ? ', …' : ''}): connect() returned when the handshake finished, although the server has not accept()ed yet.`,
    );
  }

  const synSent = tcp.filter((row) => row.state === 'SYN_SENT');
  if (synSent.length > 0) {
    sentences.push(
      `${plural(synSent.length, 'connection is', 'connections are')} in SYN_SENT (${examples(synSent)}): the SYN has had no answer yet; ` +
        `a listener whose accept queue is full drops SYNs, and connect() retries (after 1, 3, 7, … s) until it gets in or times out.`,
    );
  }
  const synRecv = tcp.filter((row) => row.state === 'SYN_RECV' || row.state === 'NEW_SYN_RECV');
  if (synRecv.length > 0) {
    sentences.push(
      `${plural(synRecv.length, 'half-open connection is', 'half-open connections are')} in SYN_RECV (${examples(synRecv)}): ` +
        `the server answered the SYN with SYN-ACK and waits for the client's ACK in the SYN queue; then it moves to the accept queue.`,
    );
  }
  const timeWait = tcp.filter((row) => row.state === 'TIME_WAIT');
  if (timeWait.length > 0) {
    sentences.push(
      `${plural(timeWait.length, 'socket is', 'sockets are')} in TIME_WAIT (${examples(timeWait)}): the side that closed first keeps ` +
        `the four-tuple for 60 s (2 x MSL) so late segments of the old connection die out and a lost final ACK can be sent again; no process holds ${timeWait.length === 1 ? 'it' : 'them'}.`,
    );
  }
  const closeWait = tcp.filter((row) => row.state === 'CLOSE_WAIT');
  if (closeWait.length > 0) {
    sentences.push(
      `${plural(closeWait.length, 'socket is', 'sockets are')} in CLOSE_WAIT (${examples(closeWait)}): the peer has closed its side ` +
        `and the local process has not called close() yet.`,
    );
  }
  const closing = tcp.filter((row) => ['FIN_WAIT1', 'FIN_WAIT2', 'LAST_ACK', 'CLOSING'].includes(row.state));
  if (closing.length > 0) {
    sentences.push(
      `${plural(closing.length, 'socket is', 'sockets are')} closing (${closing
        .slice(0, 3)
        .map((row) => `${tuple(row)} ${row.state}`)
        .join(', ')}): FIN sent, waiting for the peer's ACK or FIN.`,
    );
  }
  if (sentences.length === 0) sentences.push('Nothing to explain: no listeners, queued connections, handshakes or closing sockets here.');
  return sentences;
}

