// The socket tables read again and again (socket-view, every interval)
// without parsing what did not change: a table whose bytes are the same as
// last time gives the same rows (the same array); otherwise each line whose
// text after its `sl:` counter is unchanged gives back its row object from
// last time, and only new lines are parsed. Rows are reused objects: callers
// may tell "unchanged" by identity, and must treat them as shared.
import { readProcFileInto } from './procfile.ts';
import { parseInetTable, parseUnix, type InetProto, type SocketRow } from './procnet.ts';

interface Table {
  bytes: Buffer;
  rows: SocketRow[];
  /** Inet tables: where each row's line starts (after its `sl:`) and ends in `bytes`; empty when not paired. */
  starts: number[];
  ends: number[];
}

// Above this many new lines one parse of the whole table is cheaper than one parse per line.
const PER_LINE_MAX = 500;
// How far ahead in last reading's lines a line is looked for (rows gone in between).
const LOOKAHEAD = 8;
const NEWLINE = 10;
const COLON = 58;

export class RowCache {
  private tables = new Map<string, Table>();
  // Two buffers per file, used in turn (this reading, and the last one that
  // parseLines compares against): a fresh 3 MB buffer per reading would cost
  // its page faults every time.
  private buffers = new Map<string, Buffer[]>();

  /**
   * The rows of one table file (null when it does not exist), and whether
   * they are exactly last reading's (the same array). Errors other than
   * ENOENT are a Failure naming the file, as readProcFile's.
   */
  read(file: string, proto: InetProto | 'unix'): { rows: SocketRow[]; same: boolean } | null {
    const last = this.tables.get(file);
    const bytes = this.readInto(file, last?.bytes);
    if (bytes === null) {
      this.tables.delete(file);
      return null;
    }
    if (last && last.bytes.length === bytes.length && last.bytes.equals(bytes)) return { rows: last.rows, same: true };
    const table = proto === 'unix' ? { bytes, rows: parseUnix(bytes), starts: [], ends: [] } : parseLines(bytes, proto, last);
    this.tables.set(file, table);
    return { rows: table.rows, same: false };
  }

  /** Reads `file` whole into whichever of its two buffers `busy` is not in. */
  private readInto(file: string, busy: Buffer | undefined): Buffer | null {
    let pair = this.buffers.get(file);
    if (!pair) this.buffers.set(file, (pair = [Buffer.allocUnsafe(1 << 16), Buffer.allocUnsafe(1 << 16)]));
    const which = busy !== undefined && busy.buffer === pair[0].buffer ? 1 : 0;
    const read = readProcFileInto(file, pair[which]);
    if (read === null) return null;
    pair[which] = read.buffer;
    return read.bytes;
  }
}

// The kernel lists sockets in hash-bucket order, so an unchanged socket's line
// (its text after the running `sl:` number) keeps its place relative to the
// others: walk both readings in step, comparing bytes (memcmp), and parse only
// the lines that are new or changed (a TIME_WAIT timer ticking, a queue).
function parseLines(bytes: Buffer, proto: InetProto, before: Table | undefined): Table {
  const starts: number[] = [];
  const ends: number[] = [];
  const headerEnd = bytes.indexOf(NEWLINE);
  if (headerEnd < 0) return { bytes, rows: [], starts, ends };
  for (let start = headerEnd + 1; start < bytes.length; ) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = bytes.length;
    if (end > start) {
      const colon = bytes.indexOf(COLON, start);
      starts.push(colon < 0 || colon > end ? start : colon + 1);
      ends.push(end);
    }
    start = end + 1;
  }
  const found: Array<SocketRow | null> = new Array(starts.length).fill(null);
  const missing: number[] = [];
  const old = before && before.starts.length === before.rows.length ? before : null;
  let i = 0;
  for (let j = 0; j < starts.length; j++) {
    if (old) {
      const length = ends[j] - starts[j];
      for (let k = i; k < Math.min(i + LOOKAHEAD, old.starts.length); k++) {
        if (old.ends[k] - old.starts[k] === length && bytes.compare(old.bytes, old.starts[k], old.ends[k], starts[j], ends[j]) === 0) {
          found[j] = old.rows[k];
          i = k + 1;
          break;
        }
      }
    }
    if (found[j] === null) missing.push(j);
  }
  if (missing.length > PER_LINE_MAX) {
    // One parse; lines and rows pair up only when every line gave a row.
    const rows = parseInetTable(bytes, proto);
    return rows.length === starts.length ? { bytes, rows, starts, ends } : { bytes, rows, starts: [], ends: [] };
  }
  const header = bytes.toString('latin1', 0, headerEnd + 1);
  for (const j of missing) found[j] = parseInetTable(`${header}0:${bytes.toString('latin1', starts[j], ends[j])}`, proto)[0] ?? null;
  const rows: SocketRow[] = [];
  const keptStarts: number[] = [];
  const keptEnds: number[] = [];
  found.forEach((row, j) => {
    if (row === null) return; // a line the parser refused: not paired, not cached
    rows.push(row);
    keptStarts.push(starts[j]);
    keptEnds.push(ends[j]);
  });
  return { bytes, rows, starts: keptStarts, ends: keptEnds };
}
