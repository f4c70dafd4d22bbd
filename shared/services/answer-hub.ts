import { EventEmitter } from 'node:events';
import type { Db } from '../db/index.ts';
import type { Logger } from '../logger.ts';
import { notifyChannel } from '../store/answer-notifications.ts';

// Wake-ups for requests following an answer (sync waits, SSE streams). The database is the
// source of truth (the answer's status, its deltas in answer_deltas): a signal only says "read
// again", so a lost one costs latency, never text. Signals reach this process's hub directly,
// and other processes on the same PostgreSQL server through NOTIFY on one channel, which a
// single listening connection per process (listenForAnswers) turns back into hub signals.
// Where no listener runs (a Lambda, frozen between invocations, must not hold a LISTEN
// connection), followers poll the database at a short interval instead (followPollMs).
export type AnswerSignal = 'delta' | 'closed';

export const ANSWER_CHANNEL = 'citepay_answers';

export class AnswerHub {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  /** True while a database listener brings other processes' signals into this hub. */
  listening = false;

  publish(answerId: string, signal: AnswerSignal): void {
    this.emitter.emit(answerId, signal);
  }

  subscribe(answerId: string, listener: (signal: AnswerSignal) => void): () => void {
    this.emitter.on(answerId, listener);
    return () => this.emitter.off(answerId, listener);
  }

  /**
   * How often a follower reads the database when no signal comes: rarely when every change
   * reaches this hub (PGlite belongs to this process alone; on PostgreSQL, while listening),
   * often when another process may apply the answer's events unheard.
   */
  followPollMs(db: Pick<Db, 'kind'>): number {
    return db.kind === 'pglite' || this.listening ? 1000 : 150;
  }
}

/** Signals an answer's followers here and, on a shared PostgreSQL server, in every other process. */
export async function announce(
  services: { db: Db; answerHub: AnswerHub; log: Logger },
  answerId: string,
  signal: AnswerSignal,
): Promise<void> {
  services.answerHub.publish(answerId, signal);
  if (services.db.kind !== 'pg') return;
  // Best effort: the change is committed already and followers poll, so a failed NOTIFY only delays them.
  await notifyChannel(services.db, ANSWER_CHANNEL, `${signal} ${answerId}`).catch((err: unknown) =>
    services.log.warn('answer notify failed; followers will poll', { answerId, error: String(err) }),
  );
}

export interface Listener {
  close(): Promise<void>;
}
export type Listen = (
  channel: string,
  handlers: { onPayload(payload: string): void; onState(up: boolean): void },
) => Listener;

/** Feeds the hub with the NOTIFY signals of every process on the database (one connection per process). */
export function listenForAnswers(hub: AnswerHub, listen: Listen): Listener {
  return listen(ANSWER_CHANNEL, {
    onPayload(payload) {
      const [signal, answerId] = payload.split(' ');
      if (answerId && (signal === 'delta' || signal === 'closed')) hub.publish(answerId, signal);
    },
    onState(up) {
      hub.listening = up;
    },
  });
}
