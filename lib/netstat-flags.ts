// netstat's flags, read once: `--watch [N]` taken out first (lib/watch.ts),
// the rest through parseCli; `--port` 1-65535, `--state` by the names
// netstat or ss print, which tables to read (default --tcp --udp), and
// netstat's -a -n -p -e accepted for the lesson's `netstat -apn`.
import { parseCli, parsePort } from './cli.ts';
import { UsageError } from './errors.ts';
import { normalizeState, STATE_NAMES } from './kernel/procnet.ts';
import type { Kinds, RowFilter } from './kernel/table.ts';
import { takeOptionalValue, watchSeconds } from './watch.ts';

/**
 * `--port P`, 1-65535: port 0 asks bind() for any free port, so no socket has it.
 * @example parseWantedPort('8001') // 8001
 */
export function parseWantedPort(text: string): number {
  const port = parsePort(text);
  if (port === 0) {
    throw new UsageError('--port 0: no socket has port 0 (bind() to port 0 means "any free port"); give the port to look for, 1-65535');
  }
  return port;
}

/**
 * A `--state` value as netstat or ss print it (`time-wait`, `ESTAB`), or a usage error.
 * @example parseState('time-wait') // 'TIME_WAIT'
 */
export function parseState(text: string, flag = '--state'): string {
  const name = normalizeState(text);
  if (name === null) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: unknown state; expected one of ${STATE_NAMES.join(', ')}`);
  }
  return name;
}

export interface NetstatFlags {
  json: boolean;
  explain: boolean;
  statistics: boolean;
  filter: RowFilter;
  kinds: Kinds;
  /** Seconds between --watch draws; 0: draw once. */
  interval: number;
  /** The arguments other than --watch, for the heading of each draw. */
  watchArgs: string[];
}

/** Reads netstat's argv; null after --help. Every mistake is a UsageError. */
export function parseNetstatFlags(name: string, help: string, argv = process.argv.slice(2)): NetstatFlags | null {
  const watch = takeOptionalValue(argv, '--watch');
  const args = parseCli(
    {
      name,
      help,
      options: {
        port: { type: 'string' },
        state: { type: 'string' },
        tcp: { type: 'boolean', short: 't' },
        udp: { type: 'boolean', short: 'u' },
        unix: { type: 'boolean', short: 'x' },
        listening: { type: 'boolean', short: 'l' },
        // netstat's flags for what this inspector always does: accepted, no change.
        all: { type: 'boolean', short: 'a' },
        numeric: { type: 'boolean', short: 'n' },
        programs: { type: 'boolean', short: 'p' },
        extend: { type: 'boolean', short: 'e' },
        json: { type: 'boolean' },
        explain: { type: 'boolean' },
        statistics: { type: 'boolean', short: 's' },
      },
    },
    watch.rest,
  );
  if (!args) return null;
  const { values } = args;
  const filter = {
    port: values.port === undefined ? undefined : parseWantedPort(values.port),
    state: values.state === undefined ? undefined : parseState(values.state),
    listening: values.listening ?? false,
  };
  const only = values.tcp || values.udp || values.unix;
  const kinds = only
    ? { tcp: !!values.tcp, udp: !!values.udp, unix: !!values.unix }
    : { tcp: true, udp: true, unix: false };
  return {
    json: values.json === true,
    explain: values.explain === true,
    statistics: values.statistics === true,
    filter,
    kinds,
    interval: watchSeconds(watch),
    watchArgs: watch.rest,
  };
}
