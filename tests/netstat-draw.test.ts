// lib/kernel/netstat.ts: one draw of netstat on the fixtures captured on
// this kernel (tests/fixtures/proc-net-*.txt) under a private proc root:
// the rows read, the table, JSON and explanations written, the counters
// with their change, the --watch heading.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './helpers.ts';
import { StatisticsDraw, drawTable, readTable, watchHeading } from '../lib/kernel/netstat.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'netstat-draw-'));
fs.mkdirSync(path.join(root, 'net'));
for (const name of ['tcp', 'tcp6', 'udp', 'udp6', 'unix', 'netstat', 'snmp']) {
  fs.copyFileSync(path.join(ROOT, `tests/fixtures/proc-net-${name}.txt`), path.join(root, 'net', name));
}

async function withRoot<T>(run: () => Promise<T> | T): Promise<T> {
  const before = process.env.SOCKET_LAB_PROC_ROOT;
  process.env.SOCKET_LAB_PROC_ROOT = root;
  try {
    return await run();
  } finally {
    if (before === undefined) delete process.env.SOCKET_LAB_PROC_ROOT;
    else process.env.SOCKET_LAB_PROC_ROOT = before;
  }
}

function draw(rows: Parameters<typeof drawTable>[0], how: Parameters<typeof drawTable>[1]) {
  let out = '';
  let err = '';
  drawTable(rows, how, (text) => (out += text), (text) => (err += text));
  return { out, err };
}

test('readTable: the selected tables, filtered, no owner in a proc root without processes', async () => {
  const all = await withRoot(() => readTable({ tcp: true, udp: true, unix: false }, {}, new Set()));
  assert.ok(all.length > 0);
  assert.ok(all.every((row) => row.proto.startsWith('tcp') || row.proto.startsWith('udp')));
  assert.ok(all.every((row) => row.pid === null));
  const listeners = await withRoot(() => readTable({ tcp: true, udp: false, unix: false }, { listening: true }, new Set()));
  assert.ok(listeners.length > 0 && listeners.every((row) => row.state === 'LISTEN'));
});

test('drawTable: a table with explanations after it; JSON with them on stderr', async () => {
  const rows = await withRoot(() => readTable({ tcp: true, udp: false, unix: false }, {}, new Set()));
  const text = await withRoot(() => draw(rows, { explain: true }));
  assert.match(text.out, /^Proto Recv-Q Send-Q Local Address/);
  assert.match(text.out, /\n\n.*accept queue/);
  assert.is(text.err, '');
  const json = await withRoot(() => draw(rows, { json: true, explain: true }));
  assert.is(JSON.parse(json.out).length, rows.length);
  assert.match(json.out, /^\[\n\{"proto":/);
  assert.match(json.err, /accept queue/);
  const watching = draw(rows, { json: true, watching: true });
  assert.is(watching.out.split('\n').length, 2, 'one line per draw under --watch');
});

test('StatisticsDraw: the lesson counters, then the change since the last draw', () => {
  const statistics = new StatisticsDraw();
  const first = statistics.draw(false, root);
  assert.match(first, /^TCP counters since boot \(Tcp: \/proc\/net\/snmp, TcpExt: \/proc\/net\/netstat\):\n/);
  assert.match(first, /ListenOverflows/);
  const doc = JSON.parse(statistics.draw(true, root));
  assert.ok('ListenOverflows' in doc.counters && typeof doc.meanings.ListenOverflows === 'string');
  assert.throws(() => statistics.draw(false, path.join(root, 'missing')), /no TCP counters/);
});

test('watchHeading: like watch(1); cleared on a terminal, blank line between draws elsewhere', () => {
  const now = new Date(2026, 0, 1, 18, 4, 5);
  assert.is(watchHeading(2, ['-t'], { first: true, tty: false, now }), 'Every 2 s: netstat -t  18:04:05\n\n');
  assert.is(watchHeading(2, ['-t'], { first: false, tty: false, now }), '\nEvery 2 s: netstat -t  18:04:05\n\n');
  assert.is(watchHeading(1, [], { first: false, tty: true, now }), '\x1b[H\x1b[2JEvery 1 s: netstat   18:04:05\n\n');
});

test.after(() => fs.rmSync(root, { recursive: true, force: true }));
test.run();
