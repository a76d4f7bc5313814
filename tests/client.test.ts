// scripts/client.ts as a process, piped: against the echo server (TCP, UDP,
// Unix), against small servers inside the test (half-close, a server that
// speaks first, closes first, or resets), and every error exit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startScript, runScript, withDeadline, hasStackTrace, type ScriptProcess } from './helpers.ts';
import { hexdump } from '../lib/wire/hexdump.ts';

const sha256 = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'client-test-'));

let echo: ScriptProcess;
let echoPort: number;
let udpEcho: ScriptProcess;
let udpPort: number;

test.before(async () => {
  echo = startScript('echo-server', ['--port', '0', '--quiet']);
  udpEcho = startScript('echo-server', ['--udp', '--port', '0', '--quiet']);
  [{ port: echoPort }, { port: udpPort }] = await Promise.all([echo.listening(), udpEcho.listening()]);
});
test.after(async () => {
  await Promise.all([echo.stop(), udpEcho.stop()]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A one-shot TCP server inside the test; `handle` gets each connection. */
async function tinyServer(handle: (socket: net.Socket) => void): Promise<{ port: number; close: () => void }> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    handle(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

test('printf hi | client prints hi and exits 0', async () => {
  const result = await runScript('client', ['127.0.0.1', String(echoPort)], { input: 'hi' });
  assert.is(result.stdout, 'hi');
  assert.is(result.code, 0);
  assert.is(result.stderr, '');
});

test('a 4 MiB binary file comes back byte for byte', async () => {
  const data = crypto.randomBytes(4 << 20);
  const result = await runScript('client', ['127.0.0.1', String(echoPort)], { input: data, deadlineMs: 30000 });
  assert.is(result.code, 0, result.stderr);
  assert.is(result.stdoutBytes.length, data.length);
  assert.is(sha256(result.stdoutBytes), sha256(data));
});

test('--hex prints exactly what hexdump -C prints for the bytes received', async () => {
  const data = Buffer.concat([Buffer.from('hello\n'), Buffer.alloc(64), crypto.randomBytes(300)]);
  const result = await runScript('client', ['--hex', '127.0.0.1', String(echoPort)], { input: data });
  assert.is(result.code, 0, result.stderr);
  assert.is(result.stdout, hexdump(data));
});

test('half-close: at end of input the client sends FIN and keeps reading until the server closes', async () => {
  let sawEndBeforeReply = false;
  const server = await tinyServer((socket) => {
    let count = 0;
    socket.on('data', (chunk: Buffer) => (count += chunk.length));
    socket.on('end', () => {
      // The client's sending side is shut; it must still read our reply.
      sawEndBeforeReply = true;
      setTimeout(() => socket.end(`got ${count} bytes\n`), 200);
    });
  });
  try {
    const result = await runScript('client', ['127.0.0.1', String(server.port)], { input: 'abcdefgh' });
    assert.ok(sawEndBeforeReply);
    assert.is(result.stdout, 'got 8 bytes\n');
    assert.is(result.code, 0);
  } finally {
    server.close();
  }
});

test('a server that speaks first and closes first: the client prints it and exits 0 with stdin still open', async () => {
  const server = await tinyServer((socket) => socket.end('hello from the server\n'));
  const client = startScript('client', ['127.0.0.1', String(server.port)], { stdin: 'pipe' });
  try {
    const exit = await client.wait(15000); // stdin never ends: only the server's close ends it
    assert.equal(exit, { code: 0, signal: null });
    assert.is(client.stdout, 'hello from the server\n');
  } finally {
    client.child.kill('SIGKILL');
    server.close();
  }
});

test('a server that resets the connection: one line naming it, exit 1', async () => {
  const server = await tinyServer((socket) => {
    socket.once('data', () => socket.resetAndDestroy());
  });
  const client = startScript('client', ['127.0.0.1', String(server.port)], { stdin: 'pipe' });
  try {
    client.child.stdin!.write('trigger\n');
    const exit = await client.wait(15000);
    assert.is(exit.code, 1);
    assert.is(
      client.stderr,
      `client: error: connection to 127.0.0.1:${server.port}: connection reset by peer (ECONNRESET)\n`,
    );
  } finally {
    client.child.kill('SIGKILL');
    server.close();
  }
});

test('Unix socket: echo through the client', async () => {
  const sock = path.join(tmp, 'echo.sock');
  const server = startScript('echo-server', ['--unix', sock, '--quiet']);
  try {
    await server.listening();
    const data = crypto.randomBytes(100000);
    const result = await runScript('client', ['--unix', sock], { input: data });
    assert.is(result.code, 0, result.stderr);
    assert.is(sha256(result.stdoutBytes), sha256(data));
  } finally {
    await server.stop();
  }
});

test('UDP: each chunk is a datagram and every reply is printed', async () => {
  const result = await runScript('client', ['127.0.0.1', String(udpPort), '--udp'], { input: 'one line\n' });
  assert.is(result.code, 0, result.stderr);
  assert.is(result.stdout, 'one line\n');
  // Bigger than one datagram: split into datagrams of at most 65507 bytes.
  const data = crypto.randomBytes(200000);
  const big = await runScript('client', ['127.0.0.1', String(udpPort), '--udp'], { input: data });
  assert.is(big.code, 0, big.stderr);
  assert.is(big.stdoutBytes.length, data.length);
});

test('UDP: one datagram per chunk, seen by a test server', async () => {
  const server = dgram.createSocket('udp4');
  const sizes: number[] = [];
  server.on('message', (message, peer) => {
    sizes.push(message.length);
    server.send(Buffer.from(`${message.length}\n`), peer.port, peer.address);
  });
  server.bind(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const result = await runScript('client', ['127.0.0.1', String(server.address().port), '--udp'], {
      input: Buffer.alloc(70000, 1),
    });
    assert.is(result.code, 0, result.stderr);
    assert.ok(sizes.every((size) => size <= 65507), sizes.join(','));
    assert.is(sizes.reduce((a, b) => a + b, 0), 70000);
  } finally {
    server.close();
  }
});

test('UDP: port unreachable -> one line, exit 1; no reply -> one line after --timeout, exit 1', async () => {
  const closed = dgram.createSocket('udp4');
  closed.bind(0, '127.0.0.1');
  await once(closed, 'listening');
  const closedPort = closed.address().port;
  closed.close();
  const refused = await runScript('client', ['127.0.0.1', String(closedPort), '--udp'], { input: 'x' });
  assert.is(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`^client: error: no UDP server at 127\\.0\\.0\\.1:${closedPort}: connection refused \\(ECONNREFUSED\\)`));

  const silent = dgram.createSocket('udp4'); // receives, never answers
  silent.bind(0, '127.0.0.1');
  await once(silent, 'listening');
  try {
    const port = silent.address().port;
    const result = await runScript('client', ['127.0.0.1', String(port), '--udp', '--timeout', '0.5'], { input: 'x' });
    assert.is(result.code, 1);
    assert.is(result.stderr, `client: error: no reply from 127.0.0.1:${port} (udp) within 0.5 s (ETIMEDOUT); is a UDP server running there?\n`);
  } finally {
    silent.close();
  }
});

test('connection refused: one line naming the endpoint, exit 1', async () => {
  const probe = net.createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as net.AddressInfo).port;
  probe.close();
  await once(probe, 'close');
  const result = await runScript('client', ['127.0.0.1', String(port)], { input: 'x' });
  assert.is(result.code, 1);
  assert.is(
    result.stderr,
    `client: error: cannot connect to 127.0.0.1:${port}: connection refused (ECONNREFUSED); is the server running on that port?\n`,
  );
  const unix = await runScript('client', ['--unix', path.join(tmp, 'nobody.sock')], { input: 'x' });
  assert.is(unix.code, 1);
  assert.match(unix.stderr, /^client: error: cannot connect to .*nobody\.sock: no such file or directory \(ENOENT\); is the server running on that path\?\n$/);
});

test('connect timeout: a listener whose accept queue is full drops the SYN; exit 1 after --timeout', async () => {
  // python3 listens with backlog 0 and never accepts; its own client fills the queue.
  const py = spawn('python3', ['-c', `
import socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)
fillers = []
for _ in range(2):
    c = socket.socket(); c.settimeout(0.5)
    try: c.connect(s.getsockname())
    except OSError: pass
    fillers.append(c)
print(s.getsockname()[1], flush=True)
time.sleep(30)
`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = await withDeadline(once(py.stdout!, 'data'), 10000, 'python3 listener');
    const port = Number(String(line).trim());
    const result = await runScript('client', ['127.0.0.1', String(port), '--timeout', '1'], { input: 'x' });
    assert.is(result.code, 1);
    assert.is(result.stderr, `client: error: cannot connect to 127.0.0.1:${port}: timed out (ETIMEDOUT) after 1 s; try --timeout\n`);
  } finally {
    py.kill('SIGKILL');
  }
});

test('an unreachable address: one line naming the endpoint, exit 1', async () => {
  // 192.0.2.1 (TEST-NET-1) is never routed: depending on the machine the
  // kernel says unreachable at once, the SYN goes nowhere (timeout), or a
  // sandboxing network answers with a reset (refused).
  const result = await runScript('client', ['192.0.2.1', '9', '--timeout', '1'], { input: 'x' });
  assert.is(result.code, 1);
  assert.match(
    result.stderr,
    /^client: error: cannot connect to 192\.0\.2\.1:9: (network unreachable \(ENETUNREACH\)|host unreachable \(EHOSTUNREACH\)|timed out \(ETIMEDOUT\) after 1 s; try --timeout|connection refused \(ECONNREFUSED\); .+)\n$/,
  );
});

// Runs the client on a pseudo-terminal (python3's pty), types lines, then Ctrl-D.
const PTY_DRIVER = `
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b''
def pump(seconds, until=None):
    global out
    end = time.time() + seconds
    while time.time() < end and not (until and until in out):
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try: out += os.read(fd, 4096)
            except OSError: return
pump(15, b'Ctrl-D')
for line in [b'hello\\n', b'second line\\n']:
    os.write(fd, line)
    pump(5, line.rstrip() + b'\\r\\n' + line.rstrip() + b'\\r\\n')
os.write(fd, b'\\x04')
pump(10)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace').replace('\\r\\n', '\\n'))
sys.exit(os.waitstatus_to_exitcode(status))
`;

test('on a terminal: interactive, each line typed is sent and its reply printed', async () => {
  const driver = path.join(tmp, 'pty-driver.py');
  fs.writeFileSync(driver, PTY_DRIVER);
  const client = [process.execPath, '--import', 'tsx', 'scripts/client.ts'];
  const tcp = spawn('python3', [driver, ...client, '127.0.0.1', String(echoPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const udp = spawn('python3', [driver, ...client, '127.0.0.1', String(udpPort), '--udp'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const outputs = await Promise.all([tcp, udp].map(async (child) => {
      let out = '';
      child.stdout!.on('data', (chunk) => (out += chunk));
      const [code] = await withDeadline(once(child, 'close'), 30000, 'the pty session');
      return { code, out };
    }));
    // The terminal echoes what is typed, then the reply follows.
    const tcpOut = outputs[0];
    assert.is(tcpOut.code, 0, tcpOut.out);
    assert.match(tcpOut.out, /^connected to 127\.0\.0\.1:\d+ \(tcp\) from 127\.0\.0\.1:\d+; Ctrl-D ends input, Ctrl-C quits\n/);
    assert.match(tcpOut.out, /hello\nhello\nsecond line\nsecond line\n/);
    assert.match(tcpOut.out, /connection closed by 127\.0\.0\.1:\d+\n$/);
    const udpOut = outputs[1];
    assert.is(udpOut.code, 0, udpOut.out);
    assert.match(udpOut.out, /^sending to 127\.0\.0\.1:\d+ \(udp\); one datagram per line, Ctrl-D to finish\n/);
    assert.match(udpOut.out, /hello\nhello\nsecond line\nsecond line\n/);
  } finally {
    tcp.kill('SIGKILL');
    udp.kill('SIGKILL');
  }
});

test('usage errors: one line, exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--bogus'], /^client: error: unknown option --bogus; see --help\n$/],
    [['127.0.0.1', 'http'], /^client: error: PORT "http": expected an integer 0-65535\n$/],
    [['999.1.1.1'], /^client: error: HOST "999\.1\.1\.1": expected an IPv4 address/],
    [['a', '1', 'b'], /^client: error: too many arguments: "b"/],
    [['--unix', '/tmp/x.sock', '127.0.0.1'], /^client: error: --unix PATH replaces HOST and PORT/],
    [['--timeout', 'soon'], /^client: error: --timeout "soon": expected a number/],
  ];
  const results = await Promise.all(cases.map(([args]) => runScript('client', args, { input: '' })));
  results.forEach((result, i) => {
    assert.is(result.code, 2, cases[i][0].join(' '));
    assert.match(result.stderr, cases[i][1]);
    assert.not.ok(hasStackTrace(result.stderr));
  });
  const help = await runScript('client', ['--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /--udp[\s\S]*--unix[\s\S]*--hex[\s\S]*--timeout[\s\S]*Exit codes/);
});

test.run();
