#!/usr/bin/env -S npx tsx
// close-tour: how a TCP connection ends, step by step, with the kernel's rows
// after each step: the half-close (FIN_WAIT2 / CLOSE_WAIT, and the server
// still writes), TIME_WAIT on whichever side closed first (with its timer),
// a new listener on the port at once beside TIME_WAIT (SO_REUSEADDR), the
// abortive close (RST, ECONNRESET, no TIME_WAIT), and the CLOSE_WAIT leak of
// a server process that never calls close(). It runs in a private network
// namespace when it can (its rows and capture are its own), else on the
// host's loopback, showing only its own four-tuples. --view runs it on the
// host's loopback with socket-view beside it (a page on the host cannot see a
// namespace's sockets).
//
// Mirrors: shutdown(fd, SHUT_WR); close(fd) on either side first;
// setsockopt(SO_LINGER {1, 0}) + close() for the RST; bind() after TIME_WAIT.
//
//   npx tsx scripts/close-tour.ts
//   npx tsx scripts/close-tour.ts --capture
//   npx tsx scripts/close-tour.ts --json
//   npx tsx scripts/close-tour.ts --view
import { EXIT_CODES_HELP, parseCli, runMain } from '../lib/cli.ts';
import { UsageError } from '../lib/errors.ts';
import { formatTable } from '../lib/kernel/format.ts';
import { insidePrivateNamespace, onOuterGone, prepareNamespace } from '../lib/netns.ts';
import { stopOnSignals } from '../lib/cleanup.ts';
import { LEAK_ENV, placeCloseTour, runCloseTour, runLeakServer } from '../lib/serve/closetour.ts';
import { startTourView } from '../lib/serve/tourview.ts';

const NAME = 'close-tour';
const HELP = `Usage: close-tour [--capture] [--json] [--view]

Opens and closes real connections on loopback, six ways, and shows the
connection's rows (netstat's layout) after each step: half-close, TIME_WAIT
on the client, TIME_WAIT on the server, the reset, the CLOSE_WAIT leak.

  --capture   the FIN, ACK and RST packets (tcpdump -i lo), inside the
              private network namespace only
  --json      one JSON document: { namespace, steps: [{ name, rows, packets? }] }
  --view      also start socket-view (a live page of the sockets) filtered to
              the tour's port and print its URL before the first step (on
              stderr with --json); runs the tour on the host's loopback, since
              a page on the host cannot see a private namespace's sockets
              (so not with --capture)
  -h, --help  this help

Runs in a private network namespace (unshare --net) where it can; elsewhere
(and with --view) on the host's loopback, saying so on stderr. Ctrl-C stops
everything it started and exits 130.

${EXIT_CODES_HELP}`;

if (process.env[LEAK_ENV] === '1') runLeakServer();
else await runMain(NAME, async () => {
  const args = parseCli({
    name: NAME,
    help: HELP,
    options: { capture: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, view: { type: 'boolean', default: false } },
  });
  if (!args) return;
  const v = args.values;
  if (v.view && v.capture) throw new UsageError('--view and --capture cannot be combined: the capture needs a private network namespace, whose sockets a page on the host cannot see');

  // The outer process re-runs this one in the namespace and exits with its code.
  const place = await placeCloseTour(NAME, v.view);
  if ('exitCode' in place) return void (process.exitCode = place.exitCode);
  const where = place.where;
  if (place.why) process.stderr.write(`${NAME}: runs on the host's loopback (${place.why}); its TIME_WAIT rows are shared with the host${v.capture ? ', and no capture there' : ''}\n`);

  const { steps: cleanups, run: cleanup } = stopOnSignals(
    NAME,
    'resetting the connections, closing the listeners, stopping the leaking server',
    insidePrivateNamespace() ? onOuterGone : undefined,
  );

  const out = (line: string) => {
    if (!v.json) process.stdout.write(line + '\n');
  };
  const view = v.view ? startTourView(import.meta.url) : null;
  if (view) cleanups.push(() => view.stop());
  let k = 0;
  try {
    if (where === 'private') await prepareNamespace();
    out(`# How a connection ends (${where === 'private' ? 'a private network namespace' : "the host's loopback"})`);
    const steps = await runCloseTour(
      { capture: v.capture && where === 'private', selfCommand: [process.execPath, ...process.execArgv, ...process.argv.slice(1)] },
      {
        note: (line) => process.stderr.write(`${NAME}: ${line}\n`),
        async listening(port) {
          if (!view) return;
          const line = await view.line(port);
          if (v.json) process.stderr.write(`${NAME}: ${line}\n`);
          else out(`\n${line}`);
        },
        step(step, sentences) {
          out(`\n## Step ${++k}: ${step.name}`);
          for (const line of step.packets ?? []) out(`  packet: ${line}`);
          out(step.rows.length ? formatTable(step.rows).trimEnd() : '(no rows: the connection is gone on both sides)');
          for (const row of step.rows.filter((r) => r.state === 'TIME_WAIT')) {
            out(`  TIME_WAIT ${row.localAddress}:${row.localPort}: ${row.timerSeconds ?? '?'} s left on its timer`);
          }
          for (const sentence of sentences) out(sentence);
        },
      },
      cleanups,
    );
    // Test hook: keep the listeners and the leaking server this long (at most 30 s), for a Ctrl-C.
    const hold = Math.min(Number(process.env.SOCKET_LAB_CLOSE_TOUR_HOLD_MS) || 0, 30000);
    if (hold > 0) await new Promise((resolve) => setTimeout(resolve, hold));
    if (v.json) process.stdout.write(JSON.stringify({ namespace: where, steps }, null, 1) + '\n');
    else out('\n## Done: the connections are reset, the listeners closed, the leaking server stopped');
  } finally {
    await cleanup();
  }
});
