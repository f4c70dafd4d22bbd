import { createMarkerFilter } from '../core/marker-stream.ts';
import { findAnswer, type AnswerRecord } from '../store/answers.ts';
import type { AnswerUpdate } from './answer-hub.ts';
import type { Services } from './container.ts';

// Following one answer as it is generated: used by both streaming flavours (answers and chat).

/** Buffers an answer's hub updates from before it is queued, so no early delta is missed. */
export function openFeed(services: Pick<Services, 'answerHub'>, id: string) {
  const updates: AnswerUpdate[] = [];
  let notify = () => {};
  const unsubscribe = services.answerHub.subscribe(id, (u) => {
    updates.push(u);
    notify();
  });
  return {
    id,
    take: () => updates.splice(0),
    /** Resolves on the next update, or after `ms` (the database is polled as well). */
    next: (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        notify = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
    close: unsubscribe,
  };
}
export type Feed = ReturnType<typeof openFeed>;

/**
 * Follows an answer until it closes: `onDelta` gets text with markers filtered live; resolves
 * with the closed answer, or null when it outlives its deadline. Closes the feed.
 */
export async function followAnswer(
  services: Pick<Services, 'db'>,
  feed: Feed,
  answerId: string,
  onDelta: (text: string) => Promise<void>,
): Promise<AnswerRecord | null> {
  const { db } = services;
  const first = (await findAnswer(db, answerId))!;
  const filter = createMarkerFilter(first.sources.length);
  try {
    for (;;) {
      for (const u of feed.take()) if (u.type === 'delta') {
        const text = filter.push(u.text);
        if (text) await onDelta(text);
      }
      const current = (await findAnswer(db, answerId))!;
      if (current.status !== 'queued' && current.status !== 'running') {
        const tail = filter.end();
        if (tail) await onDelta(tail);
        return current;
      }
      if (Date.now() > first.deadlineAt.getTime() + 5000) return null;
      await feed.next(500);
    }
  } finally {
    feed.close();
  }
}
