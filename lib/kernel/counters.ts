// The kernel's own TCP counters: the `TcpExt:` lines of /proc/net/netstat
// and the `Tcp:` lines of /proc/net/snmp (what `nstat` and `netstat -s`
// read), as one record keyed by the kernel's names (`ListenOverflows`,
// `SyncookiesSent`, `ActiveOpens`, ...), with a few words on what each one
// the lesson uses counts. The counters are per network namespace: read
// inside one, they count only its traffic.
import { readProcText } from './procfile.ts';

/** Counter name -> value, as the kernel names them. */
export type Counters = Record<string, number>;

// The two files and the line prefixes kept from each (names and values
// come as a pair of lines with the same prefix).
const SOURCES: readonly [file: string, prefixes: readonly string[]][] = [
  ['net/netstat', ['TcpExt']],
  ['net/snmp', ['Tcp']],
];

/**
 * Parses the paired `Prefix: Name Name ...` / `Prefix: 1 2 ...` lines of
 * /proc/net/netstat or /proc/net/snmp, keeping the prefixes asked for
 * (default TcpExt and Tcp). Malformed pairs (counts differ, not a number)
 * are skipped.
 * @example parseCounters('Tcp: ActiveOpens CurrEstab\nTcp: 766 2\n') // { ActiveOpens: 766, CurrEstab: 2 }
 */
export function parseCounters(text: string, prefixes: readonly string[] = ['TcpExt', 'Tcp']): Counters {
  const counters: Counters = {};
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const names = lines[i].trim().split(/\s+/);
    const values = lines[i + 1].trim().split(/\s+/);
    const prefix = names[0];
    if (!prefix?.endsWith(':') || values[0] !== prefix || !prefixes.includes(prefix.slice(0, -1))) continue;
    if (names.length !== values.length) continue;
    for (let k = 1; k < names.length; k++) {
      const value = Number(values[k]);
      if (/^[A-Za-z]/.test(names[k]) && Number.isFinite(value)) counters[names[k]] = value;
    }
    i++; // the values line is used
  }
  return counters;
}

/**
 * Reads TcpExt (/proc/net/netstat) and Tcp (/proc/net/snmp) of this network
 * namespace. A missing file (no /proc, not Linux) gives no counters from it;
 * any other error (EMFILE, EACCES) is thrown, as a Failure naming the file.
 * @example readCounters().ListenOverflows // 16
 */
export function readCounters(procRoot = '/proc'): Counters {
  const counters: Counters = {};
  for (const [file, prefixes] of SOURCES) {
    const text = readProcText(`${procRoot}/${file}`);
    if (text === null) continue;
    Object.assign(counters, parseCounters(text, prefixes));
  }
  return counters;
}

/**
 * The counters whose value changed from `before` to `after`, as
 * after - before (CurrEstab, a gauge, can go down). A counter new in
 * `after` counts from 0.
 * @example counterDeltas({ ListenDrops: 3 }, { ListenDrops: 5, ListenOverflows: 0 }) // { ListenDrops: 2 }
 */
export function counterDeltas(before: Counters, after: Counters): Counters {
  const deltas: Counters = {};
  for (const [name, value] of Object.entries(after)) {
    const delta = value - (before[name] ?? 0);
    if (delta !== 0) deltas[name] = delta;
  }
  return deltas;
}

/** What the counters of the handshake and the two queues count, a few words each. */
export const COUNTER_MEANINGS: Record<string, string> = {
  ActiveOpens: 'connect() calls that sent a SYN (CLOSED -> SYN_SENT)',
  PassiveOpens: 'handshakes a listener completed (a new socket for its accept queue)',
  AttemptFails: 'handshakes that failed (SYN_SENT or SYN_RECV ended without a connection)',
  EstabResets: 'ESTABLISHED or CLOSE_WAIT connections ended abruptly (a reset sent or received)',
  CurrEstab: 'connections now ESTABLISHED or CLOSE_WAIT (a gauge, not a count)',
  RetransSegs: 'segments sent again (all retransmissions, SYNs and SYN-ACKs too)',
  ListenOverflows: 'SYNs (or final ACKs) dropped because the accept queue was full',
  ListenDrops: 'SYNs or ACKs a listener dropped for any reason (overflows included)',
  TCPReqQFullDrop: 'SYNs dropped because the half-open (SYN) queue was full and no cookie was sent',
  TCPReqQFullDoCookies: 'SYNs answered with a SYN cookie because the SYN queue was full',
  SyncookiesSent: 'SYN-ACKs sent carrying a SYN cookie (nothing kept in the SYN queue)',
  SyncookiesRecv: 'ACKs that brought back a valid SYN cookie (a connection made from it)',
  SyncookiesFailed: 'ACKs whose cookie did not check out (dropped)',
  TCPSynRetrans: 'SYNs and SYN-ACKs sent again because no answer came',
  TCPTimeouts: 'retransmission timer expiries (any state)',
  TW: 'TIME_WAIT sockets whose 60 s timer ran out',
};

/** The counters `netstat -s` shows, in the order the lesson meets them. */
export const LESSON_COUNTERS: readonly string[] = [
  'ActiveOpens',
  'PassiveOpens',
  'AttemptFails',
  'EstabResets',
  'CurrEstab',
  'RetransSegs',
  'TCPSynRetrans',
  'ListenOverflows',
  'ListenDrops',
  'TCPReqQFullDrop',
  'TCPReqQFullDoCookies',
  'SyncookiesSent',
  'SyncookiesRecv',
  'SyncookiesFailed',
];

/**
 * The lesson's counters as `netstat -s` lines: name, value, what it counts;
 * with `deltas`, the change since the previous reading too (`+3`).
 * @example formatCounters({ ListenDrops: 19 }) // 'ListenDrops  19  SYNs or ACKs a listener dropped ...\n'
 */
export function formatCounters(counters: Counters, deltas?: Counters, names: readonly string[] = LESSON_COUNTERS): string {
  const shown = names.filter((name) => counters[name] !== undefined);
  const nameWidth = Math.max(0, ...shown.map((name) => name.length));
  const values = shown.map((name) => String(counters[name]) + (deltas?.[name] ? ` (${deltas[name] > 0 ? '+' : ''}${deltas[name]})` : ''));
  const valueWidth = Math.max(0, ...values.map((value) => value.length));
  return shown
    .map((name, i) => `${name.padEnd(nameWidth)}  ${values[i].padStart(valueWidth)}  ${COUNTER_MEANINGS[name] ?? ''}`.trimEnd() + '\n')
    .join('');
}
