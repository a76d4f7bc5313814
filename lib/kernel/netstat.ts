// One draw of `netstat`: the socket table read with its owners and backlogs
// (netstat's own sockets left out) and written as text, JSON or with the
// explanations, or the TCP counters with the change since the last draw;
// and the heading of each --watch redraw.
import { Failure } from '../errors.ts';
import { COUNTER_MEANINGS, LESSON_COUNTERS, counterDeltas, formatCounters, readCounters, type Counters } from './counters.ts';
import { currentContext, explain } from './explain.ts';
import { formatTable, writeJson } from './format.ts';
import { defaultProcRoot } from './procfile.ts';
import { startBacklogs } from './ss.ts';
import { withoutOwn } from './self.ts';
import { attachOwners, filterRows, readSockets, type Kinds, type RowFilter, type SocketRow } from './table.ts';

/**
 * The rows netstat shows: the selected tables, filtered, with the process
 * holding each socket and each listener's backlog, without the pids in `own`.
 */
export async function readTable(kinds: Kinds, filter: RowFilter, own: Set<number>): Promise<SocketRow[]> {
  let rows = filterRows(readSockets(kinds), filter);
  const backlogs = await startBacklogs(rows); // ss runs on its own while we walk /proc
  attachOwners(rows);
  rows = withoutOwn(rows, own); // this process's and its tsx launcher's IPC sockets
  await backlogs.done;
  return rows;
}

export interface TableDraw {
  json?: boolean;
  explain?: boolean;
  /** Under --watch: JSON as one line per draw. */
  watching?: boolean;
}

/**
 * Writes the rows as a table (explanations after it) or as JSON (the
 * explanations then on stderr, so stdout stays one document).
 */
export function drawTable(rows: SocketRow[], how: TableDraw, out: (text: string) => void, err: (text: string) => void): void {
  const sentences = () => explain(rows, currentContext(defaultProcRoot())).join('\n') + '\n';
  if (how.json) {
    if (how.watching) out(JSON.stringify(rows) + '\n');
    else writeJson(rows, out);
    if (how.explain) err(sentences());
    return;
  }
  out(formatTable(rows) + (how.explain ? '\n' + sentences() : ''));
}

/**
 * `netstat -s`: the lesson's counters, and under --watch the change since
 * the previous draw; a Failure when /proc has none.
 */
export class StatisticsDraw {
  private last: Counters | undefined;

  draw(json: boolean, procRoot = defaultProcRoot()): string {
    const counters = readCounters(procRoot);
    if (Object.keys(counters).length === 0) throw new Failure('no TCP counters in /proc/net/netstat or /proc/net/snmp');
    const deltas = this.last && counterDeltas(this.last, counters);
    this.last = counters;
    if (json) {
      const lesson = Object.fromEntries(LESSON_COUNTERS.filter((name) => name in counters).map((name) => [name, counters[name]]));
      const meanings = Object.fromEntries(Object.keys(lesson).map((name) => [name, COUNTER_MEANINGS[name]]));
      return JSON.stringify({ counters: lesson, meanings }) + '\n';
    }
    return 'TCP counters since boot (Tcp: /proc/net/snmp, TcpExt: /proc/net/netstat):\n' + formatCounters(counters, deltas);
  }
}

/**
 * The line above each --watch draw, like watch(1); on a terminal the screen
 * is cleared first, elsewhere draws after the first are a blank line apart.
 * @example watchHeading(2, ['-t'], { first: true, tty: false, now: new Date() }) // 'Every 2 s: netstat -t  18:04:05\n\n'
 */
export function watchHeading(seconds: number, args: string[], { first, tty, now }: { first: boolean; tty: boolean; now: Date }): string {
  const clear = tty ? '\x1b[H\x1b[2J' : '';
  const time = now.toTimeString().slice(0, 8);
  return `${clear}${first || clear ? '' : '\n'}Every ${seconds} s: netstat ${args.join(' ')}  ${time}\n\n`;
}
