// scripts/http-hello.ts in a real browser: headless Chromium (Debian's
// `chromium`) loads the page and dumps the rendered DOM, which must show the
// browser's own request line and User-Agent (escaped as the page renders
// them) and the connection's four-tuple. Skipped, visibly, without Chromium.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { needs, startScript, withDeadline } from './helpers.ts';

const CHROMIUM_DEADLINE_MS = 45_000;

function findChromium(): string | null {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const dir of (process.env.PATH ?? '').split(':')) candidates.push(path.join(dir, 'chromium'));
  return candidates.find((file) => file && fs.existsSync(file)) ?? null;
}

interface Dump {
  dom: string;
  stderr: string;
}

/** Runs `chromium --headless --dump-dom URL` in its own process group, killed in any case. */
async function dumpDom(chromium: string, url: string, extra: string[] = []): Promise<Dump> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'socket-lab-chromium-'));
  const child = spawn(
    chromium,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      ...extra,
      '--dump-dom',
      url,
    ],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let dom = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (dom += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    const code = await withDeadline(exited, CHROMIUM_DEADLINE_MS, 'chromium --dump-dom');
    assert.is(code, 0, `chromium exited ${code}: ${stderr.slice(-2000)}`);
    return { dom, stderr };
  } finally {
    // Chromium starts helper processes; end the whole group we started.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

function chromiumMajor(chromium: string): Promise<string> {
  return withDeadline(
    new Promise<string>((resolve) => {
      const child = spawn(chromium, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk));
      child.on('close', () => resolve(/(\d+)\.\d+\.\d+/.exec(out)?.[1] ?? ''));
    }),
    15_000,
    'chromium --version',
  );
}

const chromium = findChromium() ?? '';
const browserTest = needs(test, 'chromium', chromium ? undefined : 'no Chromium found (apt-get install chromium, or set CHROMIUM=/path)');
{
  browserTest('Chromium shows its own request line, User-Agent and four-tuple', async () => {
    const server = startScript('http-hello', ['--port', '0']);
    try {
      const { port } = await server.listening();
      const major = await chromiumMajor(chromium);
      const { dom } = await dumpDom(chromium, `http://127.0.0.1:${port}/`);
      const head = /<pre id="head">([\s\S]*?)<\/pre>/.exec(dom)?.[1];
      assert.ok(head, `no request head in the DOM:\n${dom.slice(0, 3000)}`);
      assert.ok(head.startsWith('GET / HTTP/1.1\\r\\n\n'), head);
      assert.match(head, new RegExp(`\\nHost: 127\\.0\\.0\\.1:${port}\\\\r\\\\n\\n`));
      assert.match(head, new RegExp(`\\nUser-Agent: Mozilla/5\\.0 \\(.+\\) .*HeadlessChrome/${major || '\\d+'}\\.[\\d.]+ .*\\\\r\\\\n\\n`));
      assert.ok(head.endsWith('\\r\\n\n\\r\\n\n'), 'the head ends in its blank line');
      const tuple = /<td id="four-tuple">127\.0\.0\.1:(\d+) -&gt; 127\.0\.0\.1:(\d+) \(TCP\)<\/td>/.exec(dom);
      assert.ok(tuple, 'four-tuple shown');
      assert.is(Number(tuple[2]), port);
      assert.match(dom, /<td id="requests">1<\/td>/);
      // The server saw the same connection and request.
      await server.waitForStderr(new RegExp(`127\\.0\\.0\\.1:${tuple[1]} -> 127\\.0\\.0\\.1:${port} #1 "GET / HTTP/1\\.1" 200`));
      assert.is((await server.stop('SIGINT')).code, 0);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  browserTest('a User-Agent with <, & and quotes is rendered as text, not markup', async () => {
    const server = startScript('http-hello', ['--port', '0']);
    try {
      const { port } = await server.listening();
      const agent = 'socket-lab <b>bold?</b> & "quoted" \'single\'';
      const { dom } = await dumpDom(chromium, `http://127.0.0.1:${port}/`, [`--user-agent=${agent}`]);
      // The DOM serializer writes text with &, < and > escaped, quotes as they are.
      const shown = agent.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      assert.ok(dom.includes(`User-Agent: ${shown}\\r\\n`), dom.slice(0, 4000));
      assert.not.ok(dom.includes('<b>bold?</b>'), 'the agent did not become markup');
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  test.run();
}
