// close-tour for real: the six steps' states in --json (FIN_WAIT2/CLOSE_WAIT,
// TIME_WAIT on the client then on the server with a timer, nothing after the
// reset, CLOSE_WAIT owned by the leaking child's pid), the human headings, the
// capture's FIN and RST, the host-loopback fallback (no unshare on PATH), and
// Ctrl-C: exit 130 with no listener and no leaking server left.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { ROOT, connect, hasStackTrace, missingCommand, needs, readAll, runScript, startScript, withDeadline } from './helpers.ts';

const tcpdumpTest = needs(test, 'tcpdump', missingCommand('tcpdump', ['--version']));

interface Row { state: string; localPort: number; remotePort: number; pid: number | null; timerSeconds: number | null }
interface Step { name: string; rows: Row[]; packets?: string[]; tuple?: { client: number; server: number }; leakPid?: number; peerError?: string }
interface Doc { namespace: string; steps: Step[] }

async function runJson(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ doc: Doc; stderr: string }> {
  const result = await runScript('close-tour', [...args, '--json'], { deadlineMs: 30000, env });
  assert.is(result.code, 0, result.stderr);
  assert.not.ok(hasStackTrace(result.stderr), result.stderr);
  return { doc: JSON.parse(result.stdout) as Doc, stderr: result.stderr };
}

const at = (step: Step, port: number) => step.rows.filter((r) => r.localPort === port && r.state !== 'LISTEN');

function checkStory(doc: Doc): void {
  assert.is(doc.steps.length, 6);
  const [s1, s2, s3, s4, s5, s6] = doc.steps;
  const t1 = s1.tuple!;
  assert.equal(at(s1, t1.client).map((r) => r.state), ['ESTABLISHED']);
  assert.equal(at(s1, t1.server).map((r) => r.state), ['ESTABLISHED']);
  assert.equal(at(s2, t1.client).map((r) => r.state), ['FIN_WAIT2']);
  assert.equal(at(s2, t1.server).map((r) => r.state), ['CLOSE_WAIT']);
  const clientTw = at(s3, t1.client);
  assert.equal(clientTw.map((r) => r.state), ['TIME_WAIT']);
  assert.is(clientTw[0].pid, null);
  assert.equal(at(s3, t1.server), [], 'the server side of the first connection is gone');
  const t2 = s4.tuple!;
  const serverTw = s4.rows.filter((r) => r.localPort === t2.server && r.remotePort === t2.client);
  assert.equal(serverTw.map((r) => r.state), ['TIME_WAIT']);
  assert.ok(s4.rows.some((r) => r.state === 'LISTEN' && r.localPort === t2.server), 'a new listener on the same port');
  for (const row of [clientTw[0], serverTw[0]]) {
    assert.type(row.timerSeconds, 'number');
    assert.ok(row.timerSeconds! > 0 && row.timerSeconds! <= 60, `timer ${row.timerSeconds}`);
  }
  assert.equal(s5.rows.filter((r) => r.state !== 'LISTEN'), [], 'no row at all after the reset');
  assert.is(s5.peerError, 'ECONNRESET');
  assert.match(s5.name, /reset/);
  const cw = s6.rows.filter((r) => r.state === 'CLOSE_WAIT');
  assert.is(cw.length, 1);
  assert.type(s6.leakPid, 'number');
  assert.is(cw[0].pid, s6.leakPid);
  assert.is.not(s6.leakPid, s6.rows.find((r) => r.state === 'FIN_WAIT2')!.pid, 'the leak is another process');
}

test('--json: the six steps, in a private namespace', async () => {
  const { doc } = await runJson();
  assert.is(doc.namespace, 'private');
  checkStory(doc);
});

test('on the host loopback (no unshare on PATH): says so on stderr, only its own four-tuples', async () => {
  const { doc, stderr } = await runJson([], { PATH: '/nonexistent' });
  assert.is(doc.namespace, 'host');
  assert.match(stderr, /runs on the host's loopback/);
  assert.is(stderr.trim().split('\n').length, 1, stderr);
  checkStory(doc);
  for (const step of doc.steps) {
    const ports = new Set(doc.steps.flatMap((s) => (s.tuple ? [s.tuple.client, s.tuple.server] : [])));
    for (const row of step.rows) assert.ok(ports.has(row.localPort) || ports.has(row.remotePort) || row.state === 'LISTEN', JSON.stringify(row));
  }
});

test('human output: a heading per step, the tables, ECONNRESET in words', async () => {
  const result = await runScript('close-tour', [], { deadlineMs: 30000 });
  assert.is(result.code, 0, result.stderr);
  const headings = result.stdout.match(/^## Step \d: .+$/gm) ?? [];
  assert.is(headings.length, 6, result.stdout);
  assert.match(headings[1], /half-closes/);
  assert.match(headings[4], /reset/);
  assert.match(result.stdout, /Proto Recv-Q Send-Q Local Address/);
  assert.match(result.stdout, /connection reset by peer \(ECONNRESET\)/);
  assert.match(result.stdout, /EADDRINUSE/);
  assert.match(result.stdout, /must call close\(\)/);
});

tcpdumpTest('--capture: the FIN, ACK and RST packets with the steps', async () => {
  const { doc } = await runJson(['--capture']);
  const packets = (i: number) => (doc.steps[i].packets ?? []).join('\n');
  assert.match(packets(1), /Flags \[F\.\]/);
  assert.match(packets(2), /Flags \[F\.\]/);
  assert.match(packets(4), /Flags \[R/);
  assert.not.match(doc.steps.flatMap((s) => s.packets ?? []).join('\n'), /Flags \[S/);
});

const gone = (pid: number) => !fs.existsSync(`/proc/${pid}`);

for (const [where, to] of [['private', 'group'], ['host', 'group'], ['host', 'process']] as const) {
  test(`SIGINT to the ${to} in the ${where} namespace: exit 130, no listener and no leaking server left`, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}scripts/close-tour.ts`], {
      cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SOCKET_LAB_CLOSE_TOUR_HOLD_MS: '20000', ...(where === 'host' ? { PATH: '/nonexistent' } : {}) },
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await withDeadline((async () => {
      while (!/must call close\(\)/.test(stdout)) await new Promise((r) => setTimeout(r, 20));
    })(), 20000, `Step 6\n${stdout}`);
    const leakPid = Number(/The leaking server \(pid (\d+)\)/.exec(stdout)![1]);
    const listeners = [...stdout.matchAll(/^tcp\s+\d+\s+\S+\s+127\.0\.0\.1:(\d+)\s+0\.0\.0\.0:\*\s+LISTEN/gm)].map((m) => Number(m[1]));
    process.kill(to === 'group' ? -child.pid! : child.pid!, 'SIGINT');
    assert.is(await withDeadline(exited, 5000, 'exit'), 130);
    await withDeadline((async () => { while (!gone(leakPid)) await new Promise((r) => setTimeout(r, 20)); })(), 3000, 'the leaking server to go');
    if (where === 'host') {
      const table = fs.readFileSync('/proc/net/tcp', 'latin1');
      for (const port of new Set(listeners)) {
        const hex = port.toString(16).toUpperCase().padStart(4, '0');
        assert.not.ok(new RegExp(`^\\s*\\d+: 0100007F:${hex} 00000000:0000 0A`, 'm').test(table), `a listener on ${port} is left`);
      }
      assert.ok(listeners.length >= 2, stdout);
    }
  });
}

// --view: socket-view beside the tour, on the host's loopback even where a namespace is possible.
const VIEW_LINE = /watch it live: http:\/\/127\.0\.0\.1:(\d+)\/\?port=(\d+) +\(socket-view, pid (\d+)\)/;
const viewGone = async (viewPort: number, viewPid: number) => {
  await withDeadline((async () => { while (!gone(viewPid)) await new Promise((r) => setTimeout(r, 20)); })(), 5000, `socket-view ${viewPid} to exit`);
  const refused = await new Promise<string>((resolve) => {
    const socket = net.connect(viewPort, '127.0.0.1');
    socket.on('connect', () => { socket.destroy(); resolve('connected'); });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
  assert.is(refused, 'ECONNREFUSED', `socket-view's port ${viewPort} is still open`);
};

test('--view: says it runs on the host, the URL before Step 1, /api/sockets answers while the tour runs, socket-view gone after', async () => {
  const tour = startScript('close-tour', ['--view'], { env: { SOCKET_LAB_CLOSE_TOUR_HOLD_MS: '3000' } });
  try {
    const [, viewPort, port, viewPid] = (await tour.waitForStdout(VIEW_LINE, 30000)).map(Number);
    const socket = await connect(viewPort);
    socket.write(`GET /api/sockets?port=${port} HTTP/1.1\r\nHost: 127.0.0.1:${viewPort}\r\nConnection: close\r\n\r\n`);
    const response = String(await readAll(socket, 10000));
    assert.match(response, /^HTTP\/1\.1 200 /);
    assert.match(response, /Content-Type: application\/json/i);
    const rows = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as Row[];
    assert.ok(rows.some((row) => row.state === 'LISTEN' && row.localPort === port), JSON.stringify(rows));
    const exit = await tour.wait(30000);
    assert.is(exit.code, 0, tour.stderr);
    const urlAt = tour.stdout.search(VIEW_LINE);
    assert.ok(urlAt > 0 && urlAt < tour.stdout.indexOf('## Step 1'), tour.stdout);
    assert.match(tour.stdout, /^# How a connection ends \(the host's loopback\)$/m);
    // The namespace case: one line saying why it is on the host instead.
    assert.equal(tour.stderr.trim().split('\n'), [
      "close-tour: runs on the host's loopback (--view: a page on the host cannot see the sockets of a private network namespace); its TIME_WAIT rows are shared with the host",
    ]);
    await viewGone(viewPort, viewPid);
  } finally {
    await tour.stop('SIGKILL').catch(() => {});
  }
});

test('--view: a tour killed with SIGKILL still takes its socket-view with it', async () => {
  const tour = startScript('close-tour', ['--view'], { env: { SOCKET_LAB_CLOSE_TOUR_HOLD_MS: '3000' } });
  try {
    const [, viewPort, , viewPid] = (await tour.waitForStdout(VIEW_LINE, 30000)).map(Number);
    tour.child.kill('SIGKILL');
    await tour.wait(5000);
    await viewGone(viewPort, viewPid);
  } finally {
    await tour.stop('SIGKILL');
  }
});

test('--view --json: the URL on stderr, one JSON document on stdout, on the host', async () => {
  const { doc, stderr } = await runJson(['--view']);
  assert.is(doc.namespace, 'host');
  checkStory(doc);
  const match = VIEW_LINE.exec(stderr);
  assert.ok(match && Number(match[2]) === doc.steps[0].tuple!.server, stderr);
  assert.match(stderr, /^close-tour: watch it live: /m);
  await viewGone(Number(match[1]), Number(match[3]));
});

test('--view --capture: a usage error (the capture needs the namespace), exit 2', async () => {
  const result = await runScript('close-tour', ['--view', '--capture'], { deadlineMs: 15000 });
  assert.is(result.code, 2);
  assert.is(result.stdout, '');
  assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, /--view and --capture cannot be combined/);
});

test.run();
