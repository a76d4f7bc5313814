// scripts/handshake-tour.ts: runs to the end and tells the story; leaves no
// process and no socket of its own behind, also when interrupted with Ctrl-C.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { hasStackTrace, startScript } from './helpers.ts';
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
    assert.ok(await until(() => socketsOn(port).length === 0, 5000), JSON.stringify(socketsOn(port)));
  } finally {
    await tour.stop('SIGKILL').catch(() => {});
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
