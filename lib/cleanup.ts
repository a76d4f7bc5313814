// The tours' way to stop: every resource a step opens registers how to undo
// it; the tour's end, Ctrl-C (exit 130), SIGTERM (143) and the death of the
// outer process (a namespace's parent) all run the same undo list, newest
// first, once, so nothing is left behind however the tour ends.
export type CleanupStep = () => Promise<void> | void;

export interface Cleanups {
  /** Steps to undo, pushed as resources are opened; run newest first. */
  steps: CleanupStep[];
  /** Runs every step once (later calls wait for nothing); a failing step does not stop the others. */
  run(): Promise<void>;
}

/**
 * The undo list, run on SIGINT (exit 130, after printing `NAME: interrupted; WHAT`)
 * and SIGTERM (143); `watchOuter`, when given, calls back when an outer
 * process this one depends on is gone (exit 143).
 */
export function stopOnSignals(name: string, what: string, watchOuter?: (gone: () => void) => void): Cleanups {
  const steps: CleanupStep[] = [];
  let ran = false;
  const run = async () => {
    if (ran) return;
    ran = true;
    for (const step of steps.reverse()) await Promise.resolve(step()).catch(() => {});
  };
  const stop = (exit: number) => void run().then(() => process.exit(exit));
  watchOuter?.(() => stop(143));
  process.on('SIGINT', () => {
    process.stderr.write(`${name}: interrupted; ${what}\n`);
    stop(130);
  });
  process.on('SIGTERM', () => stop(143));
  return { steps, run };
}
