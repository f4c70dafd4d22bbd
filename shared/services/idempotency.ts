import { createHash, randomUUID } from 'node:crypto';
import type { Queryable } from '../db/index.ts';
import { IdempotencyInProgress, IdempotencyMismatch } from '../errors.ts';
import { claimKey, completeClaim, findKey, releaseClaim, takeOverStaleClaim } from '../store/idempotency.ts';
import type { Principal } from './api-keys.ts';
import type { Services } from './container.ts';

// One Idempotency-Key mechanism for every billable POST (retrieve, answers, chat).
// The first request claims the key in its own short transaction; the work stores its typed
// result under the claim in the transaction that charges, so result and charge commit
// together. A concurrent request with the key does none of the work: it waits (bounded) for
// the result and replays it, or is told the first one is still in progress.

export interface IdempotencyContext {
  key: string;
  requestHash: string;
}

export function hashRequest(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n${JSON.stringify(body)}`).digest('hex');
}

/** Handed to the work: call `complete` inside the transaction that charges. */
export interface Claim {
  complete(tx: Queryable, result: unknown): Promise<void>;
}

export type IdempotentOutcome<T> =
  | { replayed: false; result: T }
  /** `result` is what the first request stored (decoded JSON); `legacyBody`, a rendered body stored before results were. */
  | { replayed: true; result: unknown; legacyBody: unknown };

export interface IdempotencyTiming {
  /** how long a concurrent request waits for the first one's result before answering "in progress" */
  waitMs: number;
  /** a claim silent for this long belongs to a crashed process and may be taken over */
  staleClaimSeconds: number;
}

// A retrieve finishes in tens of milliseconds and an answer is accepted in well under a
// second, so 10 s of waiting covers a loaded server; a claim no live request holds for two
// minutes was left by a crash.
export const DEFAULT_IDEMPOTENCY_TIMING: IdempotencyTiming = { waitMs: 10_000, staleClaimSeconds: 120 };
const RETRY_AFTER_SECONDS = 1;

export async function idempotent<T>(
  services: Pick<Services, 'db' | 'log'>,
  principal: Principal,
  idempotency: IdempotencyContext | undefined,
  work: (claim: Claim | null) => Promise<T>,
  timing: IdempotencyTiming = DEFAULT_IDEMPOTENCY_TIMING,
): Promise<IdempotentOutcome<T>> {
  if (!idempotency) return { replayed: false, result: await work(null) };
  const { db } = services;
  const { accountId } = principal;
  const { key, requestHash } = idempotency;
  const token = randomUUID();
  const deadline = Date.now() + timing.waitMs;
  let pause = 10;
  for (;;) {
    if (await claimKey(db, accountId, key, requestHash, token)) return { replayed: false, result: await runClaimed() };
    const row = await findKey(db, accountId, key);
    if (row) {
      if (row.requestHash !== requestHash) throw new IdempotencyMismatch(key);
      if (row.state === 'done') return { replayed: true, result: row.result, legacyBody: row.legacyBody };
      if (await takeOverStaleClaim(db, accountId, key, token, timing.staleClaimSeconds)) return { replayed: false, result: await runClaimed() };
      if (Date.now() >= deadline) throw new IdempotencyInProgress(key, RETRY_AFTER_SECONDS);
      // Bounded polling: the winner may run in another process, so there is nothing to subscribe to.
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 200);
    }
    // No row: the winner failed and released its claim between our two reads; claim it now.
  }

  async function runClaimed(): Promise<T> {
    const claim: Claim = {
      async complete(tx, result) {
        // Our claim was taken over as stale: roll back our charge; the other request's result stands.
        if (!(await completeClaim(tx, accountId, key, token, result))) throw new IdempotencyInProgress(key, RETRY_AFTER_SECONDS);
      },
    };
    try {
      return await work(claim);
    } catch (err) {
      await releaseClaim(db, accountId, key, token).catch((e: unknown) =>
        services.log.error('could not release an idempotency claim', { key, error: String(e) }),
      );
      throw err;
    }
  }
}
