// What handshake-tour orchestrates besides the lesson: listen-only and netstat
// run as siblings through zx, the clients and their connect() with a deadline,
// waiting until accept() has taken every queued connection, --view's
// socket-view, and one stop (clients reset first, then socket-view, then the
// server) shared by the tour's end, Ctrl-C (130) and SIGTERM (143). Once
// stopping, nothing more goes to stdout.
import net from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { outputClosedCode } from '../cli.ts';
import { Failure } from '../errors.ts';
import { until } from '../deadline.ts';
import { counterDeltas, readCounters } from '../kernel/counters.ts';
import { attachOwners, readSockets } from '../kernel/table.ts';
import { siblingCommand, watchLaunchers } from '../runtime.ts';
import { readListeningPort, startTourView, type TourView } from './tourview.ts';

export interface HandshakeOptions {
  name: string;
  backlog: number;
  view: boolean;
  /** The script's import.meta.url: its siblings run the way it runs. */
  fromUrl: string;
  /** launcherPids(), read at the script's start. */
  launchers: number[];
}

/** How a client's connect() went: its local endpoint, or the drop counters when it did not return in time. */
export type Connected = { local: string } | { counted: string };

// Unref'd: a race's losing timer does not hold the tour open after its end.
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export async function startHandshakeTour(options: HandshakeOptions) {
  const { name, backlog, fromUrl } = options;
  const { $ } = await import('zx');
  $.quiet = true;
  $.verbose = false;
  const cwd = fileURLToPath(new URL('.', fromUrl));
  let stopping = false;
  let netstatKilled: string | null = null;
  const out = (text: string) => {
    if (!stopping) process.stdout.write(text + '\n');
  };
  const clients: net.Socket[] = [];
  const server = $({ nothrow: true, cwd })`${siblingCommand('listen-only', fromUrl)} --port 0 --backlog ${backlog}`;
  let serverOut = '';
  // The server's lines wait until the next view has been printed, so a line
  // about a client never sits above a table older than it.
  const serverLines: string[] = [];
  server.stdout.on('data', (chunk: Buffer) => {
    for (const line of String(chunk).split('\n')) if (line.startsWith('accepted ')) serverLines.push(`  server: ${line}`);
  });
  server.stderr.on('data', (chunk: Buffer) => (serverOut += chunk));
  const running = () => !!server.child && server.child.exitCode === null && server.child.signalCode === null;
  const view: TourView | null = options.view ? startTourView(fromUrl) : null;
  const listening = readListeningPort(server.stderr, server.then((r) => r.stderr.trim() || String(r.exitCode)), 'listen-only');
  listening.catch(() => {}); // awaited by the tour; a failure before then is reported there

  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    // RST (not FIN) so neither side is left in TIME_WAIT, and before the
    // server stops: listen-only's worker closing an accepted socket first would
    // be the active close, leaving TIME_WAIT on the server's side. A client
    // still connecting is closed at once (resetAndDestroy() would wait for the
    // connect, by which time the server may already have sent its FIN).
    const closed = clients.map((client) => (client.destroyed ? Promise.resolve() : once(client, 'close').then(() => {})));
    for (const client of clients) {
      if (client.connecting || client.readyState !== 'open') client.destroy();
      else client.resetAndDestroy();
    }
    await Promise.race([Promise.all(closed), pause(1000)]);
    await view?.stop();
    // process.kill(pid), not child.kill(): Deno's child.kill() marks the child as
    // ended by that signal at once, even when it handles it and keeps running.
    if (running()) {
      process.kill(server.child!.pid!, 'SIGTERM');
      await Promise.race([server, pause(3000)]);
      if (running()) process.kill(server.child!.pid!, 'SIGKILL');
    }
  };
  // Stopping: nothing more goes to stdout (no half step, no netstat that the
  // same Ctrl-C interrupted), and the exit code says why.
  process.on('SIGINT', () => {
    stopping = true;
    process.stderr.write(`${name}: interrupted; stopping listen-only (pid ${server.pid}) and the clients\n`);
    void cleanup().then(() => process.exit(outputClosedCode() ?? 130));
  });
  process.on('SIGTERM', () => {
    stopping = true;
    void cleanup().then(() => process.exit(outputClosedCode() ?? 143));
  });
  // Under npx or the shebang, `kill $!` reaches npm: stop as on SIGTERM when it exits.
  watchLaunchers(() => process.emit('SIGTERM', 'SIGTERM'), options.launchers);

  /** True once every server-side connection on `port` has an owner: accept() has taken them all. */
  const allAccepted = async (port: number) => {
    const taken = () => {
      const rows = readSockets({ tcp: true, udp: false, unix: false }).filter((row) => row.localPort === port && row.state === 'ESTABLISHED');
      attachOwners(rows);
      return rows.every((row) => row.pid !== null);
    };
    await until(taken, 10000, `accept() to take every connection on port ${port}`);
  };

  return {
    out,
    view,
    clients,
    /** listen-only's pid. */
    pid: server.pid,
    /** listen-only's port, once it prints its `listening on` line. */
    listening,
    /** Prints `$ netstat --port P --explain` and its output, then the server's lines held until now. */
    async netstat(port: number): Promise<void> {
      out(`$ netstat --port ${port} --explain`);
      const result = await $({ nothrow: true, cwd })`${siblingCommand('netstat', fromUrl)} --port ${port} --explain`;
      // A Ctrl-C in a terminal reaches netstat too, maybe before this process's
      // own handler runs: a netstat ended by a signal is the stop, not a failure.
      if (stopping) return;
      if (result.signal || result.exitCode === 130 || result.exitCode === 143) {
        stopping = true; // our own handler runs next; until then, print nothing more
        netstatKilled = result.signal ?? `exit ${result.exitCode}`;
        return;
      }
      const why = result.stderr.trim() || `exit ${result.exitCode ?? result.signal}`;
      out(result.stdout.trimEnd() + (result.exitCode === 0 ? '' : `\n(netstat failed: ${why})`));
      for (const line of serverLines.splice(0)) out(line);
    },
    /** connect() to 127.0.0.1:port, and `hello` sent once it returns, within `waitMs`. */
    async connect(port: number, hello: string, waitMs: number): Promise<Connected> {
      const before = readCounters();
      const client = net.connect(port, '127.0.0.1');
      client.on('error', () => {});
      clients.push(client);
      if (await connected(client, waitMs)) {
        client.write(hello);
        return { local: `${client.localAddress}:${client.localPort}` };
      }
      const deltas = counterDeltas(before, readCounters());
      return { counted: ['ListenOverflows', 'ListenDrops'].map((counter) => `${counter} +${deltas[counter] ?? 0}`).join(', ') };
    },
    /** SIGUSR2 to listen-only (accept() everything queued); resolves once it took them all. */
    async acceptAll(port: number): Promise<void> {
      process.kill(server.child!.pid!, 'SIGUSR2');
      await until(() => /accept\(\): taking/.test(serverOut), 10000, 'listen-only to accept() after SIGUSR2');
      await allAccepted(port);
    },
    allAccepted,
    /** How many of `late` got connected within `ms`, and after how many seconds. */
    async joined(late: net.Socket[], ms: number): Promise<{ count: number; seconds: number }> {
      const started = Date.now();
      const joined = await Promise.all(late.map((client) => (client.readyState === 'open' ? true : connected(client, ms))));
      return { count: joined.filter(Boolean).length, seconds: (Date.now() - started) / 1000 };
    },
    /** After the stop: a netstat killed by a signal that never reached this process is a failure. */
    finish(): void {
      if (netstatKilled) throw new Failure(`netstat was stopped (${netstatKilled}) but no signal reached ${name}`);
    },
    cleanup,
    exitCode: () => server.child?.exitCode ?? server.child?.signalCode,
  };
}

function connected(client: net.Socket, ms: number): Promise<boolean> {
  return Promise.race([once(client, 'connect').then(() => true), pause(ms).then(() => false)]);
}
