// Streaming deltas go to the results queue, one SQS message each. A fast generator
// emits many tiny deltas, so they are coalesced: the first is sent at once (time to
// first token), later ones at most about once per interval. Sends stay in order.
export interface DeltaBatcher {
  push(text: string): void;
  /** Sends what is buffered and waits for every send; rethrows the first failure. */
  close(): Promise<void>;
  /** Drops what is buffered: the generation failed, its tail is of no use. */
  discard(): void;
}

export function createDeltaBatcher(
  send: (seq: number, text: string) => Promise<void>,
  options: { intervalMs: number; now: () => number },
): DeltaBatcher {
  let buffer = '';
  let seq = 0;
  let lastSent = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let chain = Promise.resolve();
  let failure: { error: unknown } | undefined;

  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (buffer === '') return;
    const text = buffer;
    const n = seq++;
    buffer = '';
    lastSent = options.now();
    chain = chain.then(async () => {
      if (failure) return; // one lost delta breaks the stream: send no more
      await send(n, text).catch((error: unknown) => void (failure = { error }));
    });
  };

  return {
    push(text) {
      buffer += text;
      const wait = lastSent + options.intervalMs - options.now();
      if (wait <= 0) flush();
      else timer ??= setTimeout(flush, wait);
    },
    async close() {
      flush();
      await chain;
      if (failure) throw failure.error;
    },
    discard() {
      clearTimeout(timer);
      timer = undefined;
      buffer = '';
    },
  };
}
