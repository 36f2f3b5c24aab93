// Ctrl-C for long runs: the first SIGINT aborts the run's AbortSignal (it stops at the next
// safe point and leaves its checkpoint resumable); a second one exits at once with code 130.
export interface Interrupt {
  signal: AbortSignal;
  /** Stops listening (call when the run ends so a later Ctrl-C behaves as usual). */
  dispose(): void;
}

export function abortOnSigint(name: string, stopping: string): Interrupt {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) {
      process.stderr.write(`\n${name}: interrupted again, exiting now\n`);
      process.exit(130);
    }
    process.stderr.write(`\n${name}: ${stopping} (Ctrl-C again to quit at once)\n`);
    controller.abort(new Error("interrupted by SIGINT"));
  };
  process.on("SIGINT", onSigint);
  return { signal: controller.signal, dispose: () => process.off("SIGINT", onSigint) };
}
