/**
 * Runs `pass` now, then again `intervalSeconds` after each pass ends (0: only now): never two at once,
 * and `stop()` waits for the pass in flight. `pass` logs its own outcome; a rejection only ends that
 * pass (the next one is the retry).
 */
export function repeatEvery(intervalSeconds: number, pass: () => Promise<void>): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  const tick = () => {
    current = pass()
      .catch(() => {})
      .finally(() => {
        if (!stopped && intervalSeconds > 0) timer = setTimeout(tick, intervalSeconds * 1000);
      });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
