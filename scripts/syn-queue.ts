#!/usr/bin/env -S npx tsx
// syn-queue: the half-open (SYN) queue, held for real. Inside a private
// network namespace it creates (and that dies with it), a listener that never
// accept()s and a firewall rule that drops the client's final pure ACK hold N
// connections in SYN_RECV while every client's connect() has returned; then
// the release moves them into the accept queue (Recv-Q N), accept() takes
// them, and --overflow fills the SYN queue past its size. Every step shows
// the port's rows as netstat does, the kernel counters that changed, and with
// --capture the packets tcpdump saw.
//
// Mirrors: listen(fd, B) without accept(); connect() on N clients; the
// three-way handshake's SYN, SYN-ACK, ACK; accept().
//
//   npx tsx scripts/syn-queue.ts
//   npx tsx scripts/syn-queue.ts --release data --capture
//   npx tsx scripts/syn-queue.ts --overflow --syncookies 0 --json
import { EXIT_CODES_HELP, parseCli, parseNumber, runMain } from '../lib/cli.ts';
import { UsageError } from '../lib/errors.ts';
import { formatTable } from '../lib/kernel/format.ts';
import { runtimeName, unsupported } from '../lib/runtime.ts';
import { onOuterGone, prepareNamespace, runInPrivateNamespace } from '../lib/netns.ts';
import { stopOnSignals } from '../lib/cleanup.ts';
import { formatDeltas, runSynQueue, type SynQueueOptions } from '../lib/serve/synqueue.ts';

const NAME = 'syn-queue';
const HELP = `Usage: syn-queue [--clients N] [--backlog B] [--release ack|data] [--overflow]
                 [--syncookies 0|1] [--capture] [--json]

Holds N real connections in SYN_RECV (the half-open queue) inside a private
network namespace, then lets them into the accept queue, step by step.

  --clients N        clients that connect (1-16, default 3; at most --backlog)
  --backlog B        the listener's listen() backlog (1-64, default 8)
  --release ack|data how the handshakes complete: the rule goes and the
                     SYN-ACK re-send brings the ACK (ack, default), or each
                     client writes a byte while the rule is there (data)
  --overflow         then overflow the half-open queue (backlog at most 8)
  --syncookies 0|1   net.ipv4.tcp_syncookies in the namespace (default: the
                     kernel's default there, 1)
  --capture          the packets, from tcpdump -i lo inside the namespace
  --json             one JSON document (settings, port, backlog, steps)
  -h, --help         this help

Runs as root (unshare --net) or as any user where unprivileged user
namespaces are allowed. Nothing touches the host's network namespace.
Ctrl-C stops everything and exits 130.

${EXIT_CODES_HELP}`;

await runMain(NAME, async () => {
  const args = parseCli({
    name: NAME,
    help: HELP,
    options: {
      clients: { type: 'string', default: '3' },
      backlog: { type: 'string', default: '8' },
      release: { type: 'string', default: 'ack' },
      overflow: { type: 'boolean', default: false },
      syncookies: { type: 'string' },
      capture: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (!args) return;
  const v = args.values;
  const release = v.release;
  if (release !== 'ack' && release !== 'data') throw new UsageError(`--release ${JSON.stringify(release)}: expected ack or data`);
  const options: SynQueueOptions = {
    clients: parseNumber(v.clients, '--clients', { min: 1, max: 16, integer: true }),
    backlog: parseNumber(v.backlog, '--backlog', { min: 1, max: v.overflow ? 8 : 64, integer: true }),
    release,
    overflow: v.overflow,
    syncookies: v.syncookies === undefined ? null : parseNumber(v.syncookies, '--syncookies', { min: 0, max: 1, integer: true }),
    capture: v.capture,
  };

  if (runtimeName() === 'bun') throw unsupported("Bun's listen() ignores the backlog (it always listens with 512)");
  if (options.clients > options.backlog) {
    throw new UsageError(`--clients ${options.clients} is more than --backlog ${options.backlog}: the half-open queue holds about backlog requests; raise --backlog`);
  }
  const code = await runInPrivateNamespace(NAME);
  if (code !== null) {
    process.exitCode = code;
    return;
  }

  // Inside the namespace from here on.
  const { steps: cleanups, run: cleanup } = stopOnSignals(NAME, 'stopping the clients, the listener and the namespace', onOuterGone);

  const out = (line: string) => {
    if (!v.json) process.stdout.write(line + '\n');
  };
  let k = 0;
  try {
    await prepareNamespace();
    const doc = await runSynQueue(options, {
      note: (line) => (v.json ? process.stderr.write(`${line}\n`) : out(line)),
      step(step, heading, sentences) {
        out(`${k === 0 ? '' : '\n'}## Step ${++k}: ${heading}`);
        const port = step.rows.find((r) => r.state === 'LISTEN')?.localPort ?? undefined;
        const held = step.name === 'connect' || step.name === 'overflow';
        for (const line of step.packets ?? []) out(`  packet: ${shortPacket(line, held ? port : undefined)}`);
        out(formatTable(step.rows).trimEnd());
        for (const row of step.rows.filter((r) => r.state === 'SYN_RECV')) {
          out(`  SYN_RECV from ${row.remoteAddress}:${row.remotePort}: SYN-ACK re-sent ${row.retransmits ?? '?'} times so far, the next in ${row.timerSeconds ?? '?'} s`);
        }
        for (const sentence of sentences) out(sentence);
        const deltas = formatDeltas(step.counters);
        out(deltas.length ? `Kernel counters since the last step:\n${deltas.join('\n')}` : 'Kernel counters: no change since the last step.');
      },
    }, cleanups);
    if (v.json) process.stdout.write(JSON.stringify(doc, null, 1) + '\n');
  } finally {
    await cleanup();
  }
});

/** `12:00:01.304381 127.0.0.1.46654 > 127.0.0.1.39365 [S] length 0`, a pure ACK to a held port marked as dropped. */
function shortPacket(line: string, heldPort?: number): string {
  const m = /^(\S+) IP6? (\S+) > (\S+): Flags \[([^\]]+)\].*?(?:length (\d+))?$/.exec(line);
  if (!m) return line;
  const [, time, from, to, flags, length = '0'] = m;
  const dropped = heldPort !== undefined && flags === '.' && length === '0' && to.endsWith(`.${heldPort}`);
  return `${time} ${from} > ${to.replace(/:$/, '')} [${flags}] length ${length}${dropped ? '  (a pure ACK: dropped by the rule)' : ''}`;
}
