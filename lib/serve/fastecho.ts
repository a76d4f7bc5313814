// The echo server's fast read path: a connection's bytes are read into one
// buffer shared by every connection (Node's `onread` option of net.Socket)
// instead of a fresh 64 KiB allocation per read(), and handed to a callback
// without the Readable stream's push/'data' machinery. This is the lesson's
// `char buf[BUFSIZ]; n = read(cfd, buf, sizeof buf)`, kept in JavaScript.
//
// Node offers `onread` only to sockets it constructs from options, not to
// the ones a server accepts. So the server is created with pauseOnConnect
// (nothing is read yet) and the accepted socket's handle (the kernel socket,
// libuv's uv_tcp_t) moves into a new net.Socket built with `onread`: the
// same descriptor, nothing copied, just a different reader. That uses
// `socket._handle` and the `handle` constructor option, which Node itself
// uses for every accepted socket but does not document; Deno and Bun do not
// implement them the same way, so the fast path is used under Node only and
// `adoptInPlaceReads` returns null elsewhere (the caller keeps the plain
// 'data' path, which behaves the same, only slower).
//
// The one hazard of a shared buffer: a write that the kernel does not take
// at once keeps a reference to its bytes until it completes, so those bytes
// must not live in a buffer the next read() overwrites. Reads from the
// shared buffer are therefore always copied (for small reads that is a slice
// of Node's 8 KiB pool, far cheaper than the allocation it replaces). A
// connection that streams (reads >= 16 KiB) gets a buffer of its own, which
// is written back without a copy while nothing is queued, and given up to the
// pending write (never read into again) when the kernel took only part of it.
import net from 'node:net';
import { runtimeName } from '../runtime.ts';

/** Size of one read(): libuv's own suggestion for stream sockets. */
export const READ_BUFFER_BYTES = 64 * 1024;
/** A read at least this big suggests a streaming connection: give it its own buffer. */
const STREAMING_READ_BYTES = 16 * 1024;

let shared: Buffer | null = null;

/** The handle methods the fast path relies on (Node's LibuvStreamWrap). */
interface StreamHandle {
  readStart(): number;
  readStop(): number;
  useUserBuffer(buffer: Uint8Array): void;
}

/**
 * Whether this runtime can read a server's connections in place (Node: yes;
 * Deno and Bun: no, see the header).
 * @example inPlaceReadsAvailable() // true under node and tsx
 */
export function inPlaceReadsAvailable(): boolean {
  return runtimeName() === 'node';
}

/**
 * Moves an accepted connection (from a server created with pauseOnConnect)
 * into a new net.Socket whose reads land in a shared buffer. `onChunk` gets
 * each read as a Buffer that it may write to the returned socket or keep
 * (a copy, or a buffer this connection no longer reads into); returning
 * false stops reading, and `socket.resume()` starts it again. Errors, 'end',
 * 'drain', 'close', pause(), resume(), end(), destroy() and setTimeout()
 * work on the returned socket as on any other. Returns null when the fast
 * path is not available: the accepted socket is then untouched (still
 * paused) and the caller uses it as usual.
 *
 * @example
 * const server = net.createServer({ pauseOnConnect: true }, (accepted) => {
 *   const socket = adoptInPlaceReads(accepted, (chunk) => socket.write(chunk));
 * });
 */
export function adoptInPlaceReads(
  accepted: net.Socket,
  onChunk: (chunk: Buffer) => boolean,
): net.Socket | null {
  if (!inPlaceReadsAvailable()) return null;
  const internal = accepted as unknown as { _handle?: Partial<StreamHandle> | null };
  const handle = internal._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function' || typeof handle.readStart !== 'function') return null;

  let own: Buffer | null = null; // this connection's buffer while it streams
  const nextBuffer = () => own ?? (shared ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES));
  const onread = {
    buffer: nextBuffer,
    callback: (length: number, buffer: Buffer): boolean => {
      let chunk: Buffer;
      if (buffer === own && socket.writableLength === 0) {
        chunk = own.subarray(0, length); // written back as is
      } else {
        chunk = Buffer.allocUnsafe(length);
        buffer.copy(chunk, 0, 0, length);
      }
      const more = onChunk(chunk);
      if (own !== null && chunk.buffer === own.buffer && socket.writableLength > 0) {
        own = null; // a pending write holds it now; read elsewhere
      } else if (length >= STREAMING_READ_BYTES) {
        own ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
      } else {
        own = null; // back to small reads: give the buffer back
      }
      return more;
    },
  };
  const socket: net.Socket = new net.Socket({
    handle,
    onread,
    allowHalfOpen: accepted.allowHalfOpen,
    readable: true,
    writable: true,
  } as net.SocketConstructorOpts);
  // The accepted socket object no longer owns the descriptor: with no handle,
  // destroy() only releases the object (and the server's count of it).
  internal._handle = null;
  accepted.destroy();
  return socket;
}
