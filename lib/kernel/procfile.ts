// Reading /proc: where it is (`$SOCKET_LAB_PROC_ROOT` for tests), whether
// this system has the Linux socket tables, and reading one /proc file whole
// into a reused buffer. Only a missing file means "no table"; any other
// error (EMFILE, EACCES, EIO) reaches the caller.
import fs from 'node:fs';
import { Failure, describeError } from '../errors.ts';

/**
 * Where /proc is: `/proc`, or `$SOCKET_LAB_PROC_ROOT` (tests point it at a
 * missing directory to see the macOS path).
 */
export function defaultProcRoot(): string {
  return process.env.SOCKET_LAB_PROC_ROOT || '/proc';
}

/** True when this system has the Linux socket tables (not macOS, not BSD). */
export function hasProcNet(procRoot = defaultProcRoot()): boolean {
  return fs.existsSync(`${procRoot}/net/tcp`);
}

// One buffer for every table read, reused: the parsers keep no reference to
// it (rows hold numbers and new strings). It is big from the start (16 MiB
// holds ~100,000 rows) because growing means copying into fresh pages; the
// allocation is virtual until read() touches it, so unused room costs nothing.
let scratch: Buffer | undefined;

/**
 * Reads a /proc file whole: one open, then read() into one big buffer until
 * end of file. A read of a /proc/net table returns at most about a page
 * (20,000 rows are ~750 reads), so the size stat() reports (0) is no help.
 * Returns the bytes, valid until the next call, or null when the file does
 * not exist (IPv6 disabled, no /proc). Other errors are thrown: under
 * EMFILE an empty table would be a lie. They come as a Failure naming
 * the file: `cannot read /proc/net/tcp6: too many open files (EMFILE)`.
 * @example readProcFile('/proc/net/tcp6') // Uint8Array, or null without IPv6
 */
export function readProcFile(file: string): Uint8Array | null {
  const read = readProcFileInto(file, (scratch ??= Buffer.allocUnsafe(1 << 24)));
  if (read === null) return null;
  scratch = read.buffer;
  return read.bytes;
}

/**
 * readProcFile into a buffer of the caller's: the bytes (a view of `buffer`,
 * or of a bigger one when it did not fit, returned as `buffer` for next
 * time), or null when the file does not exist; other errors as readProcFile.
 */
export function readProcFileInto(file: string, buffer: Buffer): { bytes: Buffer; buffer: Buffer } | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null;
    throw unreadable(file, error);
  }
  try {
    let length = 0;
    for (;;) {
      if (buffer.length - length < 1 << 15) {
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
      let got: number;
      try {
        got = fs.readSync(fd, buffer, length, buffer.length - length, null);
      } catch (error) {
        throw unreadable(file, error);
      }
      if (got === 0) return { bytes: buffer.subarray(0, length), buffer };
      length += got;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A small /proc text file (a sysctl, a counters table), or null when it does
 * not exist (IPv6 disabled, an older kernel without that sysctl). Any other
 * error is a Failure naming the file, as for readProcFile.
 * @example readProcText('/proc/sys/net/ipv4/tcp_syn_retries') // '6\n'
 */
export function readProcText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null;
    throw unreadable(file, error);
  }
}

/** The Failure for a /proc file that exists but cannot be read. */
export function unreadable(file: string, error: unknown): Failure {
  return new Failure(`cannot read ${file}: ${describeError(error)}`);
}
