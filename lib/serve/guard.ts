// Guards a server keeps against a hostile or broken world, each cheap enough
// to sit on a hot path:
// - a rate-limited logger: a condition that can repeat thousands of times a
//   second (a flood of reflected datagrams, descriptor exhaustion) is logged
//   at most once per interval, with a count of what was not logged;
// - the UDP reflection guard: an open UDP echo answering a datagram whose
//   source port is another auto-answering service (echo 7, chargen 19, DNS
//   53, ...) starts an endless ping-pong or amplifies a spoofed flood
//   (CVE-1999-0103). Hardened inetds drop such datagrams; so do we, with one
//   table lookup per datagram;
// - a descriptor watch for TCP servers: EMFILE on accept() is absorbed by
//   libuv (see watchDescriptors), so we probe for it once a second and say so.
import fs from 'node:fs';
import type net from 'node:net';
import { describeError } from '../errors.ts';

/**
 * Logs a line at most once per `intervalMs` (plus an initial `burst` of
 * lines); what was held back is counted and reported with the next line
 * that is logged: `... (37 more not logged in the last second)`.
 *
 * @example
 * const warn = new RateLimitedLog((line) => process.stderr.write(line + '\n'));
 * for (let i = 0; i < 1000; i++) warn.log('dropped a datagram'); // one line
 */
export class RateLimitedLog {
  /** Lines held back since the last one logged. */
  suppressed = 0;
  private readonly sink: (line: string) => void;
  private readonly intervalMs: number;
  private readonly burst: number;
  private windowStart = -Infinity;
  private inWindow = 0;
  private readonly now: () => number;

  constructor(
    sink: (line: string) => void,
    options: { intervalMs?: number; burst?: number; now?: () => number } = {},
  ) {
    this.sink = sink;
    this.intervalMs = options.intervalMs ?? 1000;
    this.burst = Math.max(1, options.burst ?? 1);
    this.now = options.now ?? Date.now;
  }

  /** Logs `line` unless the budget of this interval is spent; returns whether it was logged. */
  log(line: string): boolean {
    const now = this.now();
    if (now - this.windowStart >= this.intervalMs) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.burst) {
      this.suppressed++;
      return false;
    }
    this.inWindow++;
    const held = this.suppressed;
    this.suppressed = 0;
    this.sink(held > 0 ? `${line} (${held} more not logged since the last such line)` : line);
    return true;
  }
}

/**
 * Source ports of UDP services that answer any datagram on their own: a
 * reply to one of them can loop forever or reflect an attack. echo 7,
 * discard 9 (harmless but never a client), daytime 13, qotd 17, chargen 19,
 * time 37, DNS 53, TFTP 69, NTP 123, NetBIOS 137/138, SNMP 161/162, LDAP 389,
 * SSDP 1900, memcached 11211, and port 0 (never a real sender).
 */
export const REFLECTION_PORTS: readonly number[] = [0, 7, 9, 13, 17, 19, 37, 53, 69, 123, 137, 138, 161, 162, 389, 1900, 11211];

const reflecting = new Uint8Array(65536);
for (const port of REFLECTION_PORTS) reflecting[port] = 1;

/** Whether a datagram from this source port must not be answered (one table lookup). */
export function isReflectionPort(port: number): boolean {
  return reflecting[port & 0xffff] === 1;
}

/**
 * Watches a TCP server for descriptor exhaustion and keeps it alive.
 *
 * What Node/libuv do on EMFILE (checked on Node 20, see tests/emfile.test.ts):
 * libuv keeps a spare descriptor (open on /dev/null) per event loop; when
 * accept() fails with EMFILE/ENFILE it closes the spare, accept()s and at
 * once closes every pending connection (so the listener does not stay
 * readable and spin the CPU), then reopens the spare. Those clients see an
 * immediate close; JavaScript never hears of it (no 'error', no
 * 'connection'). Only if the spare cannot be had is the error passed up, and
 * net.Server then emits 'error', which without a listener kills the process.
 *
 * So this: (1) adds an 'error' listener that logs (at most once a second)
 * instead of crashing; (2) once a second, while the server listens, opens and
 * closes /dev/null: EMFILE there means new clients are being turned away, and
 * that is logged at most once a second until descriptors are free again,
 * which is logged once. Accepting resumes by itself (libuv tries every time
 * the listener is readable). Returns a function that stops the watch.
 */
export function watchDescriptors(
  server: net.Server,
  options: { log: (line: string) => void; active?: () => number; intervalMs?: number },
): () => void {
  const warn = new RateLimitedLog(options.log);
  const clients = () => (options.active ? `; serving the ${options.active()} clients already connected` : '');
  const onError = (error: unknown) => {
    if (!server.listening) return; // a bind()/listen() failure: whoever called listen() reports it
    warn.log(`accept() failed: ${describeError(error)}; still listening${clients()}`);
  };
  server.on('error', onError);
  let exhausted = false;
  const probe = () => {
    let fd = -1;
    try {
      fd = fs.openSync('/dev/null', 'r');
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'EMFILE' && code !== 'ENFILE') return;
      exhausted = true;
      warn.log(`out of file descriptors: ${describeError(error)}; new connections are closed at once${clients()}`);
      return;
    } finally {
      if (fd !== -1) fs.closeSync(fd);
    }
    if (exhausted) {
      exhausted = false;
      const open = options.active ? ` (${options.active()} clients connected)` : '';
      options.log(`file descriptors available again; accepting new connections${open}`);
    }
  };
  const timer = setInterval(probe, options.intervalMs ?? 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    server.off('error', onError);
  };
}
