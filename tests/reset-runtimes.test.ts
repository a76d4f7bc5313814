// A peer's reset under Deno and Bun, as under Node (tests/client.test.ts,
// tests/echo-server.test.ts): the client prints what arrived before the reset,
// then `connection reset by peer (ECONNRESET)` and exits 1, every run; a FIN
// is still an orderly end (exit 0). echo-server's close line says `reset` for
// a client that reset and `close` for one that closed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { once } from 'node:events';
import { connect, findRuntime, needs, readBytes, runScriptOn, startScriptOn, withDeadline, type Runtime, tinyServer } from './helpers.ts';

const RUNS = 10; // per runtime and case, in batches of 5 at once (timing varies under load)

/**
 * One client run against PORT: `trigger\n` sent, then stdin ended at once
 * (our FIN may go first) or kept open until the client exits (only the
 * server can end it). Returns `CODE "STDOUT" STDERR`.
 */
async function clientRun(rt: Runtime, port: number, keepStdinOpen: boolean): Promise<string> {
  if (!keepStdinOpen) {
    const run = await runScriptOn(rt, 'client', ['127.0.0.1', String(port)], { input: 'trigger\n', deadlineMs: 20000 });
    return `${run.code} ${JSON.stringify(run.stdout)} ${run.stderr}`;
  }
  const client = startScriptOn(rt, 'client', ['127.0.0.1', String(port)], { stdin: 'pipe' });
  client.child.stdin!.on('error', () => {});
  client.child.stdin!.write('trigger\n');
  try {
    const exit = await client.wait(20000);
    return `${exit.code} ${JSON.stringify(client.stdout)} ${client.stderr}`;
  } finally {
    client.child.kill('SIGKILL');
  }
}

async function runsOf(rt: Runtime, port: number, stdinOpen: (i: number) => boolean): Promise<string[]> {
  const outcomes: string[] = [];
  for (let batch = 0; batch < RUNS / 5; batch++) {
    const runs = Array.from({ length: 5 }, (_, i) => clientRun(rt, port, stdinOpen(batch * 5 + i)));
    outcomes.push(...(await Promise.all(runs)));
  }
  return outcomes;
}

for (const name of ['deno', 'bun'] as const) {
  const found = findRuntime(name);
  const suite = needs(test, name, 'skip' in found ? found.skip : undefined);
  const rt = found as Runtime;

  suite(`client under ${name}: a server that sends bye and resets: bye, ECONNRESET, exit 1, ${RUNS} of ${RUNS} runs`, async () => {
    // The reset right after the write callback: bye is in the kernel, then close() with SO_LINGER 0.
    const server = await tinyServer((socket) => {
      socket.once('data', () => socket.write('bye\n', () => socket.resetAndDestroy()));
    });
    try {
      const outcomes = await runsOf(rt, server.port, (i) => i % 2 === 0);
      const good = `1 "bye\\n" client: error: connection to 127.0.0.1:${server.port}: connection reset by peer (ECONNRESET)\n`;
      const bad = outcomes.filter((line) => line !== good);
      console.log(`  ${name} reset: ${RUNS - bad.length} of ${RUNS} runs as expected`);
      assert.is(bad.length, 0, bad.join(''));
    } finally {
      server.close();
    }
  });

  suite(`client under ${name}: a server that sends bye and resets as it accepts: ECONNRESET, exit 1, ${RUNS} of ${RUNS} runs`, async () => {
    // The reset may beat the client's connect() completion or its first
    // write (EPIPE under Deno): either way the line names the reset. bye
    // arrives only when the client reads before that, so it may be missing.
    const server = await tinyServer((socket) => socket.write('bye\n', () => socket.resetAndDestroy()));
    try {
      const outcomes = await runsOf(rt, server.port, (i) => i % 2 === 0);
      const good = new RegExp(`^1 "(bye\\\\n)?" client: error: connection to 127\\.0\\.0\\.1:${server.port}: connection reset by peer \\(ECONNRESET\\)\n$`);
      const bad = outcomes.filter((line) => !good.test(line));
      console.log(`  ${name} reset at accept: ${RUNS - bad.length} of ${RUNS} runs as expected (${outcomes.filter((line) => line.includes('bye')).length} printed bye)`);
      assert.is(bad.length, 0, bad.join(''));
    } finally {
      server.close();
    }
  });

  suite(`client under ${name}: a server that sends bye and closes (FIN): bye, exit 0, ${RUNS} of ${RUNS} runs`, async () => {
    const server = await tinyServer((socket) => {
      socket.once('data', () => socket.end('bye\n'));
      socket.resume(); // read to our FIN: the server's side closes cleanly
    });
    try {
      // stdin ends at once here: the server's FIN alone does not end the client.
      const outcomes = await runsOf(rt, server.port, () => false);
      const good = '0 "bye\\n" ';
      const bad = outcomes.filter((line) => line !== good);
      console.log(`  ${name} FIN: ${RUNS - bad.length} of ${RUNS} runs as expected`);
      assert.is(bad.length, 0, bad.join(''));
    } finally {
      server.close();
    }
  });

  suite(`echo-server under ${name}: a client that resets is logged as reset, one that closes as close`, async () => {
    const server = startScriptOn(rt, 'echo-server', ['--port', '0', '--quiet']);
    try {
      const { port } = await server.listening();
      for (let i = 0; i < 5; i++) {
        const resetter = (await connect(port)).on('error', () => {});
        const resetPort = resetter.localPort;
        resetter.write('hello\n');
        await readBytes(resetter, 6); // echoed: the server has the connection
        resetter.resetAndDestroy();
        await server.waitForStderr(new RegExp(`(reset|close) 127\\.0\\.0\\.1:${resetPort} -> 127\\.0\\.0\\.1:${port} \\(6 bytes\\)\\n`), 10000);
        assert.match(server.stderr, new RegExp(`reset 127\\.0\\.0\\.1:${resetPort} -> `), `run ${i}: ${server.stderr}`);

        const closer = await connect(port);
        const closePort = closer.localPort;
        closer.resume().end('hello\n');
        await withDeadline(once(closer, 'close'), 10000, 'the echo server closing after our FIN');
        await server.waitForStderr(new RegExp(`(reset|close) 127\\.0\\.0\\.1:${closePort} -> 127\\.0\\.0\\.1:${port} \\(6 bytes\\)\\n`), 10000);
        assert.match(server.stderr, new RegExp(`close 127\\.0\\.0\\.1:${closePort} -> `), `run ${i}: ${server.stderr}`);
      }
      const exit = await server.stop('SIGTERM');
      assert.equal(exit, { code: 0, signal: null }, server.stderr);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
}

test.run();
