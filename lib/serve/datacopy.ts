// The copy of what clients send to stdout (the lesson's write(STDOUT_FILENO)),
// raw or as a hex dump, bounded and never fatal to the server.
import type { Writable } from 'node:stream';
import type { HexDumper } from '../wire/hexdump.ts';
import { describeError, errorCode } from '../errors.ts';

/**
 * The copy of client data to stdout (the lesson's `write(STDOUT_FILENO)`),
 * raw or as a hex dump. It never crashes the server and never grows without
 * bound:
 * - when the output is backed up (a pipe nobody reads fast enough), `write`
 *   returns false and the connection pauses until the output drains: the
 *   copy is complete, and a slow reader slows the clients down (the lesson's
 *   blocking write() did the same). UDP cannot pause: its copies are
 *   dropped while the output is backed up, and the count is logged.
 * - when the output is closed (EPIPE: `echo-server | head`), copying stops
 *   with one log line and the echo goes on.
 */
export class DataCopy {
  readonly hex: boolean;
  private readonly output: Writable;
  private readonly log: (line: string) => void;
  private readonly waiting = new Set<() => void>();
  private closed = false;
  private dropped = 0;
  private lastSender: string | undefined;

  constructor(output: Writable, options: { hex?: boolean; log?: (line: string) => void } = {}) {
    this.output = output;
    this.hex = options.hex ?? false;
    this.log = options.log ?? ((line) => process.stderr.write(line + '\n'));
    output.on('error', (error) => this.close(error));
    output.on('drain', () => this.wake());
  }

  /**
   * Copies a chunk (through `dumper` when hex). Returns false when the output
   * is full: the caller pauses and `resume` is called once it drains. With
   * `resume` null (UDP) a chunk arriving while the output is full is dropped.
   */
  write(chunk: Buffer, dumper: HexDumper | null, resume: (() => void) | null, sender?: string): boolean {
    if (this.closed) return true;
    if (resume === null && this.output.writableNeedDrain) {
      if (this.dropped === 0) this.log('stdout is backed up; dropping copies of datagrams until it drains');
      this.dropped += chunk.length;
      return true;
    }
    // A hex dump says who sent the bytes whenever the sender changes (each
    // sender has its own offsets); a raw copy stays byte for byte.
    let label = '';
    if (dumper && sender !== undefined && sender !== this.lastSender) {
      this.lastSender = sender;
      label = `${sender}:\n`;
    }
    const ok = this.output.write(dumper ? label + dumper.push(chunk) + dumper.flush() : chunk);
    if (ok) return true;
    if (resume) this.waiting.add(resume);
    return false;
  }

  /** Writes text (a final hex line) unless the output is closed. */
  writeText(text: string): void {
    if (!this.closed && text) this.output.write(text);
  }

  /** Forgets a waiting connection (it closed). */
  forget(resume: () => void): void {
    this.waiting.delete(resume);
  }

  private wake(): void {
    if (this.dropped > 0) {
      this.log(`stdout drained; ${this.dropped} bytes of datagrams were not copied`);
      this.dropped = 0;
    }
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const resume of waiting) resume();
  }

  private close(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    const why = errorCode(error) === 'EPIPE' ? 'stdout was closed' : `stdout failed: ${describeError(error)}`;
    this.log(`${why}; no longer copying client data (the echo goes on)`);
    this.wake();
  }
}
