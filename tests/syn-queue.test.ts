// syn-queue for real: N connections held in SYN_RECV inside the script's own
// network namespace, released into the accept queue (--release ack and
// data), the SYN queue's overflow with syncookies 0 and 1, the capture's
// three handshake packets, a run as uid 65534, a refusal with a trimmed PATH,
// and nothing left behind after SIGKILL of the process group or of the
// outer process alone, or after Ctrl-C.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { ROOT, hasStackTrace, missingCommand, needs, runCommand, runScript, withDeadline } from './helpers.ts';

const SCRIPT = `${ROOT}scripts/syn-queue.ts`;
const nftTest = needs(test, 'nft', missingCommand('nft', ['--version']));
const tcpdumpTest = needs(test, 'tcpdump', missingCommand('tcpdump', ['--version']));

interface Row { state: string; localPort: number; remotePort: number; recvQ: number; pid: number | null; retransmits: number | null; timerSeconds: number | null }
interface Doc { port: number; backlog: number; settings: Record<string, number>; steps: Array<{ name: string; rows: Row[]; counters: Record<string, number>; packets?: string[]; releaseSeconds?: number; queueSize?: number }> }

async function runJson(args: string[], deadlineMs = 20000): Promise<Doc> {
  const result = await runScript('syn-queue', [...args, '--json'], { deadlineMs });
  assert.is(result.code, 0, result.stderr);
  assert.not.ok(hasStackTrace(result.stderr), result.stderr);
  return JSON.parse(result.stdout) as Doc;
}

const step = (doc: Doc, name: string) => doc.steps.find((s) => s.name === name)!;
const server = (doc: Doc, name: string, state: string) => step(doc, name).rows.filter((r) => r.localPort === doc.port && r.state === state);
const client = (doc: Doc, name: string, state: string) => step(doc, name).rows.filter((r) => r.remotePort === doc.port && r.state === state);
const listenerQ = (doc: Doc, name: string) => server(doc, name, 'LISTEN')[0].recvQ;

function checkStory(doc: Doc, n: number): void {
  assert.equal(doc.steps.map((s) => s.name).slice(0, 4), ['listen', 'connect', 'release', 'accept']);
  assert.is(server(doc, 'connect', 'SYN_RECV').length, n);
  assert.is(client(doc, 'connect', 'ESTABLISHED').length, n);
  assert.is(listenerQ(doc, 'connect'), 0);
  for (const row of server(doc, 'connect', 'SYN_RECV')) {
    assert.is(row.pid, null);
    assert.type(row.retransmits, 'number');
    assert.ok(row.timerSeconds! > 0 && row.timerSeconds! <= 1, String(row.timerSeconds));
  }
  assert.is(server(doc, 'release', 'SYN_RECV').length, 0);
  assert.is(server(doc, 'release', 'ESTABLISHED').length, n);
  assert.is(listenerQ(doc, 'release'), n);
  assert.is(step(doc, 'release').counters.PassiveOpens, n);
  assert.ok(server(doc, 'accept', 'ESTABLISHED').every((r) => r.pid !== null));
  assert.is(listenerQ(doc, 'accept'), 0);
}

nftTest('default run: 3 held in SYN_RECV, clients ESTABLISHED, then Recv-Q 3 after the SYN-ACK re-send', async () => {
  const doc = await runJson([]);
  assert.is(doc.backlog, 8);
  assert.is(doc.settings.syncookies, 1);
  checkStory(doc, 3);
  const release = step(doc, 'release');
  assert.ok(release.releaseSeconds! > 0.2 && release.releaseSeconds! < 5, String(release.releaseSeconds));
  assert.ok(release.counters.TCPSynRetrans >= 3, JSON.stringify(release.counters));
  console.log(`  --release ack: ${release.releaseSeconds} s from the release to Recv-Q 3`);
});

tcpdumpTest('--release data --clients 4 --capture: done within 1 s of the writes; [S], [S.], [.] seen', async () => {
  const doc = await runJson(['--release', 'data', '--clients', '4', '--capture']);
  checkStory(doc, 4);
  const release = step(doc, 'release');
  assert.ok(release.releaseSeconds! < 1, String(release.releaseSeconds));
  console.log(`  --release data: ${release.releaseSeconds} s from the writes to Recv-Q 4`);
  const packets = step(doc, 'connect').packets!.join('\n');
  for (const flags of ['[S]', '[S.]', '[.]']) assert.ok(packets.includes(`Flags ${flags}`), packets);
});

for (const cookies of [0, 1]) {
  nftTest(`--overflow --syncookies ${cookies}: the queue's size measured, the extra clients ${cookies ? 'get a cookie' : 'wait in SYN_SENT'}`, async () => {
    const doc = await runJson(['--overflow', '--syncookies', String(cookies), '--clients', '2', '--backlog', '4'], 30000);
    assert.is(doc.settings.syncookies, cookies);
    const over = step(doc, 'overflow');
    assert.ok(over.queueSize === 4 || over.queueSize === 5, `queue size ${over.queueSize}`);
    assert.is(server(doc, 'overflow', 'SYN_RECV').length, over.queueSize);
    if (cookies) {
      assert.ok(over.counters.SyncookiesSent >= 3, JSON.stringify(over.counters));
      assert.is(client(doc, 'overflow', 'SYN_SENT').length, 0);
    } else {
      assert.ok(over.counters.TCPReqQFullDrop >= 3, JSON.stringify(over.counters));
      assert.is(client(doc, 'overflow', 'SYN_SENT').length, 3);
    }
  });
}

nftTest('the text: steps, SYN_RECV re-sends, counters with meanings', async () => {
  const result = await runScript('syn-queue', ['--clients', '1', '--release', 'data'], { deadlineMs: 20000 });
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, /^## Step 1: listen\(fd, 8\)/m);
  assert.match(result.stdout, /^## Step 4: accept\(\)/m);
  assert.match(result.stdout, /a nft rule in this namespace drops/);
  assert.match(result.stdout, /SYN_RECV from 127\.0\.0\.1:\d+: SYN-ACK re-sent 0 times so far, the next in [\d.]+ s/);
  assert.match(result.stdout, /\+1 +PassiveOpens +handshakes a listener completed/);
  assert.match(result.stdout, /1 bytes sent before accept\(\): "x"/);
});

const userns = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', 'unshare', '--net', '--map-current-user', '--keep-caps', 'true'], { timeout: 5000 });
const unprivileged = process.getuid?.() !== 0
  ? 'not root: cannot setpriv to uid 65534'
  : userns.error
    ? `setpriv: ${userns.error.message}`
    : userns.status !== 0
      ? `this system refuses user namespaces to uid 65534 (${String(userns.stderr).trim()})`
      : undefined;
if (unprivileged) console.log(`SKIP uid 65534: ${unprivileged}`);
(unprivileged ? test.skip : test)('as uid 65534 (unshare --map-current-user): the same story', async () => {
  const result = await runCommand('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, '--import', 'tsx', SCRIPT, '--json', '--clients', '2', '--release', 'data'], {
    deadlineMs: 20000,
    env: { HOME: '/tmp' },
  });
  assert.is(result.code, 0, result.stderr);
  checkStory(JSON.parse(result.stdout) as Doc, 2);
});

test('trimmed PATH: unshare not found, the package named, exit 1', async () => {
  const result = await runCommand(process.execPath, ['--import', 'tsx', SCRIPT], { env: { PATH: '/nonexistent' }, deadlineMs: 15000 });
  assert.is(result.code, 1, result.stderr);
  assert.match(result.stderr, /^syn-queue: error: unshare not found on PATH, \/usr\/sbin or \/sbin: install it \(Debian package util-linux\)\n$/);
});

(unprivileged ? test.skip : test)('user namespaces refused (an unshare that fails as a locked-down system does): the fix in one line, exit 1', async () => {
  // A stand-in first on PATH: unshare's own words on a system with user namespaces off.
  const dir = fs.mkdtempSync('/tmp/syn-queue-fake-');
  fs.writeFileSync(`${dir}/unshare`, '#!/bin/sh\necho "unshare: unshare failed: No space left on device" >&2\nexit 1\n', { mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  try {
    const result = await runCommand('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, '--import', 'tsx', SCRIPT], {
      deadlineMs: 20000,
      env: { HOME: '/tmp', PATH: `${dir}:${process.env.PATH}` },
    });
    assert.is(result.code, 1, result.stderr);
    assert.match(result.stderr, /^syn-queue: error: user namespaces refused for this user \(unshare: unshare failed: No space left on device\): run it as root, or allow unprivileged user namespaces\n$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Pids of processes whose environment holds the marker. */
function marked(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker)) pids.push(Number(entry));
    } catch {
      // gone or not ours
    }
  }
  return pids;
}

async function noneLeft(marker: string): Promise<void> {
  await withDeadline((async () => {
    while (marked(marker).length > 0) await new Promise((r) => setTimeout(r, 50));
  })(), 5000, `processes with ${marker} to be gone: ${marked(marker).join(', ')}`);
}

/** The marked process whose parent is unshare: the inner one, inside the namespace. */
function innerPid(marker: string): number {
  for (const pid of marked(marker)) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (fs.readFileSync(`/proc/${ppid}/comm`, 'utf8').trim() === 'unshare') return pid;
  }
  throw new Error('no inner process found');
}

for (const how of ['SIGKILL to the group', 'SIGKILL to the outer process', 'SIGKILL to the inner process', 'Ctrl-C (SIGINT to the group)'] as const) {
  tcpdumpTest(`${how} during the hold: exit as expected, no process left in the namespace`, async () => {
    const marker = `SYN_QUEUE_TEST_${randomUUID()}`;
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, '--capture'], {
      cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, [marker]: '1' },
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    await withDeadline((async () => {
      while (!/## Step 2/.test(stdout)) await new Promise((r) => setTimeout(r, 20));
    })(), 15000, `Step 2\n${stdout}`);
    assert.ok(marked(marker).length >= 3, 'outer, unshare, inner and tcpdump carry the marker');
    if (how === 'SIGKILL to the group') process.kill(-child.pid!, 'SIGKILL');
    else if (how === 'SIGKILL to the outer process') process.kill(child.pid!, 'SIGKILL');
    else if (how === 'SIGKILL to the inner process') process.kill(innerPid(marker), 'SIGKILL');
    else process.kill(-child.pid!, 'SIGINT');
    const exit = await withDeadline(exited, 5000, 'exit');
    if (how.startsWith('Ctrl-C')) assert.is(exit.code, 130);
    await noneLeft(marker);
  });
}

test.run();
