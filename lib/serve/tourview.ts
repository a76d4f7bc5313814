// A tour's --view: socket-view started beside the tour (the way the tour
// itself runs: tsx, a bundle, Deno or Bun), its URL filtered to the tour's
// port, and stopped with the tour. Also the one reader of a sibling's
// `listening on HOST:PORT (tcp)` line that the tours wait for.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Failure } from '../errors.ts';
import { EXIT_WITH_ENV, siblingCommand } from '../runtime.ts';

/**
 * The port a sibling prints in its `listening on HOST:PORT (tcp)` line on
 * `stderr`, within `ms`; a Failure naming it when `exited` resolves first
 * (with what it said) or the time is up.
 */
export function readListeningPort(stderr: NodeJS.ReadableStream, exited: Promise<string>, name: string, ms = 15000): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let said = '';
    stderr.on('data', (chunk: Buffer) => {
      said += chunk;
      const match = /listening on \S+:(\d+) \(tcp\)/.exec(said);
      if (match) resolve(Number(match[1]));
    });
    void exited.then((why) => reject(new Failure(`${name} exited early: ${why}`)));
    setTimeout(() => reject(new Failure(`${name} did not start within ${ms / 1000} s`)), ms).unref();
  });
}

/** socket-view running beside a tour. */
export interface TourView {
  pid: number | undefined;
  /** Its listening port (a Failure when it did not start). */
  port: Promise<number>;
  /** `watch it live: http://127.0.0.1:P/?port=PORT   (socket-view, pid N)` */
  line(tourPort: number): Promise<string>;
  /** SIGTERM, and its exit awaited (at most 3 s); again is a no-op. */
  stop(): Promise<void>;
}

/** Starts `socket-view --port 0` beside the script at `fromUrl` (its import.meta.url). */
export function startTourView(fromUrl: string): TourView {
  const [file, ...args] = siblingCommand('socket-view', fromUrl);
  const child = spawn(file, [...args, '--port', '0'], {
    cwd: fileURLToPath(new URL('.', fromUrl)),
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, [EXIT_WITH_ENV]: String(process.pid) }, // a killed tour takes its view with it
  });
  let said = '';
  child.stderr!.on('data', (chunk: Buffer) => (said += chunk));
  const exited = new Promise<string>((resolve) => {
    child.on('error', (error) => resolve(error.message));
    child.on('exit', (code, signal) => resolve(said.trim() || String(code ?? signal)));
  });
  const running = () => child.exitCode === null && child.signalCode === null && child.pid !== undefined;
  const port = readListeningPort(child.stderr!, exited, 'socket-view');
  port.catch(() => {}); // awaited by line(); a failure before then is reported there
  return {
    pid: child.pid,
    port,
    line: async (tourPort) => `watch it live: http://127.0.0.1:${await port}/?port=${tourPort}   (socket-view, pid ${child.pid})`,
    async stop() {
      if (!running()) return;
      // process.kill(pid), not child.kill(): Deno's child.kill() marks the child
      // as ended by that signal at once, even when it handles it and keeps running.
      process.kill(child.pid!, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 3000)))]);
      clearTimeout(timer);
      if (running()) process.kill(child.pid!, 'SIGKILL');
    },
  };
}
