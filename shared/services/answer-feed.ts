import { createMarkerFilter } from '../core/marker-stream.ts';
import { readDeltas } from '../store/answer-deltas.ts';
import { findAnswer, type AnswerRecord } from '../store/answers.ts';
import type { Services } from './container.ts';

// Following one answer as it is generated: used by both streaming flavours (answers and chat).
// The deltas are read from the database (answer_deltas) by seq, so the stream gets them whichever
// process consumes the worker's events; hub signals (this process, or NOTIFY from others) only
// wake the reader early, and without them it polls (AnswerHub.followPollMs).

/** Wake-ups for one answer, subscribed before it is queued so that no early signal is missed. */
export function openFeed(services: Pick<Services, 'answerHub'>, id: string) {
  let signalled = false;
  let wake = () => {};
  const unsubscribe = services.answerHub.subscribe(id, () => {
    signalled = true;
    wake();
  });
  return {
    id,
    /** Resolves on the next signal (at once if one came since the last call), or after `ms`. */
    next: (ms: number) =>
      new Promise<void>((resolve) => {
        if (signalled) {
          signalled = false;
          return resolve();
        }
        const done = () => {
          wake = () => {};
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(done, ms);
        wake = () => {
          signalled = false;
          done();
        };
      }),
    close: unsubscribe,
  };
}
export type Feed = ReturnType<typeof openFeed>;

/** How following ended: the answer closed, outlived its deadline, or the client went away. */
export type FollowOutcome = { kind: 'closed'; answer: AnswerRecord } | { kind: 'timeout' } | { kind: 'disconnected' };

/**
 * Follows an answer until it closes: `onDelta` gets the text in seq order with markers filtered
 * live (a delta consumed ahead of its predecessor waits for it). When `signal` aborts (the client
 * disconnected) it stops reading and returns at once; the answer goes on and is billed as usual,
 * since nothing here touches it. Closes the feed.
 */
export async function followAnswer(
  services: Pick<Services, 'db' | 'answerHub'>,
  feed: Feed,
  answerId: string,
  onDelta: (text: string) => Promise<void>,
  signal?: AbortSignal,
): Promise<FollowOutcome> {
  const { db } = services;
  const first = (await findAnswer(db, answerId))!;
  const filter = createMarkerFilter(first.sources.length);
  const stop = new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
  let seq = 0;
  try {
    for (;;) {
      if (signal?.aborted) return { kind: 'disconnected' };
      const read = (await readDeltas(db, answerId, seq))!;
      const closed = read.status !== 'queued' && read.status !== 'running';
      for (const d of read.deltas) {
        // Open: only the next in order. Closed: the list is final (a gap left by pruning is skipped).
        if (d.seq !== seq && !closed) break;
        seq = d.seq + 1;
        const text = filter.push(d.text);
        if (text) await onDelta(text);
      }
      if (closed) {
        const tail = filter.end();
        if (tail) await onDelta(tail);
        return { kind: 'closed', answer: (await findAnswer(db, answerId))! };
      }
      if (Date.now() > first.deadlineAt.getTime() + 5000) return { kind: 'timeout' };
      await Promise.race([feed.next(services.answerHub.followPollMs(db)), stop]);
    }
  } finally {
    feed.close();
  }
}
