// "Port in use" names the holder only when this user can see it (issue 12):
// a listener owned by one non-root user (65534) and a server started on the
// same port by another (65533, no passwd entry needed): the one line says
// EADDRINUSE and names no process; the holder's own user and root see it
// and name it (`held by PID/node`). Needs root to switch users (setpriv).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, missingCommand, needs, runCommand, startCommand, type RunResult, type ScriptProcess } from './helpers.ts';

const HOLDER_UID = 65534; // nobody
const OTHER_UID = 65533; // any other non-root id; setpriv needs no passwd entry

const asRoot = process.getuid?.() === 0;
if (!asRoot) console.log('SKIP port holder across users: needs root (setpriv switches to two other users; as non-root it cannot)');
const suite = asRoot ? needs(test, 'setpriv', missingCommand('setpriv', ['--version'])) : test.skip;

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'holder-users-'));
fs.chmodSync(home, 0o777); // HOME for both users (tsx and npm may look there)

function as(uid: number | null, command: string, args: string[]): [string, string[]] {
  if (uid === null) return [command, args];
  return ['setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', command, ...args]];
}

/** scripts/NAME.ts under `node --import tsx` as UID (null: as this process). */
function runAs(uid: number | null, name: string, args: string[]): Promise<RunResult> {
  const [command, argv] = as(uid, process.execPath, ['--import', 'tsx', `${ROOT}scripts/${name}.ts`, ...args]);
  return runCommand(command, argv, { env: { HOME: home }, deadlineMs: 20000 });
}

let holder: ScriptProcess;
let port: number;

test.before(async () => {
  if (!asRoot || missingCommand('setpriv', ['--version'])) return;
  // A plain listener owned by HOLDER_UID, on an ephemeral port it reports.
  const code = `const s = require('node:net').createServer().listen(0, '127.0.0.1', () => console.log('port', s.address().port))`;
  const [command, argv] = as(HOLDER_UID, process.execPath, ['-e', code]);
  holder = startCommand(command, argv, { env: { HOME: home } });
  port = Number((await holder.waitForStdout(/^port (\d+)\n/, 10000))[1]);
});

test.after(async () => {
  if (holder) await holder.stop('SIGTERM');
  fs.rmSync(home, { recursive: true, force: true });
});

const inUse = (script: string) =>
  `${script}: error: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`;

for (const script of ['echo-server', 'listen-only']) {
  suite(`${script} as another user: EADDRINUSE, and no holder named or guessed`, async () => {
    const run = await runAs(OTHER_UID, script, ['--port', String(port)]);
    assert.is(run.code, 1, run.stderr);
    assert.is(run.stderr, `${inUse(script)}; see \`netstat --port ${port}\`, or try --port 0\n`);
    assert.not.match(run.stderr, new RegExp(`\\b${holder.pid}\\b|held by`));
  });
}

suite("echo-server as the holder's own user and as root: the holder is named", async () => {
  for (const uid of [HOLDER_UID, null]) {
    const run = await runAs(uid, 'echo-server', ['--port', String(port)]);
    assert.is(run.code, 1, run.stderr);
    // setpriv exec()s node, so the listener's pid is the one we started.
    assert.is(run.stderr, `${inUse('echo-server')}, held by ${holder.pid}/node; see \`netstat --port ${port}\`, or try --port 0\n`, `uid ${uid ?? 'root'}`);
  }
});

test.run();
