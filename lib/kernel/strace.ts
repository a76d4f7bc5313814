// Reads the output of `strace -f -qq -yy -s 64` line by line into call
// objects, keeps only the calls on a program's own sockets, and says each one
// as a C programmer reads it, with the lesson's call beside it. Pure text in,
// objects out: spawning strace is lib/trace.ts's job.
//
// Which sockets are "the program's": every AF_INET/AF_INET6 socket (strace's
// -yy names them TCP:, TCPv6:, UDP:, UDPv6:), and an AF_UNIX socket only when
// it is bound or connected to a path named in the traced command's arguments
// (`echo-server --unix /tmp/x.sock`) or accepted from such a listener. Every
// other Unix socket is the runtime's plumbing: tsx's IPC pipe
// (/tmp/tsx-0/PID.pipe), npm's and libuv's socketpairs for child stdio. The
// rule needs no timing ("before the script ran"), so it holds for threads,
// children and any launcher.
import { formatBytes } from '../wire/byteorder.ts';
import { encodeSockaddrIn, encodeSockaddrIn6 } from '../wire/sockaddr.ts';

/** The socket calls traced (`-e trace=`); epoll and execve are read too. */
export const SOCKET_CALLS = [
  'socket', 'socketpair', 'bind', 'listen', 'accept', 'accept4', 'connect', 'getsockname', 'getpeername',
  'setsockopt', 'getsockopt', 'shutdown', 'read', 'write', 'readv', 'writev', 'recvfrom', 'recvmsg',
  'recvmmsg', 'sendto', 'sendmsg', 'sendmmsg', 'close',
];
export const EPOLL_CALLS = ['epoll_ctl', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2'];
/** Calls whose result is a byte count of data moved. */
const DATA_CALLS = new Set(['read', 'write', 'readv', 'writev', 'recvfrom', 'recvmsg', 'sendto', 'sendmsg']);

/** An fd as strace -yy annotates it: `19<TCP:[127.0.0.1:8001->127.0.0.1:37190]>`. */
export interface FdInfo {
  fd: number;
  /** The annotation without the angle brackets, e.g. `TCP:[127.0.0.1:8001]`. */
  what: string;
  /** TCP, TCPv6, UDP, UDPv6, UNIX-STREAM, ... when the fd is a socket. */
  proto?: string;
  local?: string;
  remote?: string;
}

/** A decoded sockaddr argument or result. */
export interface SockaddrArg {
  family: 'AF_INET' | 'AF_INET6' | 'AF_UNIX' | string;
  port?: number;
  address?: string;
  path?: string;
  /** The structure's bytes as `hton` shows them (sockaddr_in/in6 only). */
  bytes?: string;
}

export interface StraceCall {
  pid: number;
  name: string;
  /** Arguments as strace printed them, fd annotations removed. */
  args: string[];
  /** The first argument's fd, when it is one. */
  fd?: FdInfo;
  /** The return value (a number; -1 on error). */
  result: number | null;
  /** The fd a call returned (socket, accept4), with its annotation. */
  resultFd?: FdInfo;
  errno?: string;
  /** strace's text for the errno, e.g. `No such file or directory`. */
  errnoText?: string;
  /** Decoded sockaddr arguments (bind, connect, getsockname, sendto, ...). */
  sockaddr?: SockaddrArg;
  /** The data argument as strace shows it, decoded to text (read, write, ...). */
  data?: string;
  /** True when strace cut the data at -s bytes. */
  truncated?: boolean;
  /** The raw line(s) strace wrote. */
  raw: string;
}

const LINE = /^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+|\?|0x[0-9a-f]+)(?:<([^]*)>)?(?:\s+(E[A-Z0-9]+)\s+\(([^)]*)\))?(?:\s+\(.*\))?\s*$/;

/**
 * Joins strace's `<unfinished ...>` / `<... NAME resumed>` halves and parses
 * each complete call. Lines that are not calls (signals, exits) give null.
 * @example new StraceParser().push('9 listen(19<TCP:[127.0.0.1:8001]>, 511) = 0')?.name // 'listen'
 */
export class StraceParser {
  private pending = new Map<number, string>();

  push(line: string): StraceCall | null {
    const text = line.replace(/\r?\n$/, '');
    const pid = Number(/^(\d+)\s/.exec(text)?.[1]);
    if (!Number.isFinite(pid)) return null;
    const unfinished = / <unfinished \.\.\.>$/.exec(text);
    if (unfinished) {
      this.pending.set(pid, text.slice(0, unfinished.index).trimEnd());
      return null;
    }
    const resumed = /^\d+\s+<\.\.\. \w+ resumed>(.*)$/.exec(text);
    if (resumed) {
      const start = this.pending.get(pid);
      if (start === undefined) return null;
      this.pending.delete(pid);
      const rest = resumed[1];
      const glue = start.endsWith(',') ? ' ' : '';
      return parseCallLine(start + glue + rest);
    }
    return parseCallLine(text);
  }
}

/** Parses one complete strace line (`PID name(args) = result`), or null. */
export function parseCallLine(text: string): StraceCall | null {
  const m = LINE.exec(text);
  if (!m) return null;
  const [, pid, name, argText, ret, retNote, errno, errnoText] = m;
  const rawArgs = splitArgs(argText);
  const call: StraceCall = {
    pid: Number(pid),
    name,
    args: rawArgs.map(stripFdNotes),
    result: ret === '?' ? null : Number(ret),
    raw: text,
  };
  const fd = parseFd(rawArgs[0] ?? '');
  if (fd) call.fd = fd;
  if (retNote !== undefined && call.result !== null && call.result >= 0) {
    call.resultFd = parseFd(`${call.result}<${retNote}>`) ?? undefined;
  }
  if (errno) {
    call.errno = errno;
    call.errnoText = errnoText;
  }
  const addr = balanced(argText, argText.indexOf('{sa_family='));
  if (addr) call.sockaddr = parseSockaddr(addr);
  if (DATA_CALLS.has(name)) {
    // The data: the first iov_base (readv, writev, recvmsg, sendmsg) or the buffer argument.
    const iov = argText.indexOf('iov_base="');
    const quoted = iov >= 0 ? argText.slice(iov + 9) : rawArgs.slice(1).find((a) => a.startsWith('"'));
    const str = quoted ? /^"((?:[^"\\]|\\.)*)"(\.\.\.)?/.exec(quoted) : null;
    if (str) {
      call.data = new TextDecoder().decode(unescapeC(str[1]));
      if (str[2]) call.truncated = true;
    }
  }
  return call;
}

/** The `{...}` starting at `at` (nested braces and quotes kept), or null. */
function balanced(text: string, at: number): string | null {
  if (at < 0) return null;
  let depth = 0;
  let quoted = false;
  for (let i = at; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return text.slice(at, i + 1);
  }
  return null;
}

/** Splits an argument list at top-level commas (quotes, {}, [], (), <> nest). */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      current += c;
      if (c === '\\') current += text[++i] ?? '';
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"') quoted = true;
    else if ('{[(<'.includes(c)) depth++;
    else if ('}])>'.includes(c) && !(c === '>' && text[i - 1] === '-')) depth--;
    if (c === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
    } else current += c;
  }
  if (current.trim() !== '') out.push(current.trim());
  return out;
}

/** `19<TCP:[...]>` -> `19`, anywhere in an argument. */
function stripFdNotes(arg: string): string {
  const fd = /^(\d+)</.exec(arg);
  if (fd && arg.endsWith('>')) return fd[1];
  return arg.replace(/(\d+)<(?:TCP|TCPv6|UDP|UDPv6|UNIX[-\w]*|NETLINK|anon_inode|pipe)[^<>]*(?:<[^<>]*>)?[^<>]*>/g, '$1');
}

/**
 * Reads an fd with its -yy annotation.
 * @example parseFd('20<TCP:[127.0.0.1:8001->127.0.0.1:49640]>') // { fd: 20, proto: 'TCP', local: '127.0.0.1:8001', remote: '127.0.0.1:49640', ... }
 */
export function parseFd(text: string): FdInfo | null {
  const m = /^(\d+)<(.*)>$/.exec(text);
  if (!m) return null;
  const info: FdInfo = { fd: Number(m[1]), what: m[2] };
  const sock = /^([A-Z][A-Za-z0-9-]*):\[(.*)\]$/.exec(m[2]);
  if (sock && /^(TCP|UDP|UNIX|SCTP|RAW|NETLINK|PACKET)/.test(sock[1])) {
    info.proto = sock[1];
    const body = sock[2];
    if (!/^\d+$/.test(body)) {
      const [local, remote] = body.split('->');
      info.local = local;
      if (remote !== undefined) info.remote = remote;
    }
  }
  return info;
}

/** True when the fd annotation names an AF_INET or AF_INET6 socket. */
export function isInetFd(info: FdInfo | undefined): boolean {
  return !!info?.proto && /^(TCP|UDP)(v6)?$/.test(info.proto);
}

/**
 * Decodes strace's sockaddr text, with the bytes of a sockaddr_in/in6.
 * @example parseSockaddr('{sa_family=AF_INET, sin_port=htons(8001), sin_addr=inet_addr("127.0.0.1")}').port // 8001
 */
export function parseSockaddr(text: string): SockaddrArg {
  const family = /sa_family=(\w+)/.exec(text)?.[1] ?? 'unknown';
  const port = /sin6?_port=htons\((\d+)\)/.exec(text)?.[1];
  if (family === 'AF_INET') {
    const address = /inet_addr\("([^"]+)"\)/.exec(text)?.[1] ?? '0.0.0.0';
    const p = Number(port ?? 0);
    return { family, port: p, address, bytes: formatBytes(encodeSockaddrIn(address, p)) };
  }
  if (family === 'AF_INET6') {
    const address = /inet_pton\(AF_INET6, "([^"]+)"/.exec(text)?.[1] ?? '::';
    const p = Number(port ?? 0);
    const flowinfo = Number(/sin6_flowinfo=htonl\((\d+)\)/.exec(text)?.[1] ?? 0);
    const scopeId = Number(/sin6_scope_id=(\d+)/.exec(text)?.[1] ?? 0);
    let bytes: string | undefined;
    try {
      bytes = formatBytes(encodeSockaddrIn6(address, p, { flowinfo, scopeId }));
    } catch {
      // a scope id given by name (if_nametoindex("eth0")): no bytes
    }
    return { family, port: p, address, ...(bytes ? { bytes } : {}) };
  }
  if (family === 'AF_UNIX') {
    const path = /sun_path=(@?)"((?:[^"\\]|\\.)*)"/.exec(text);
    return path ? { family, path: path[1] + new TextDecoder().decode(unescapeC(path[2])) } : { family };
  }
  return { family };
}

/** Undoes strace's C string escapes (`\n`, `\0`, `\33`, `\x1b`, `\"`). */
export function unescapeC(text: string): Uint8Array {
  const out: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '\\') {
      out.push(...enc.encode(c));
      continue;
    }
    const n = text[++i];
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, a: 7, b: 8, e: 27, '\\': 92, '"': 34, "'": 39 };
    if (n in simple) out.push(simple[n]);
    else if (n === 'x') {
      const hex = /^[0-9a-fA-F]{1,2}/.exec(text.slice(i + 1))![0];
      out.push(parseInt(hex, 16));
      i += hex.length;
    } else if (/[0-7]/.test(n)) {
      const oct = /^[0-7]{1,3}/.exec(text.slice(i))![0];
      out.push(parseInt(oct, 8) & 0xff);
      i += oct.length - 1;
    } else out.push(...enc.encode(n ?? ''));
  }
  return Uint8Array.from(out);
}

/**
 * Decides which calls belong to the traced program's sockets (the rule in
 * this file's header) and remembers the fds it has seen.
 */
export class SocketFilter {
  /** fd -> shown (true) or plumbing (false); unknown Unix sockets wait. */
  private fds = new Map<number, boolean>();
  private waiting = new Map<number, StraceCall[]>();
  private paths: string[];

  /** `paths`: the traced command's arguments (a Unix socket path among them is the program's). */
  constructor(args: string[] = []) {
    this.paths = args.filter((a) => a.includes('/'));
  }

  /** The fds shown now (for epoll_wait's events). */
  shownFds(): Set<number> {
    return new Set([...this.fds].filter(([, shown]) => shown).map(([fd]) => fd));
  }

  /**
   * The calls to show for this one: none, it, or (when a Unix socket turns
   * out to be the program's) the calls held back for it, then it.
   */
  accept(call: StraceCall, { epoll = false } = {}): StraceCall[] {
    const name = call.name;
    if (name === 'execve') return [];
    if (EPOLL_CALLS.includes(name)) {
      if (!epoll) return [];
      if (name === 'epoll_ctl') {
        const target = parseFd(call.raw.match(/EPOLL_CTL_\w+, (\d+<[^]*?>)(?:, |\) )/)?.[1] ?? '');
        return target && this.fds.get(target.fd) === true ? [call] : [];
      }
      const ready = [...call.raw.matchAll(/data=\{u32=(\d+)/g)].map((m) => Number(m[1]));
      return ready.some((fd) => this.fds.get(fd) === true) ? [call] : [];
    }
    if (name === 'socketpair') return [];
    if (name === 'socket') {
      const fd = call.resultFd;
      if (!fd) return /AF_INET6?\b/.test(call.args[0] ?? '') ? [call] : [];
      if (isInetFd(fd)) {
        this.fds.set(fd.fd, true);
        return [call];
      }
      if (call.args[0] === 'AF_UNIX') {
        this.fds.delete(fd.fd);
        this.waiting.set(fd.fd, [call]);
      }
      return [];
    }
    const fd = call.fd;
    if (!fd || !fd.proto) return [];
    let verdict: boolean | undefined = isInetFd(fd) ? true : this.fds.get(fd.fd);
    if (verdict === undefined && (name === 'bind' || name === 'connect')) {
      const path = call.sockaddr?.path;
      verdict = !!path && this.paths.some((p) => p === path || p.endsWith(path) || path.endsWith(p));
    }
    let out: StraceCall[] = [];
    if (verdict === undefined) {
      const held = this.waiting.get(fd.fd);
      if (held && name !== 'close') {
        held.push(call);
        return [];
      }
      verdict = false;
    }
    this.fds.set(fd.fd, verdict);
    if (verdict) out = [...(this.waiting.get(fd.fd) ?? []), call];
    this.waiting.delete(fd.fd);
    if ((name === 'accept4' || name === 'accept') && call.resultFd) this.fds.set(call.resultFd.fd, verdict);
    if (name === 'close' && call.result === 0) this.fds.delete(fd.fd);
    return out;
  }
}

/** What one call means, for the trace. */
export interface Described {
  /** The call as a C programmer writes it: `listen(19, 511) = 0`. */
  line: string;
  /** The lesson's call, or what the call is for. */
  lesson?: string;
  /** Extra lines: the sockaddr bytes, the new socket's four-tuple, the data. */
  details: string[];
}

/**
 * Says a call the way the trace prints it.
 * @example describeCall(parseCallLine('9 listen(19<TCP:[127.0.0.1:8001]>, 511) = 0')!).line // 'listen(19, 511) = 0'
 */
export function describeCall(call: StraceCall): Described {
  const result = call.result === null ? '?' : call.errno ? `-1 ${call.errno} (${call.errnoText})` : String(call.result);
  const line = `${call.name}(${call.args.join(', ')}) = ${result}`;
  const details: string[] = [];
  const sa = call.sockaddr;
  if (sa?.bytes) {
    const [struct, field] = sa.family === 'AF_INET' ? ['sockaddr_in', 'sin_port'] : ['sockaddr_in6', 'sin6_port'];
    details.push(`${struct} ${sa.address} port ${sa.port} (${field}=htons(${sa.port})): ${sa.bytes}`);
  }
  const fd = call.resultFd ?? call.fd;
  if ((call.name === 'accept4' || call.name === 'accept') && call.resultFd?.remote) {
    details.push(`new socket ${call.resultFd.fd}: ${call.resultFd.local} <- ${call.resultFd.remote} (the client)`);
  } else if (call.name === 'connect' && fd?.local && fd.remote) {
    details.push(`four-tuple ${fd.local} -> ${fd.remote}`);
  }
  if (call.data !== undefined && call.result !== null && call.result >= 0 && DATA_CALLS.has(call.name)) {
    const moved = call.name.startsWith('read') || call.name.startsWith('recv') ? 'read' : 'sent';
    details.push(`${call.result} bytes ${moved}${call.result === 0 && moved === 'read' ? ' (EOF: the peer closed its side)' : ''}`);
  }
  if (call.errno === 'EINPROGRESS') details.push('EINPROGRESS: a non-blocking connect; the handshake goes on, epoll says when it is done');
  if (call.errno === 'EAGAIN') details.push('EAGAIN: nothing more to read now (a non-blocking socket); back to epoll_wait');
  return { line, lesson: lessonFor(call), details };
}

function lessonFor(call: StraceCall): string | undefined {
  const option = call.name.endsWith('sockopt') ? call.args[2] : undefined;
  switch (call.name) {
    case 'socket': {
      const type = call.args[1]?.startsWith('SOCK_DGRAM') ? 'SOCK_DGRAM' : 'SOCK_STREAM';
      return `lesson: socket(${call.args[0] ?? 'AF_INET'}, ${type}, 0); Node adds CLOEXEC|NONBLOCK`;
    }
    case 'bind':
      return 'lesson: bind(sockfd, (struct sockaddr *)&serAddr, sizeof(serAddr))';
    case 'listen':
      return "lesson: listen(sockfd, backlog); Node's default backlog is 511";
    case 'accept':
    case 'accept4':
      return 'lesson: accept(sockfd, ...); Node passes NULL and asks getpeername()';
    case 'connect':
      return 'lesson: connect(sockfd, (struct sockaddr *)&serAddr, sizeof(serAddr))';
    case 'getsockname':
      return 'the local address (with port 0 or after connect: the port the kernel chose)';
    case 'getpeername':
      return "the peer's address";
    case 'read':
    case 'readv':
      return 'lesson: read(connfd, buf, sizeof(buf))';
    case 'write':
    case 'writev':
      return 'lesson: write(connfd, buf, n)';
    case 'recvfrom':
    case 'recvmsg':
    case 'recvmmsg':
      return call.fd?.proto?.startsWith('TCP')
        ? 'lesson: read(connfd, ...): recvfrom() on a stream socket, no address'
        : 'recvfrom(): one datagram and its sender';
    case 'sendto':
    case 'sendmsg':
    case 'sendmmsg':
      return call.fd?.proto?.startsWith('TCP')
        ? 'lesson: write(connfd, ...): sendto() on a stream socket, no address'
        : 'sendto(): one datagram to an address';
    case 'shutdown':
      return 'half-close: shutdown(fd, SHUT_WR) sends FIN, reading goes on';
    case 'close':
      return 'lesson: close(fd)';
    case 'setsockopt':
    case 'getsockopt':
      if (option === 'SO_REUSEADDR') return 'Node sets SO_REUSEADDR on every listening socket';
      if (option === 'TCP_NODELAY') return "Nagle's algorithm off (Node does it on every accepted socket)";
      if (option === 'SO_KEEPALIVE') return 'TCP keepalive probes';
      if (option === 'IPV6_V6ONLY') return 'Node clears IPV6_V6ONLY: an IPv6 listener on :: takes IPv4 too';
      if (option === 'SO_ERROR') return "the outcome of the non-blocking connect (0: connected)";
      return undefined;
    case 'epoll_ctl':
      return call.args[1] === 'EPOLL_CTL_DEL'
        ? 'takes the socket out of the event loop'
        : 'registers the socket with the event loop (its readiness, not its data)';
    case 'epoll_wait':
    case 'epoll_pwait':
    case 'epoll_pwait2':
      return 'the event loop waits for ready sockets';
    default:
      return undefined;
  }
}

/** One line per call name in a summary. */
export interface SummaryRow {
  name: string;
  count: number;
  /** Bytes moved, for data calls. */
  bytes?: number;
  /** Calls that returned -1, by errno (EINPROGRESS and EAGAIN are the non-blocking socket's normal answers). */
  errors: Record<string, number>;
}

/** Counts calls by name (and the bytes of data calls), in first-seen order. */
export function summarize(calls: StraceCall[]): SummaryRow[] {
  const rows = new Map<string, SummaryRow>();
  for (const call of calls) {
    let row = rows.get(call.name);
    if (!row) {
      row = { name: call.name, count: 0, errors: {}, ...(DATA_CALLS.has(call.name) ? { bytes: 0 } : {}) };
      rows.set(call.name, row);
    }
    row.count++;
    if (call.errno) row.errors[call.errno] = (row.errors[call.errno] ?? 0) + 1;
    if (row.bytes !== undefined && call.result !== null && call.result > 0) row.bytes += call.result;
  }
  return [...rows.values()];
}

/**
 * A summary row as text: `accept4 ×3`, `read ×12, 1,204 bytes`, `connect ×1 (1 EINPROGRESS)`.
 * @example formatSummaryRow({ name: 'read', count: 12, bytes: 1204, errors: {} }) // 'read ×12, 1,204 bytes'
 */
export function formatSummaryRow(row: SummaryRow): string {
  let text = `${row.name} ×${row.count}`;
  if (row.bytes !== undefined) text += `, ${row.bytes.toLocaleString('en-US')} bytes`;
  const errors = Object.entries(row.errors).map(([errno, n]) => `${n} ${errno}`);
  if (errors.length) text += ` (${errors.join(', ')})`;
  return text;
}
