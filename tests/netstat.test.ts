// scripts/netstat.ts as a process: live agreement with `ss -tuanp` on sockets
// this test creates (a listener that never accepts, with queued connections
// and their bytes; an established pair; TIME_WAIT; UDP with a queued
// datagram; IPv6), filters, the --json schema, --explain, --watch, the ss-less
// and /proc-less paths, and exit codes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import dgram from 'node:dgram';
import { once } from 'node:events';
import {
  needs,
  ROOT,
  connect,
  hasStackTrace,
  runCommand,
  runScript,
  startCommand,
  startScript,
  missingCommand,
  withDeadline,
  type ScriptProcess,
} from './helpers.ts';
import { normalizeState, parseTcp, type SocketRow } from '../lib/kernel/procnet.ts';
import { formatTable, remoteText, writeJson } from '../lib/kernel/format.ts';
import { parseSsBacklogs } from '../lib/kernel/ss.ts';
import { filterRows } from '../lib/kernel/table.ts';
import { ownPids, withoutOwn } from '../lib/kernel/self.ts';

const FIELDS = ['proto', 'localAddress', 'localPort', 'remoteAddress', 'remotePort', 'state', 'recvQ', 'sendQ', 'inode', 'uid', 'pid', 'program', 'owners', 'timerSeconds', 'retransmits'];
const hasProc = fs.existsSync('/proc/net/tcp');
const hasSs = runCommandSync('ss');

function runCommandSync(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && fs.existsSync(path.join(dir, name)));
}

// A listener that never accepts: python3 (the C calls, literally), or a
// blocked Node worker if python3 is missing.
// It also binds a UDP socket it never reads, so datagrams stay queued.
async function startNonAccepting(backlog: number): Promise<{ proc: ScriptProcess; port: number; udpPort: number }> {
  const code = `import socket,sys
s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(${backlog})
u=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1',0))
print(s.getsockname()[1], u.getsockname()[1], flush=True); sys.stdin.read()`;
  const proc = startCommand('python3', ['-c', code], { stdin: 'pipe' });
  const match = await proc.waitForStdout(/^(\d+) (\d+)\n/);
  return { proc, port: Number(match[1]), udpPort: Number(match[2]) };
}

interface Scene {
  ports: number[];
  cleanup: () => Promise<void>;
  queuedPort: number;
  pythonPid: number;
}

// Builds every kind of socket the comparison covers; returns their ports.
async function buildScene(): Promise<Scene> {
  const closers: Array<() => void | Promise<void>> = [];
  const ports: number[] = [];
  // 1. Listen without accept, backlog 2, two clients queued, one sent bytes.
  const { proc, port: queuedPort, udpPort } = await startNonAccepting(2);
  closers.push(() => void proc.child.kill('SIGKILL'));
  ports.push(queuedPort);
  for (let i = 0; i < 2; i++) {
    const client = await connect(queuedPort);
    client.on('error', () => {});
    if (i === 0) client.write('hello');
    closers.push(() => void client.destroy());
  }
  // 2. An established pair through a Node server that accepts (this process).
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    closers.push(() => void socket.destroy());
    // 3. TIME_WAIT: the server closes first on "bye".
    socket.on('data', (data) => {
      if (String(data) === 'bye') socket.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const serverPort = (server.address() as net.AddressInfo).port;
  ports.push(serverPort);
  closers.push(() => void server.close());
  const pair = await connect(serverPort);
  pair.on('error', () => {});
  closers.push(() => void pair.destroy());
  const leaving = await connect(serverPort);
  leaving.on('error', () => {});
  leaving.write('bye');
  leaving.on('end', () => leaving.end());
  await withDeadline(once(leaving, 'close'), 5000, 'TIME_WAIT pair to close');
  // 4. UDP: one datagram waiting unread (python never reads); 5. IPv6 listener on ::1.
  ports.push(udpPort);
  const sender = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => sender.send('12345', udpPort, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
  closers.push(() => void sender.close());
  try {
    const six = net.createServer((socket) => socket.on('error', () => {}));
    six.listen(0, '::1');
    await once(six, 'listening');
    ports.push((six.address() as net.AddressInfo).port);
    closers.push(() => void six.close());
  } catch {
    // no IPv6 here
  }
  return {
    ports,
    queuedPort,
    pythonPid: proc.pid,
    cleanup: async () => {
      for (const close of closers.reverse()) await close();
    },
  };
}

// One comparable line per socket: the same text for ss and for netstat --json.
function key(proto: string, local: string, remote: string, state: string, recvQ: unknown, sendQ: unknown, pid: unknown) {
  return `${proto} ${local} ${remote} ${state} r=${recvQ} s=${sendQ} pid=${pid}`;
}

function fromJson(row: SocketRow): string {
  const v6 = row.proto.endsWith('6');
  const ep = (a: string | null, p: number | null) => `${v6 ? `[${a}]` : a}:${p === 0 ? '*' : p}`;
  return key(row.proto.replace('6', ''), ep(row.localAddress, row.localPort), ep(row.remoteAddress, row.remotePort), row.state, row.recvQ, row.sendQ, row.pid);
}

function fromSs(line: string): string {
  const fields = line.trim().split(/\s+/);
  const [netid, state, recvQ, sendQ, local, remote] = fields;
  const pid = /pid=(\d+)/.exec(line)?.[1] ?? null;
  return key(netid, local, remote, normalizeState(state) ?? state, recvQ, sendQ, pid);
}

test('pure parts: ss backlogs, filters, the table layout, JSON one row per line, own pids', () => {
  assert.equal(parseSsBacklogs('LISTEN 0 4 127.0.0.1:8001 0.0.0.0:* ino:123 sk:1 <->\nESTAB 0 0 a b ino:9\n'), new Map([[123, 4]]));
  const rows = parseTcp(fs.readFileSync(path.join(ROOT, 'tests/fixtures/proc-net-tcp.txt'), 'utf8'));
  assert.equal(filterRows(rows, { listening: true }).map((row) => row.inode), [16110]);
  assert.equal(filterRows(rows, { port: 0xa111, state: 'ESTABLISHED' }).map((row) => row.inode), [16111, 0]);
  assert.is(filterRows(rows, {}), rows);
  const table = formatTable(rows).split('\n');
  assert.is(table[0], 'Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program');
  assert.is(table[1], 'tcp        1      - 127.0.0.1:41233         0.0.0.0:*               LISTEN      -');
  assert.is(remoteText({ ...rows[0], proto: 'tcp6', remoteAddress: '::', remotePort: 0 }), '[::]:*');
  const chunks: string[] = [];
  writeJson(rows, (chunk) => chunks.push(chunk), 3);
  const text = chunks.join('');
  assert.is(chunks.length, 2);
  assert.is(text.split('\n').length, rows.length + 3); // '[', a line per row, ']', ''
  assert.equal(JSON.parse(text), rows);
  // Own pids: always this process (plus the tsx CLI above it when there is one).
  const own = ownPids();
  assert.ok(own.has(process.pid));
  const mine = { ...rows[0], owners: [{ pid: process.pid, program: 'node' }] };
  const shared = { ...rows[0], owners: [{ pid: process.pid, program: 'node' }, { pid: 1, program: 'init' }] };
  assert.equal(withoutOwn([mine, shared, rows[1]], new Set([process.pid])), [shared, rows[1]]);
});

const ssTest = needs(test, 'ss', hasProc && hasSs ? undefined : 'needs /proc/net and ss');

ssTest('--json agrees with ss -tuanp taken at the same moment', async () => {
  const scene = await buildScene();
  try {
    const mine = (text: string) => {
      const port = Number(/:(\d+|\*)$/.exec(text)?.[1]);
      return scene.ports.includes(port);
    };
    // UDP memory accounting may move by a few bytes between the two reads; the
    // sockets are otherwise quiet, so retry until two snapshots agree.
    let last = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      const [json, ss] = await Promise.all([
        runScript('netstat', ['--json']),
        runCommand('ss', ['-tuanpH']),
      ]);
      assert.is(json.code, 0, json.stderr);
      const rows: SocketRow[] = JSON.parse(json.stdout);
      const ours = rows
        .filter((row) => scene.ports.includes(row.localPort!) || scene.ports.includes(row.remotePort!))
        .map(fromJson)
        .sort();
      const theirs = ss.stdout
        .split('\n')
        .filter((line) => line.trim())
        .filter((line) => {
          const f = line.trim().split(/\s+/);
          return mine(f[4]) || mine(f[5]);
        })
        .map(fromSs)
        .sort();
      last = `netstat:\n${ours.join('\n')}\nss:\n${theirs.join('\n')}`;
      if (ours.join('\n') === theirs.join('\n')) {
        const text = ours.join('\n');
        // The scene is really there: queue of 2 with 5 bytes, TIME_WAIT, UDP.
        assert.match(text, new RegExp(`tcp 127\\.0\\.0\\.1:${scene.queuedPort} \\S+ LISTEN r=2 s=2 pid=${scene.pythonPid}`));
        assert.match(text, new RegExp(`tcp 127\\.0\\.0\\.1:${scene.queuedPort} \\S+ ESTABLISHED r=5 s=0 pid=null`));
        assert.match(text, /TIME_WAIT/);
        assert.match(text, /udp 127\.0\.0\.1:\d+ 0\.0\.0\.0:\* UNCONN r=[1-9]\d* s=0 pid=\d+/);
        return;
      }
    }
    assert.unreachable(`netstat --json and ss -tuanp disagree:\n${last}`);
  } finally {
    await scene.cleanup();
  }
});

test('--json: exact fields, types; --port, --state, --listening, --tcp/--udp/--unix filters', async () => {
  if (!hasProc) return;
  const scene = await buildScene();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netstat-'));
  const unixPath = path.join(dir, 'lab.sock');
  const unixServer = net.createServer();
  unixServer.listen(unixPath);
  await once(unixServer, 'listening');
  try {
    const port = scene.queuedPort;
    const byPort = await runScript('netstat', ['--port', String(port), '--json']);
    assert.is(byPort.code, 0, byPort.stderr);
    const rows: SocketRow[] = JSON.parse(byPort.stdout);
    assert.ok(rows.length >= 5, byPort.stdout); // listener + 2 clients + 2 queued
    for (const row of rows) {
      assert.equal(Object.keys(row), FIELDS);
      assert.ok(row.localPort === port || row.remotePort === port);
      assert.ok(['tcp', 'tcp6', 'udp', 'udp6'].includes(row.proto));
      assert.type(row.inode, 'number');
      assert.ok(row.pid === null || typeof row.pid === 'number');
    }
    const queued = rows.filter((row) => row.localPort === port && row.state === 'ESTABLISHED');
    assert.is(queued.length, 2);
    assert.ok(queued.every((row) => row.pid === null && row.program === null && row.inode === 0));
    const clients = rows.filter((row) => row.remotePort === port);
    assert.ok(clients.every((row) => row.pid === process.pid && row.state === 'ESTABLISHED'));

    const listening = JSON.parse((await runScript('netstat', ['--listening', '--json'])).stdout) as SocketRow[];
    assert.ok(listening.every((row) => row.state === 'LISTEN' || row.state === 'UNCONN'));
    assert.ok(listening.some((row) => row.localPort === port && row.sendQ === (hasSs ? 2 : null)));

    const est = JSON.parse((await runScript('netstat', ['--state', 'estab', '--port', String(port), '--json'])).stdout) as SocketRow[];
    assert.is(est.length, 4);
    const tw = JSON.parse((await runScript('netstat', ['--state', 'TIME-WAIT', '--tcp', '--json'])).stdout) as SocketRow[];
    assert.ok(tw.length >= 1 && tw.every((row) => row.state === 'TIME_WAIT' && row.pid === null));
    // A TIME_WAIT carries the time left on its 60 s timer; the kernel prints 0
    // for one whose timer is already due (a busy host reaps them a little late).
    assert.ok(tw.every((row) => row.timerSeconds !== null && row.timerSeconds >= 0 && row.timerSeconds <= 60 && row.retransmits === 0));

    const udp = JSON.parse((await runScript('netstat', ['--udp', '--json'])).stdout) as SocketRow[];
    assert.ok(udp.length >= 1 && udp.every((row) => row.proto.startsWith('udp')));
    assert.ok(udp.some((row) => scene.ports.includes(row.localPort!) && row.state === 'UNCONN' && typeof row.pid === 'number'));

    const unix = JSON.parse((await runScript('netstat', ['--unix', '--json'])).stdout) as SocketRow[];
    const mine = unix.find((row) => row.localAddress === unixPath);
    assert.ok(mine, `no row for ${unixPath}`);
    assert.equal({ ...mine, inode: 0 }, {
      proto: 'unix', localAddress: unixPath, localPort: null, remoteAddress: null, remotePort: null,
      state: 'LISTEN', recvQ: null, sendQ: null, inode: 0, uid: null, pid: process.pid, program: mine!.program,
      owners: [{ pid: process.pid, program: mine!.program! }], timerSeconds: null, retransmits: null,
    });
  } finally {
    unixServer.close();
    fs.rmSync(dir, { recursive: true, force: true });
    await scene.cleanup();
  }
});

test('table and --explain: the lesson\'s view of a listener that never accepts', async () => {
  if (!hasProc) return;
  const scene = await buildScene();
  try {
    const port = scene.queuedPort;
    const result = await runScript('netstat', ['--port', String(port), '--explain']);
    assert.is(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n');
    assert.match(lines[0], /^Proto\s+Recv-Q\s+Send-Q\s+Local Address\s+Foreign Address\s+State\s+PID\/Program$/);
    assert.match(result.stdout, new RegExp(`tcp\\s+2\\s+${hasSs ? 2 : '-'}\\s+127\\.0\\.0\\.1:${port}\\s+0\\.0\\.0\\.0:\\*\\s+LISTEN\\s+${scene.pythonPid}/python3?`));
    assert.match(result.stdout, new RegExp(`tcp\\s+5\\s+0\\s+127\\.0\\.0\\.1:${port}\\s+127\\.0\\.0\\.1:\\d+\\s+ESTABLISHED\\s+-\\n`));
    assert.match(result.stdout, new RegExp(`ESTABLISHED\\s+${process.pid}/`));
    assert.ok(
      result.stdout.includes(
        `2 connections finished the handshake and wait in the accept queue of 127.0.0.1:${port}; no process has accept()ed them`,
      ),
      result.stdout,
    );
    assert.match(result.stdout, /2 server-side ESTABLISHED sockets have no process/);
    assert.match(result.stdout, /connect\(\) returned when the handshake finished/);
    const tw = await runScript('netstat', ['--state', 'time_wait', '--explain']);
    assert.match(tw.stdout, /in TIME_WAIT .*: the side that closed first keeps the four-tuple/);
  } finally {
    await scene.cleanup();
  }
});

test('without ss: a listener\'s Send-Q is - (null in JSON)', async () => {
  if (!hasProc) return;
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'nopath-'));
  const server = net.createServer();
  server.listen(0, '127.0.0.1', 7);
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  try {
    const env = { PATH: empty };
    const json = await runScript('netstat', ['--port', String(port), '--json'], { env });
    assert.is(json.code, 0, json.stderr);
    const [row] = JSON.parse(json.stdout) as SocketRow[];
    assert.is(row.state, 'LISTEN');
    assert.is(row.sendQ, null);
    const table = await runScript('netstat', ['--port', String(port)], { env });
    assert.match(table.stdout, new RegExp(`tcp\\s+0\\s+-\\s+127\\.0\\.0\\.1:${port}`));
    if (hasSs) {
      const withSs = JSON.parse((await runScript('netstat', ['--port', String(port), '--json'])).stdout) as SocketRow[];
      assert.is(withSs[0].sendQ, 7);
    }
  } finally {
    server.close();
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('--watch 0.3 redraws until SIGINT, exit 0; --watch=0.3 --json prints one array per frame', async () => {
  if (!hasProc) return;
  const proc = startScript('netstat', ['--watch', '0.3', '--tcp', '--listening']);
  await proc.waitFor(() => (proc.stdout.match(/^Proto /gm) ?? []).length >= 2, 'two frames');
  const exit = await proc.stop('SIGINT');
  assert.is(exit.code, 0);
  assert.match(proc.stdout, /Every 0\.3 s: netstat --tcp --listening/);
  const json = startScript('netstat', ['--watch=0.3', '--json', '--port', '1']);
  await json.waitFor(() => json.stdout.split('\n').filter(Boolean).length >= 2, 'two JSON frames');
  assert.is((await json.stop('SIGTERM')).code, 0);
  for (const line of json.stdout.split('\n').filter(Boolean)) assert.ok(Array.isArray(JSON.parse(line)));
  const plain = startScript('netstat', ['--watch', '--port', '1']);
  await plain.waitForStdout(/Every 1 s: netstat --port 1/);
  assert.is((await plain.stop('SIGINT')).code, 0);
});

test('-s / --statistics: the handshake and queue counters, one line of meaning each; --json', async () => {
  if (!hasProc) return;
  const text = await runScript('netstat', ['-s']);
  assert.is(text.code, 0, text.stderr);
  for (const name of ['ActiveOpens', 'PassiveOpens', 'AttemptFails', 'EstabResets', 'CurrEstab', 'RetransSegs', 'ListenOverflows', 'ListenDrops', 'TCPReqQFullDrop', 'TCPReqQFullDoCookies', 'SyncookiesSent', 'SyncookiesRecv', 'SyncookiesFailed', 'TCPSynRetrans']) {
    assert.match(text.stdout, new RegExp(`^${name}\\s+\\d+  \\S.{10,}$`, 'm'), name);
  }
  const json = await runScript('netstat', ['--statistics', '--json']);
  assert.is(json.code, 0, json.stderr);
  const doc = JSON.parse(json.stdout) as { counters: Record<string, number>; meanings: Record<string, string> };
  assert.type(doc.counters.ListenOverflows, 'number');
  assert.equal(Object.keys(doc.meanings), Object.keys(doc.counters));
  // A connect() this test makes shows in ActiveOpens.
  const server = net.createServer((socket) => socket.destroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  client.destroy();
  server.close();
  const after = JSON.parse((await runScript('netstat', ['-s', '--json'])).stdout) as typeof doc;
  assert.ok(after.counters.ActiveOpens > doc.counters.ActiveOpens);
});

test('a /proc table that cannot be read (not ENOENT) is an error, exit 1, not an empty table', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'badproc-'));
  try {
    fs.mkdirSync(path.join(root, 'net/tcp6'), { recursive: true }); // read() gives EISDIR
    fs.copyFileSync(path.join(ROOT, 'tests/fixtures/proc-net-tcp.txt'), path.join(root, 'net/tcp'));
    const result = await runScript('netstat', ['--tcp'], { env: { SOCKET_LAB_PROC_ROOT: root } });
    assert.is(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /^netstat: error: cannot read .*\/net\/tcp6: is a directory \(EISDIR\)\n$/);
    assert.not.ok(hasStackTrace(result.stderr));
    fs.rmdirSync(path.join(root, 'net/tcp6')); // ENOENT (IPv6 disabled): the IPv4 rows alone
    const ok = await runScript('netstat', ['--tcp', '--json'], { env: { SOCKET_LAB_PROC_ROOT: root } });
    assert.is(ok.code, 0, ok.stderr);
    assert.is((JSON.parse(ok.stdout) as SocketRow[]).length, 4);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('netstat\'s short flags, grouped as netstat takes them: -apn, -tlnp, -tunap, -x, -s', async () => {
  if (!hasProc) return;
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const listed = new RegExp(`tcp\\s+0\\s+\\S+\\s+127\\.0\\.0\\.1:${port}\\s+0\\.0\\.0\\.0:\\*\\s+LISTEN\\s+${process.pid}/`);
  try {
    for (const args of [['-apn'], ['-tlnp'], ['-tunap'], ['-a', '-n', '-p', '-e'], ['-tl', '--port', String(port)], ['-lt']]) {
      const result = await runScript('netstat', args);
      assert.is(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stdout, listed, args.join(' '));
    }
    const udpOnly = await runScript('netstat', ['-uan']);
    assert.not.match(udpOnly.stdout, /^tcp/m);
    const unixOnly = await runScript('netstat', ['-xa', '--json']);
    assert.ok((JSON.parse(unixOnly.stdout) as SocketRow[]).every((row) => row.proto === 'unix'));
    // -a, -n, -p, -e change nothing: the same rows as with no flags.
    const plain = JSON.parse((await runScript('netstat', ['--tcp', '--json', '--port', String(port)])).stdout) as SocketRow[];
    const flagged = JSON.parse((await runScript('netstat', ['-tanpe', '--json', '--port', String(port)])).stdout) as SocketRow[];
    assert.equal(flagged, plain);
    assert.match((await runScript('netstat', ['-s'])).stdout, /^ListenOverflows\s+\d+/m);
    const bad = await runScript('netstat', ['-tz']);
    assert.is(bad.code, 2);
    assert.match(bad.stderr, /^netstat: error: unknown option -z; see --help\n$/);
  } finally {
    server.close();
  }
});

test('--unix leaves out netstat\'s own sockets and its tsx launcher\'s IPC', async () => {
  if (!hasProc) return;
  // Started through the tsx CLI, as `npx tsx` and the shebang do: a launcher with an IPC pipe.
  const proc = startCommand(path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'scripts/netstat.ts'), '--unix', '--json']);
  const launcher = proc.child.pid!;
  const exit = await proc.wait();
  assert.is(exit.code, 0, proc.stderr);
  const rows = JSON.parse(proc.stdout) as SocketRow[];
  assert.ok(rows.length > 0);
  assert.not.ok(rows.some((row) => row.owners.some((owner) => owner.pid === launcher)), 'a row of the launcher');
  assert.not.ok(rows.some((row) => row.localAddress?.endsWith(`/${launcher}.pipe`)), 'the launcher\'s pipe');
});

// Held in SYN_RECV for real: inside a private network namespace (root only),
// an nft rule drops the clients' final pure ACK, so connect() returns while
// the server side stays half-open and the kernel re-sends its SYN-ACK.
const isRoot = process.getuid?.() === 0;
needs(test, 'nft', isRoot ? missingCommand('/usr/sbin/nft', ['--version']) ?? missingCommand('unshare') : 'needs root for a network namespace')(
  'SYN_RECV rows carry retransmits and timerSeconds (the next SYN-ACK), and --explain calls them half-open',
  async () => {
    const netstat = `${JSON.stringify(process.execPath)} --import tsx scripts/netstat.ts`;
    const inner = [
      'set -e',
      'ip link set lo up',
      "nft add table inet t",
      "nft add chain inet t in '{ type filter hook input priority 0; }'",
      "nft add rule inet t in tcp dport 8001 'tcp flags & (fin|syn|rst|psh|ack|urg) == ack' drop",
      // listen(8), never accept(); two clients connect() (returns: they got the SYN-ACK).
      `python3 -c "import socket,time
s=socket.socket(); s.bind(('127.0.0.1',8001)); s.listen(8)
c=[socket.create_connection(('127.0.0.1',8001)) for _ in range(2)]
time.sleep(1.6)
import subprocess; subprocess.run('${netstat.replaceAll('"', '\\"')} --state syn-recv --json', shell=True, check=True)
subprocess.run('${netstat.replaceAll('"', '\\"')} --port 8001 --explain', shell=True, check=True)"`,
    ].join('\n');
    const result = await runCommand('unshare', ['--net', 'sh', '-c', inner], { env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` }, deadlineMs: 30_000 });
    assert.is(result.code, 0, result.stderr);
    const json = result.stdout.slice(0, result.stdout.indexOf(']\n') + 2);
    const rows = JSON.parse(json) as SocketRow[];
    assert.is(rows.length, 2, json);
    for (const row of rows) {
      assert.is(row.state, 'SYN_RECV');
      assert.is(row.inode, 0);
      // SYN-ACKs re-sent at ~1 and ~3 s: one or (on a slow start) two so far, the next within 4 s.
      assert.ok(row.retransmits === 1 || row.retransmits === 2, json);
      assert.ok(row.timerSeconds !== null && row.timerSeconds > 0 && row.timerSeconds <= 4.1, json);
    }
    assert.match(result.stdout, /is half-open \(SYN_RECV, in the SYN queue\): the server answered the SYN with a SYN-ACK and waits for the client's ACK \(SYN-ACK re-sent [12] times?, next in [\d.]+ s/);
    assert.match(result.stdout, /ESTABLISHED/); // the clients' side: connect() returned
  },
);

test('stdout full: one line, exit 1; stdout closed early (| head): quiet, exit 0', async () => {
  if (!hasProc) return;
  const { spawnSync } = await import('node:child_process');
  for (const args of [[], ['--json'], ['-s'], ['--explain']]) {
    const full = fs.openSync('/dev/full', 'w');
    try {
      const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/netstat.ts'), ...args], {
        cwd: ROOT, stdio: ['ignore', full, 'pipe'], timeout: 30_000,
      });
      assert.is(result.status, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.is(result.stderr.toString(), 'netstat: error: stdout: no space left on device (ENOSPC)\n');
    } finally {
      fs.closeSync(full);
    }
  }
  const head = await runCommand('sh', ['-c', `${JSON.stringify(process.execPath)} --import tsx scripts/netstat.ts --unix | head -1; exit $(( $? ))`]);
  assert.is(head.code, 0);
  assert.is(head.stderr, '');
});

needs(test, 'setpriv', isRoot ? missingCommand('setpriv', ['--version']) : 'needs root to run netstat as another user')(
  'as another user, a listener whose owner cannot be seen is held by a process this user may not inspect',
  async () => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    try {
      const args = ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, '--import', 'tsx', 'scripts/netstat.ts', '--port', String(port), '--explain'];
      const result = await runCommand('setpriv', args, { env: { HOME: os.tmpdir() } });
      assert.is(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`127\\.0\\.0\\.1:${port} is listening \\(backlog 511, held by a process this user may not inspect\\)`));
      assert.not.match(result.stdout, /held by no process/);
    } finally {
      server.close();
    }
  },
);

test('usage errors exit 2 with one line; --help exits 0; no /proc exits 1 with one line', async () => {
  for (const args of [
    ['--port', 'abc'],
    ['--port', '70000'],
    ['--state', 'WAITING'],
    ['--bogus'],
    ['--watch', '0'],
    ['--json', 'extra'],
    ['--port', '0'],
  ]) {
    const result = await runScript('netstat', args);
    assert.is(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /^netstat: error: .+\n$/);
    assert.not.ok(hasStackTrace(result.stderr));
  }
  assert.match((await runScript('netstat', ['--port', '0'])).stderr, /--port 0: no socket has port 0/);
  const help = await runScript('netstat', ['--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /--watch \[N\]/);
  assert.match(help.stdout, /Exit codes:/);
  const noProc = await runScript('netstat', [], { env: { SOCKET_LAB_PROC_ROOT: '/nonexistent' } });
  assert.is(noProc.code, 1);
  assert.match(noProc.stderr, /^netstat: error: \/proc\/net is not available on this platform .*\n$/);
  assert.not.ok(hasStackTrace(noProc.stderr));
});

test.run();
