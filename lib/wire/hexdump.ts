// The `hexdump -C` view of bytes, for the --hex flag of the servers and the
// client: offset, sixteen bytes in hex (two groups of eight), the printable
// ASCII between bars, repeated lines folded into one `*`, and the total
// length on the last line.
//
//   00000000  68 65 6c 6c 6f 0a                                 |hello.|
//   00000006

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const LINE = 16;

function offsetText(offset: number): string {
  return offset.toString(16).padStart(8, '0');
}

/**
 * One `hexdump -C` line for up to 16 bytes starting at `offset`.
 * @example hexLine(Buffer.from('hi'), 0) // '00000000  68 69  ...  |hi|'
 */
export function hexLine(bytes: Uint8Array, offset: number): string {
  let hex = '';
  let ascii = '';
  for (let i = 0; i < LINE; i++) {
    if (i === 8) hex += ' ';
    if (i < bytes.length) {
      const byte = bytes[i];
      hex += HEX[byte] + ' ';
      ascii += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.';
    } else {
      hex += '   ';
    }
  }
  return `${offsetText(offset)}  ${hex} |${ascii}|`;
}

/**
 * `hexdump -C` of a whole buffer, byte for byte what the tool prints
 * (including `*` for repeated lines and the final length line).
 * @example hexdump(Buffer.from('hello\n'))
 * // '00000000  68 65 6c 6c 6f 0a                                 |hello.|\n00000006\n'
 */
export function hexdump(bytes: Uint8Array): string {
  const dumper = new HexDumper();
  return dumper.push(bytes) + dumper.end();
}

/**
 * A streaming `hexdump -C`: feed chunks as they arrive. `push` returns the
 * complete 16-byte lines (folding repeats into `*`), `flush` also returns the
 * partial last line at once (for interactive use: the next line then starts
 * at the unaligned offset), `end` returns the rest and the length line. Fed
 * without `flush`, the output equals `hexdump -C` of the concatenated bytes.
 */
export class HexDumper {
  /** Bytes dumped so far (including a pending partial line). */
  offset = 0;
  private pending: Uint8Array = new Uint8Array(0);
  private lastLine: Uint8Array | null = null;
  private folded = false;

  /** Adds bytes; returns the complete lines they finish. */
  push(chunk: Uint8Array): string {
    let data = chunk;
    if (this.pending.length > 0) {
      const joined = new Uint8Array(this.pending.length + chunk.length);
      joined.set(this.pending);
      joined.set(chunk, this.pending.length);
      data = joined;
    }
    const start = this.offset - this.pending.length;
    this.offset += chunk.length;
    let out = '';
    let at = 0;
    for (; at + LINE <= data.length; at += LINE) {
      out += this.line(data.subarray(at, at + LINE), start + at);
    }
    this.pending = data.slice(at);
    return out;
  }

  /** Returns the pending partial line now (empty if there is none). */
  flush(): string {
    if (this.pending.length === 0) return '';
    const out = hexLine(this.pending, this.offset - this.pending.length) + '\n';
    this.pending = new Uint8Array(0);
    this.lastLine = null;
    this.folded = false;
    return out;
  }

  /** Returns the pending partial line and the final length line. */
  end(): string {
    return this.flush() + (this.offset > 0 ? offsetText(this.offset) + '\n' : '');
  }

  private line(bytes: Uint8Array, offset: number): string {
    if (this.lastLine && equalBytes(this.lastLine, bytes)) {
      if (this.folded) return '';
      this.folded = true;
      return '*\n';
    }
    this.lastLine = bytes.slice();
    this.folded = false;
    return hexLine(bytes, offset) + '\n';
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
