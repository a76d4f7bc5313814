// lib/owners.ts: inode -> pid/program, live on sockets this test opens, and
// on a fake /proc tree (vanished and unreadable processes, first owner wins).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { once } from 'node:events';
import { findAllOwners, findOwners, listPids } from '../lib/kernel/owners.ts';
import { parseTcp } from '../lib/kernel/procnet.ts';

test('live: a listener and a client socket of this process', async () => {
  if (!fs.existsSync('/proc/net/tcp')) return;
  const server = net.createServer((socket) => socket.on('error', () => {}));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => {});
  await once(client, 'connect');
  try {
    const rows = parseTcp(fs.readFileSync('/proc/net/tcp', 'utf8')).filter(
      (row) => row.localPort === port || row.remotePort === port,
    );
    const inodes = rows.map((row) => row.inode).filter((inode) => inode > 0);
    assert.ok(inodes.length >= 2, `expected listener and client inodes, got ${JSON.stringify(rows)}`);
    const owners = findOwners(inodes);
    for (const inode of inodes) {
      assert.equal(owners.get(inode)?.pid, process.pid, `inode ${inode}`);
      assert.equal(owners.get(inode)?.program, fs.readFileSync(`/proc/${process.pid}/comm`, 'utf8').trim());
    }
  } finally {
    client.destroy();
    server.close();
  }
});

test('live: inode 0 and unknown inodes have no owner', () => {
  const owners = findOwners([0, 4294967295]);
  assert.is(owners.size, 0);
});

test('fake /proc: first owner wins, unreadable and vanished processes skipped', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'owners-'));
  try {
    const proc = (pid: string, comm: string | null, links: string[] | 'file' | 'none') => {
      fs.mkdirSync(path.join(root, pid), { recursive: true });
      if (comm !== null) fs.writeFileSync(path.join(root, pid, 'comm'), `${comm}\n`);
      if (links === 'file') fs.writeFileSync(path.join(root, pid, 'fd'), 'not a directory');
      else if (links !== 'none') {
        fs.mkdirSync(path.join(root, pid, 'fd'));
        links.forEach((target, fd) => fs.symlinkSync(target, path.join(root, pid, 'fd', String(fd))));
      }
    };
    proc('7', 'unreadable', 'file'); // readdir fails: skipped
    proc('12', 'vanished', 'none'); // no fd dir: gone meanwhile
    proc('30', 'node', ['/dev/null', 'socket:[111]', 'pipe:[5]', 'socket:[222]']);
    proc('45', 'sshd', ['socket:[222]', 'socket:[333]']);
    proc('100', null, ['socket:[444]']); // comm unreadable
    fs.mkdirSync(path.join(root, 'self'));
    fs.mkdirSync(path.join(root, 'net'));
    assert.equal(listPids(root), [7, 12, 30, 45, 100]);
    const owners = findOwners([111, 222, 333, 444, 555], root);
    assert.equal(Object.fromEntries(owners), {
      111: { pid: 30, program: 'node' },
      222: { pid: 30, program: 'node' },
      333: { pid: 45, program: 'sshd' },
      444: { pid: 100, program: '?' },
    });
    // Every holder, as ss -p lists them: 222 is shared by 30 and 45 (fork()).
    assert.equal(Object.fromEntries(findAllOwners([111, 222, 333, 555], root)), {
      111: [{ pid: 30, program: 'node' }],
      222: [{ pid: 30, program: 'node' }, { pid: 45, program: 'sshd' }],
      333: [{ pid: 45, program: 'sshd' }],
    });
    assert.equal(findOwners([], root).size, 0);
    assert.equal(listPids(path.join(root, 'missing')), []);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('live: a listener shared with a forked child lists both pids (as ss -p)', async () => {
  if (!fs.existsSync('/proc/net/tcp')) return;
  const { spawn } = await import('node:child_process');
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  // The child inherits the listening descriptor as fd 3 (what fork() does for a pre-forked server).
  const child = spawn('sleep', ['30'], { stdio: ['ignore', 'ignore', 'ignore', (server as unknown as { _handle: { fd: number } })._handle.fd] });
  try {
    await once(child, 'spawn');
    const row = parseTcp(fs.readFileSync('/proc/net/tcp', 'utf8')).find((r) => r.localPort === port && r.state === 'LISTEN')!;
    const owners = findAllOwners([row.inode]).get(row.inode) ?? [];
    assert.equal(owners.map((owner) => owner.pid).sort((a, b) => a - b), [process.pid, child.pid!].sort((a, b) => a - b));
    assert.ok(owners.some((owner) => owner.program === 'sleep'));
  } finally {
    child.kill('SIGKILL');
    server.close();
  }
});

test('an error that is not "gone" or "not ours" is thrown, not an empty answer', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'owners-'));
  try {
    fs.mkdirSync(path.join(root, '30/fd'), { recursive: true });
    fs.symlinkSync('loop', path.join(root, '30/fd/3')); // readlink works: not a socket
    assert.equal(findAllOwners([1], root).size, 0);
    // A /proc that is a file: ENOTDIR on readdir of the root itself is an error.
    const file = path.join(root, 'file');
    fs.writeFileSync(file, '');
    assert.throws(() => listPids(file), (error: NodeJS.ErrnoException) => error.code === 'ENOTDIR');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test.run();
