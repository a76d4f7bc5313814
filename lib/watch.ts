// `--watch [SECONDS]`: a flag whose value is optional (`--watch`, `--watch 2`,
// `--watch=2`), which util.parseArgs cannot express, and the loop behind it:
// draw every N seconds until SIGINT or SIGTERM (lib/net.ts's onShutdown),
// waking from the wait at once when told to stop.
import { parseNumber } from './cli.ts';
import { onShutdown } from './net.ts';

export interface OptionalValue {
  present: boolean;
  value?: string;
  /** argv without the flag and its value. */
  rest: string[];
}

/**
 * Takes `flag` and its optional value out of argv. The token after the flag
 * is its value only when it looks like a number; `--` ends the search.
 * @example takeOptionalValue(['--watch', '2', '-t'], '--watch') // { present: true, value: '2', rest: ['-t'] }
 */
export function takeOptionalValue(argv: string[], flag: string): OptionalValue {
  const rest: string[] = [];
  let present = false;
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (token === flag) {
      present = true;
      const next = argv[i + 1];
      if (next !== undefined && next !== '' && !next.startsWith('-') && !Number.isNaN(Number(next))) {
        value = next;
        i++;
      }
    } else if (token.startsWith(`${flag}=`)) {
      present = true;
      value = token.slice(flag.length + 1);
    } else rest.push(token);
  }
  return { present, value, rest };
}

/** Seconds between draws: 0 without `--watch`, 1 for a bare `--watch`, else 0.1-86400 (a UsageError outside). */
export function watchSeconds(watch: OptionalValue, flag = '--watch'): number {
  if (!watch.present) return 0;
  return watch.value === undefined ? 1 : parseNumber(watch.value, flag, { min: 0.1, max: 86400 });
}

/** Calls `draw` now and every `seconds` after until SIGINT or SIGTERM. */
export async function redrawUntilStopped(seconds: number, draw: (first: boolean) => unknown): Promise<void> {
  let stopped = false;
  let wake = () => {};
  onShutdown(() => {
    stopped = true;
    wake();
  });
  let first = true;
  while (!stopped) {
    await draw(first);
    first = false;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, seconds * 1000);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
