// Waits that always end: poll a condition or race a promise against a
// deadline, failing with one line that names what was awaited. The tours
// read kernel state until it shows what they expect; never a bare sleep.
import { Failure } from './errors.ts';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type Maybe<T> = T | null | undefined | false;

/** Polls `check` every 20 ms until it gives a value, or fails after `ms` naming `what`. */
export async function until<T>(check: () => Maybe<T> | Promise<Maybe<T>>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Failure(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** `promise`, or a Failure naming `what` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Failure(`timed out after ${ms} ms waiting for ${what}`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
