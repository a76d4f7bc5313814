// scripts/listen-only.ts: it really does not accept while holding (the
// listener's queue grows with each client up to backlog + 1, the server-side
// sockets have no owner, later clients sit in SYN_SENT), --for accepts and
// prints the pre-accept bytes, Ctrl-C exits 0, errors are one line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { hasStackTrace, runScript, startCommand, startScript, withDeadline } from './helpers.ts';
import { attachOwners, readSockets } from '../lib/kernel/table.ts';

const hasProc = fs.existsSync('/proc/net/tcp');

function rowsOn(port: number) {
  const rows = readSockets({ tcp: true, udp: false, unix: false }).filter(
    (row) => row.localPort === port || row.remotePort === port,
  );
  attachOwners(rows);
  return rows;
}

test('holds without accept(): queue = clients up to backlog + 1, no owner, the rest in SYN_SENT', async () => {
  if (!hasProc) return;
  const proc = startScript('listen-only', ['--port', '0', '--backlog', '2']);
  const clients: net.Socket[] = [];
  try {
    const { port } = await proc.listening();
    await proc.waitForStdout(/accept queue: 0 \(backlog 2\)\n/);
    for (let i = 1; i <= 3; i++) {
      const client = net.connect(port, '127.0.0.1');
      client.on('error', () => {});
      clients.push(client);
      await withDeadline(once(client, 'connect'), 5000, `client ${i} connect`);
      client.write(`client ${i}`);
      const listener = rowsOn(port).find((row) => row.state === 'LISTEN')!;
      assert.is(listener.recvQ, i, `queue after ${i} clients`);
      assert.is(listener.pid, proc.pid);
    }
    await proc.waitForStdout(/accept queue: 3 \(backlog 2\)\n/);
    // Two more: the queue is full, the kernel drops their SYNs.
    let lateConnected = 0;
    for (let i = 0; i < 2; i++) {
      const client = net.connect(port, '127.0.0.1');
      client.on('error', () => {});
      client.on('connect', () => lateConnected++);
      clients.push(client);
    }
    const deadline = Date.now() + 5000;
    let rows = rowsOn(port);
    while (rows.filter((row) => row.state === 'SYN_SENT').length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      rows = rowsOn(port);
    }
    assert.is(rows.filter((row) => row.state === 'SYN_SENT').length, 2, JSON.stringify(rows));
    const serverSide = rows.filter((row) => row.localPort === port && row.state === 'ESTABLISHED');
    assert.is(serverSide.length, 3);
    for (const row of serverSide) {
      assert.is(row.pid, null);
      assert.is(row.inode, 0);
      assert.is(row.recvQ, 'client 1'.length);
    }
    assert.is(rows.find((row) => row.state === 'LISTEN')!.recvQ, 3);
    assert.is(rows.filter((row) => row.state === 'SYN_RECV').length, 0);
    assert.is(lateConnected, 0);
    const exit = await proc.stop('SIGINT');
    assert.is(exit.code, 0);
    assert.not.ok(hasStackTrace(proc.stderr));
  } finally {
    for (const client of clients) client.destroy();
    await proc.stop('SIGKILL').catch(() => {});
  }
});

test('--for: accepts every queued connection and prints the bytes sent before accept()', async () => {
  if (!hasProc) return;
  const proc = startScript('listen-only', ['--port', '0', '--backlog', '4', '--for', '1.5']);
  const clients: net.Socket[] = [];
  try {
    const { port } = await proc.listening();
    const tuples: string[] = [];
    for (const text of ['hello', '']) {
      const client = net.connect(port, '127.0.0.1');
      client.on('error', () => {});
      clients.push(client);
      await withDeadline(once(client, 'connect'), 5000, 'connect');
      tuples.push(`127.0.0.1:${client.localPort} -> 127.0.0.1:${port}`);
      if (text) client.write(text);
    }
    const exit = await proc.wait(10000);
    assert.is(exit.code, 0, proc.stderr);
    const [a, b] = tuples;
    assert.ok(proc.stdout.includes(`accepted ${a}; 5 bytes sent before accept(): "hello"\n`), proc.stdout);
    assert.ok(proc.stdout.includes(`accepted ${b}; 0 bytes sent before accept()\n`), proc.stdout);
    assert.match(proc.stdout, /accept queue: 2 \(backlog 4\)/);
    assert.match(proc.stderr, /accept\(\): taking 2 queued connections/);
  } finally {
    for (const client of clients) client.destroy();
    await proc.stop('SIGKILL').catch(() => {});
  }
});

test('SIGUSR2 accepts now and keeps accepting; SIGTERM exits 0', async () => {
  if (!hasProc) return;
  const proc = startScript('listen-only', ['--port', '0', '--backlog', '1']);
  const clients: net.Socket[] = [];
  try {
    const { port } = await proc.listening();
    const first = await connectTo(port, clients);
    proc.child.kill('SIGUSR2');
    await proc.waitForStdout(new RegExp(`accepted 127\\.0\\.0\\.1:${first.localPort} `));
    const second = await connectTo(port, clients);
    await proc.waitForStdout(new RegExp(`accepted 127\\.0\\.0\\.1:${second.localPort} `));
    const owned = rowsOn(port).filter((row) => row.localPort === port && row.state === 'ESTABLISHED');
    assert.ok(owned.length === 2 && owned.every((row) => row.pid === proc.pid), JSON.stringify(owned));
    assert.is((await proc.stop('SIGTERM')).code, 0);
  } finally {
    for (const client of clients) client.destroy();
    await proc.stop('SIGKILL').catch(() => {});
  }
});

async function connectTo(port: number, clients: net.Socket[]): Promise<net.Socket> {
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => {});
  clients.push(client);
  await withDeadline(once(client, 'connect'), 5000, 'connect');
  return client;
}

test('errors: bad flags exit 2, a port in use exits 1, one line each', async () => {
  for (const args of [['--backlog', '0'], ['--backlog', 'x'], ['--port', '-1'], ['--for', 'soon'], ['--host', '1.2.3']]) {
    const result = await runScript('listen-only', args);
    assert.is(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /^listen-only: error: .+\n$/);
  }
  const busy = net.createServer();
  busy.listen(0, '127.0.0.1');
  await once(busy, 'listening');
  try {
    const port = (busy.address() as net.AddressInfo).port;
    const result = await runScript('listen-only', ['--port', String(port)]);
    assert.is(result.code, 1);
    assert.match(result.stderr, /^listen-only: error: cannot listen on 127\.0\.0\.1:\d+: address already in use \(EADDRINUSE\)(, held by [^;]+)?; .+\n$/);
    assert.not.ok(hasStackTrace(result.stderr));
  } finally {
    busy.close();
  }
  const help = await runScript('listen-only', ['--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /--backlog N/);
});

test('prints its own pid; under npx, kill -USR2 to that pid reaches listen-only; killing npx stops it (no orphan)', async () => {
  if (!hasProc) return;
  const proc = startCommand('npx', ['tsx', 'scripts/listen-only.ts', '--port', '0', '--backlog', '1']);
  const clients: net.Socket[] = [];
  let pid = 0;
  try {
    const { port } = await proc.listening(30000);
    pid = Number((await proc.waitForStderr(/pid (\d+): kill -USR2 \1 accepts now/, 5000))[1]);
    assert.ok(pid > 0 && pid !== proc.pid, `printed pid ${pid}, npx is ${proc.pid}`);
    const first = await connectTo(port, clients);
    process.kill(pid, 'SIGUSR2');
    await proc.waitForStdout(new RegExp(`accepted 127\\.0\\.0\\.1:${first.localPort} `), 5000);
    process.kill(proc.pid, 'SIGTERM'); // what `kill $!` does: npm, not listen-only
    const deadline = Date.now() + 10000;
    while (fs.existsSync(`/proc/${pid}`) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.not.ok(fs.existsSync(`/proc/${pid}`), `listen-only ${pid} outlived npx`);
  } finally {
    for (const client of clients) client.destroy();
    if (pid > 0 && fs.existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
    await proc.stop('SIGKILL').catch(() => {});
  }
});

test.run();
