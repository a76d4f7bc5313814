// scripts/handshake-tour.ts: runs to the end and tells the story; leaves no
// process and no socket of its own behind, also when interrupted with Ctrl-C.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { ROOT, hasStackTrace, startScript, withDeadline } from './helpers.ts';
import { readSockets } from '../lib/kernel/table.ts';

const hasProc = fs.existsSync('/proc/net/tcp');
const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/State:\s+Z/.test(readStatus(pid));
function readStatus(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
}
// The tour's own sockets: its listener and the four-tuples of its clients
// (from its client lines and the server's accepted lines), whatever else uses the port range.
const ownSockets = (port: number, text: string) => {
  const clientPorts = new Set(
    [...text.matchAll(/127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:(\d+)/g)].filter((m) => Number(m[2]) === port).map((m) => Number(m[1])),
  );
  return socketsOn(port).filter(
    (row) => row.localPort === port && (row.remotePort === 0 || clientPorts.has(row.remotePort!)) || (row.remotePort === port && clientPorts.has(row.localPort!)),
  );
};
const socketsOn = (port: number) =>
  readSockets({ tcp: true, udp: false, unix: false }).filter((row) => row.localPort === port || row.remotePort === port);

async function until(test: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!test() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return test();
}

test('runs to the end: queue grows, SYN_SENT beyond backlog + 1, accept, then nothing left', async () => {
  if (!hasProc) return;
  const tour = startScript('handshake-tour', ['--backlog', '1']);
  try {
    const exit = await tour.wait(90000); // ~10 s idle; several netstat runs under tsx on a loaded machine
    assert.is(exit.code, 0, tour.stderr);
    const text = tour.stdout;
    const pid = Number(/# pid (\d+)/.exec(text)?.[1]);
    const port = Number(/listening on 127\.0\.0\.1:(\d+) \(tcp\)/.exec(text)?.[1]);
    assert.ok(pid > 0 && port > 0, text);
    assert.match(text, /## Step 0: the server listens/);
    assert.match(text, new RegExp(`1 connection finished the handshake and waits in the accept queue of 127\\.0\\.0\\.1:${port}; no process has accept\\(\\)ed it`));
    assert.match(text, new RegExp(`2 connections finished the handshake and wait in the accept queue of 127\\.0\\.0\\.1:${port}; no process has accept\\(\\)ed them`));
    assert.match(text, /SYN_SENT/);
    assert.match(text, /server: accepted 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+; 20 bytes sent before accept\(\): "hello from client 1\\n"/);
    assert.match(text, new RegExp(`ESTABLISHED ${pid}/`));
    assert.match(text, /listen-only exited with code 0/);
    assert.not.ok(hasStackTrace(tour.stderr));
    assert.ok(await until(() => !alive(pid), 5000), `listen-only ${pid} still running`);
    // No TIME_WAIT either: the clients reset before listen-only closes anything.
    assert.ok(await until(() => ownSockets(port, text).length === 0, 5000), JSON.stringify(ownSockets(port, text)));
    assert.match(text, /SYN is re-sent: at about [\d, ]+ s, then connect\(\) fails with ETIMEDOUT at about \d+ s \(tcp_syn_retries \d+, tcp_syn_linear_timeouts \d+\)/);
    assert.not.match(text, /1, 3, 7 s/);
    assert.match(text, /the kernel dropped its SYN \(ListenOverflows \+\d+, ListenDrops \+\d+ in \/proc\/net\/netstat\)/);
    assert.match(text, /see `syn-queue`/);
    // A server line comes after the table it follows, never above a view still showing that client in SYN_SENT.
    const late = text.split('## Step ').find((part) => part.startsWith(`${1 + 2 + 1}:`)) ?? '';
    const acceptedAt = late.indexOf('server: accepted');
    if (acceptedAt >= 0) assert.ok(late.lastIndexOf('$ netstat') < acceptedAt, late);
  } finally {
    await tour.stop('SIGKILL').catch(() => {});
  }
});

test('--view: socket-view filtered to the tour\'s port, its URL before Step 0, serving the tour\'s listener, stopped with the tour', async () => {
  if (!hasProc) return;
  const tour = startScript('handshake-tour', ['--backlog', '1', '--view']);
  try {
    const [, url, viewPort, port, viewPid] = await tour.waitForStdout(/watch it live: (http:\/\/127\.0\.0\.1:(\d+)\/\?port=(\d+)) +\(socket-view, pid (\d+)\)/, 30000);
    const page = await fetch(url);
    assert.is(page.status, 200);
    const rows = (await (await fetch(`http://127.0.0.1:${viewPort}/api/sockets?port=${port}`)).json()) as Array<{ state: string; localPort: number }>;
    assert.ok(rows.some((row) => row.state === 'LISTEN' && row.localPort === Number(port)), JSON.stringify(rows));
    const exit = await tour.wait(90000);
    assert.is(exit.code, 0, tour.stderr);
    const urlAt = tour.stdout.indexOf('watch it live');
    assert.ok(urlAt >= 0 && urlAt < tour.stdout.indexOf('## Step 0'), 'the URL comes before the first step');
    assert.ok(await until(() => !alive(Number(viewPid)), 5000), `socket-view ${viewPid} still running after the tour`);
  } finally {
    await tour.stop('SIGKILL').catch(() => {});
  }
});

test('Ctrl-C in a terminal (SIGINT to the whole process group): no "netstat failed", no new step, exit 130', async () => {
  if (!hasProc) return;
  const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}scripts/handshake-tour.ts`, '--backlog', '2'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    // Interrupt while a netstat runs: the same Ctrl-C reaches it.
    assert.ok(await until(() => /## Step 2: client 2 connects[\s\S]*\$ netstat/.test(stdout), 30000), stdout);
    const pid = Number(/# pid (\d+)/.exec(stdout)?.[1]);
    const port = Number(/listening on 127\.0\.0\.1:(\d+) \(tcp\)/.exec(stdout)?.[1]);
    const seen = stdout.length;
    process.kill(-child.pid!, 'SIGINT');
    assert.is(await withDeadline(exited, 10000, 'tour exit'), 130, stderr);
    assert.not.match(stdout, /netstat failed/);
    assert.not.match(stdout.slice(seen), /## /, stdout.slice(seen));
    assert.ok(await until(() => !alive(pid), 5000), `listen-only ${pid} still running`);
    assert.ok(await until(() => socketsOn(port).length === 0, 5000), JSON.stringify(socketsOn(port)));
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {}
  }
});

test('Ctrl-C in the middle stops listen-only and the clients, exit 130', async () => {
  if (!hasProc) return;
  const tour = startScript('handshake-tour', ['--backlog', '2']);
  try {
    await tour.waitForStdout(/## Step 2: client 2 connects/, 30000);
    const pid = Number(/# pid (\d+)/.exec(tour.stdout)?.[1]);
    const port = Number(/listening on 127\.0\.0\.1:(\d+) \(tcp\)/.exec(tour.stdout)?.[1]);
    const exit = await tour.stop('SIGINT', 10000);
    assert.is(exit.code, 130);
    assert.match(tour.stderr, new RegExp(`handshake-tour: interrupted; stopping listen-only \\(pid ${pid}\\)`));
    assert.ok(await until(() => !alive(pid), 5000), `listen-only ${pid} still running`);
    assert.ok(await until(() => socketsOn(port).length === 0, 5000), JSON.stringify(socketsOn(port)));
  } finally {
    await tour.stop('SIGKILL').catch(() => {});
  }
});

test.run();
