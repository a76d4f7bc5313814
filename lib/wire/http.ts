// Just enough HTTP/1.1 (RFC 9112) for a browser to talk to a plain TCP
// server: find where a request head ends, parse its request line and header
// fields strictly, tell how long the body is and whether the connection
// stays open, and format a response. Pure: bytes in, values out. The socket
// work lives in scripts/http-hello.ts.
//
// A request on the wire (each line ends in CR LF, the head in a blank line):
//   GET / HTTP/1.1\r\n
//   Host: 127.0.0.1:8080\r\n
//   \r\n
//   [Content-Length bytes of body]

/** The largest request head accepted (request line + headers + blank line). */
export const MAX_HEAD_BYTES = 16 * 1024;
/** The largest request body accepted by default. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Reason phrases for the statuses this module produces. */
export const STATUS_TEXT: Record<number, string> = {
  100: 'Continue',
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  411: 'Length Required',
  413: 'Content Too Large',
  417: 'Expectation Failed',
  421: 'Misdirected Request',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  505: 'HTTP Version Not Supported',
};

/** A request the server must refuse: the status to answer with and why. */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface RequestHead {
  method: string;
  /** The request target exactly as sent (`/`, `/a?b=1`, `http://host/`, `*`). */
  target: string;
  /** `1.0` or `1.1` (any HTTP/1.x above 1 is treated as 1.1). */
  version: '1.0' | '1.1';
  /** Header fields in order, names as sent, values without surrounding spaces. */
  headers: Array<[name: string, value: string]>;
  /** The exact bytes of the head, from the request line to the blank line. */
  raw: Buffer;
}

// RFC 9110 token characters: method names and header field names.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A request target: visible ASCII, no spaces or control bytes.
const TARGET = /^[\x21-\x7e]+$/;
// Field values: anything but control bytes (HTAB and obs-text 0x80-0xFF allowed).
const BAD_VALUE_BYTE = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * Where the head in `buffer` ends: the index just past its blank line, or -1
 * while it is incomplete. Bare LF line ends are accepted (RFC 9112 §2.2).
 * `from` lets a caller resume a scan without re-reading old bytes.
 * @example findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\nxyz')) // 27
 */
export function findHeadEnd(buffer: Uint8Array, from = 0): number {
  for (let i = Math.max(from, 0); i < buffer.length; i++) {
    if (buffer[i] !== 0x0a) continue;
    if (buffer[i + 1] === 0x0a) return i + 2;
    if (buffer[i + 1] === 0x0d && buffer[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/**
 * Parses a complete request head (as delimited by findHeadEnd). Throws an
 * HttpError (400, or 505 for another HTTP major version) naming what is wrong.
 * @example parseRequestHead(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n')).target // '/'
 */
export function parseRequestHead(raw: Buffer): RequestHead {
  const text = raw.toString('latin1');
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  // The head ends in an empty line, so split() leaves two empty strings last.
  lines.splice(-2);
  if (lines.some((line) => line.includes('\r'))) throw new HttpError(400, 'a bare CR inside a line');
  const requestLine = lines[0] ?? '';
  const parts = requestLine.split(' ');
  if (parts.length !== 3) {
    throw new HttpError(400, `request line ${quote(requestLine)}: expected METHOD SP TARGET SP HTTP/1.1`);
  }
  const [method, target, protocol] = parts;
  if (!TOKEN.test(method)) throw new HttpError(400, `method ${quote(method)} is not a token`);
  if (!TARGET.test(target)) throw new HttpError(400, `request target ${quote(target)} has invalid characters`);
  const version = /^HTTP\/(\d)\.(\d)$/.exec(protocol);
  if (!version) throw new HttpError(400, `protocol ${quote(protocol)}: expected HTTP/1.1 or HTTP/1.0`);
  if (version[1] !== '1') throw new HttpError(505, `protocol ${quote(protocol)}: only HTTP/1.x is spoken here`);

  const headers: Array<[string, string]> = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith(' ') || line.startsWith('\t')) {
      throw new HttpError(400, `header line ${i}: obsolete line folding is not accepted`);
    }
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon);
    if (!TOKEN.test(name)) {
      throw new HttpError(400, `header line ${i} ${quote(line.slice(0, 60))}: expected NAME: VALUE`);
    }
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (BAD_VALUE_BYTE.test(value)) throw new HttpError(400, `header ${name}: control byte in its value`);
    headers.push([name, value]);
  }
  const head: RequestHead = {
    method,
    target,
    version: version[2] === '0' ? '1.0' : '1.1',
    headers,
    raw,
  };
  const hosts = headerValues(head, 'host');
  if (head.version === '1.1' && hosts.length !== 1) {
    throw new HttpError(400, hosts.length ? 'more than one Host header' : 'HTTP/1.1 request without a Host header');
  }
  return head;
}

/** Every value of header `name` (case-insensitive), in order. */
export function headerValues(head: RequestHead, name: string): string[] {
  const wanted = name.toLowerCase();
  return head.headers.filter(([n]) => n.toLowerCase() === wanted).map(([, v]) => v);
}

/** The values of header `name` joined with `, ` as RFC 9110 combines them, or undefined. */
export function header(head: RequestHead, name: string): string | undefined {
  const values = headerValues(head, name);
  return values.length ? values.join(', ') : undefined;
}

// The comma-separated, lower-cased tokens of a list header (Connection, Expect...).
function listTokens(head: RequestHead, name: string): string[] {
  return headerValues(head, name)
    .flatMap((value) => value.split(','))
    .map((token) => token.trim().toLowerCase())
    .filter(Boolean);
}

/**
 * The body length from Content-Length (0 without one). A Transfer-Encoding
 * (chunked) body is refused with 411: this parser frames bodies by length
 * only. Conflicting or malformed lengths are 400, lengths over `maxBody` 413.
 */
export function bodyLength(head: RequestHead, maxBody = MAX_BODY_BYTES): number {
  if (headerValues(head, 'transfer-encoding').length) {
    throw new HttpError(411, 'Transfer-Encoding bodies are not read here; send the body with a Content-Length');
  }
  const lengths = headerValues(head, 'content-length').flatMap((value) => value.split(',').map((v) => v.trim()));
  if (lengths.length === 0) return 0;
  if (lengths.some((length) => !/^\d{1,15}$/.test(length))) {
    throw new HttpError(400, `Content-Length ${quote(lengths.join(', '))} is not a decimal length`);
  }
  if (new Set(lengths.map(Number)).size > 1) {
    throw new HttpError(400, `conflicting Content-Length values ${quote(lengths.join(', '))}`);
  }
  const length = Number(lengths[0]);
  if (length > maxBody) {
    throw new HttpError(413, `a body of ${length} bytes is over the limit of ${maxBody}`);
  }
  return length;
}

/**
 * Whether the connection stays open after this request: HTTP/1.1 keeps it
 * unless `Connection: close`; HTTP/1.0 closes it unless `Connection: keep-alive`.
 */
export function keepsAlive(head: RequestHead): boolean {
  const tokens = listTokens(head, 'connection');
  if (tokens.includes('close')) return false;
  return head.version === '1.1' || tokens.includes('keep-alive');
}

/**
 * Whether the client waits for `100 Continue` before sending its body.
 * Throws 417 for an expectation other than 100-continue.
 */
export function expectsContinue(head: RequestHead): boolean {
  const tokens = listTokens(head, 'expect');
  if (tokens.some((token) => token !== '100-continue')) {
    throw new HttpError(417, `unsupported expectation ${quote(header(head, 'expect') ?? '')}`);
  }
  return tokens.length > 0 && head.version === '1.1';
}

/** One event from a RequestReader. */
export type ReaderEvent =
  | { kind: 'request'; head: RequestHead; body: Buffer }
  | { kind: 'continue'; head: RequestHead }
  | { kind: 'error'; error: HttpError; head?: RequestHead };

export interface ReaderLimits {
  /** Largest head in bytes (default MAX_HEAD_BYTES). */
  maxHeadBytes?: number;
  /** Largest body in bytes (default MAX_BODY_BYTES). */
  maxBodyBytes?: number;
}

/**
 * Cuts a byte stream into requests: push() what the socket delivers, then
 * call next() until it returns null. Pipelined requests come out in order.
 * It holds at most one head (≤ maxHeadBytes) plus one body (≤ maxBodyBytes)
 * plus what the last push() brought; after an error it stops (the caller
 * answers and closes, since the stream can no longer be framed).
 *
 * @example
 * const reader = new RequestReader();
 * reader.push(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
 * reader.next(); // { kind: 'request', head: {...}, body: <Buffer > }
 * reader.next(); // null
 */
export class RequestReader {
  private buffer: Buffer = Buffer.alloc(0);
  private scanned = 0; // bytes of buffer already searched for the head's end
  private head: RequestHead | null = null; // parsed, waiting for its body
  private length = 0;
  private failed = false;
  private readonly maxHead: number;
  private readonly maxBody: number;

  constructor(limits: ReaderLimits = {}) {
    this.maxHead = limits.maxHeadBytes ?? MAX_HEAD_BYTES;
    this.maxBody = limits.maxBodyBytes ?? MAX_BODY_BYTES;
  }

  /** Adds bytes read from the connection (ignored after an error). */
  push(chunk: Buffer): void {
    if (this.failed) return;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
  }

  /** Whether part of a request has arrived but not all of it. */
  get started(): boolean {
    return !this.failed && (this.head !== null || this.buffer.length > 0);
  }

  /** The next complete request, a `continue` cue, an error, or null for "need more bytes". */
  next(): ReaderEvent | null {
    if (this.failed) return null;
    try {
      return this.head ? this.nextBody() : this.nextHead();
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      this.failed = true;
      const head = this.head ?? undefined;
      this.buffer = Buffer.alloc(0);
      this.head = null;
      return { kind: 'error', error, head };
    }
  }

  private nextHead(): ReaderEvent | null {
    // RFC 9112 §2.2: ignore empty lines before a request line.
    let skip = 0;
    while (this.buffer[skip] === 0x0d || this.buffer[skip] === 0x0a) skip++;
    if (skip > 0) {
      this.buffer = this.buffer.subarray(skip);
      this.scanned = Math.max(0, this.scanned - skip);
    }
    const end = findHeadEnd(this.buffer, this.scanned - 2);
    if (end < 0) {
      this.scanned = this.buffer.length;
      if (this.buffer.length > this.maxHead) {
        throw new HttpError(431, `request head longer than ${this.maxHead} bytes`);
      }
      return null;
    }
    if (end > this.maxHead) throw new HttpError(431, `request head of ${end} bytes is over ${this.maxHead}`);
    // Copy the head out so it does not pin the whole read buffer.
    const head = parseRequestHead(Buffer.from(this.buffer.subarray(0, end)));
    this.buffer = this.buffer.subarray(end);
    this.scanned = 0;
    this.head = head;
    this.length = bodyLength(head, this.maxBody);
    if (expectsContinue(head) && this.buffer.length < this.length) return { kind: 'continue', head };
    return this.nextBody();
  }

  private nextBody(): ReaderEvent | null {
    const head = this.head!;
    if (this.buffer.length < this.length) return null;
    const body = Buffer.from(this.buffer.subarray(0, this.length));
    this.buffer = this.buffer.subarray(this.length);
    this.head = null;
    this.length = 0;
    return { kind: 'request', head, body };
  }
}

/**
 * A response as bytes: status line, headers (Content-Length added from the
 * body), blank line, body. `omitBody` is for HEAD: same headers, no body.
 * @example formatResponse(200, { 'Content-Type': 'text/plain' }, 'hi')
 * // HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi
 */
export function formatResponse(
  status: number,
  headers: Record<string, string>,
  body: string | Buffer = '',
  omitBody = false,
): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Unknown'}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  head += `Content-Length: ${bytes.length}\r\n\r\n`;
  return omitBody ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), bytes]);
}

/**
 * Bytes as readable text that hides nothing: printable ASCII as is, `\r`,
 * `\n` (followed by a real line break), `\t`, `\\` for a backslash, and
 * `\xNN` for every other byte.
 * @example showBytes(Buffer.from('GET / HTTP/1.1\r\n')) // 'GET / HTTP/1.1\\r\\n\n'
 */
export function showBytes(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    if (byte === 0x0d) text += '\\r';
    else if (byte === 0x0a) text += '\\n\n';
    else if (byte === 0x09) text += '\\t';
    else if (byte === 0x5c) text += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) text += String.fromCharCode(byte);
    else text += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return text;
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]);
}

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}
