import { EventEmitter } from 'node:events';
import type { AnswerStatus } from '../store/answers.ts';

// In-process fan-out of answer progress to waiting requests (sync waits, SSE streams).
// The database stays the source of truth: waiters also poll it, so an update consumed
// by another process is never missed, only seen later.
export type AnswerUpdate =
  | { type: 'started' }
  | { type: 'delta'; text: string }
  | { type: 'closed'; status: AnswerStatus };

export class AnswerHub {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(answerId: string, update: AnswerUpdate): void {
    this.emitter.emit(answerId, update);
  }

  subscribe(answerId: string, listener: (update: AnswerUpdate) => void): () => void {
    this.emitter.on(answerId, listener);
    return () => this.emitter.off(answerId, listener);
  }
}
