import { createHash } from 'node:crypto';
import type { Queryable } from '../db/index.ts';
import { IdempotencyInProgress, IdempotencyMismatch } from '../errors.ts';
import { claimIdempotencyKey, findIdempotent, releaseIdempotencyKey, storeIdempotent, type StoredResult } from '../store/idempotency.ts';
import type { Payer, Principal } from './api-keys.ts';
import type { Services } from './container.ts';

// One Idempotency-Key mechanism for every billable POST. The first request claims the key and does
// the work, storing its result with the charge in one transaction; a concurrent request with the
// same key (another process, an eager retry) does no work: it waits for that stored result and is
// answered as a replay. A winner that fails releases the key, so the next try proceeds.
const WAIT_MS = 15_000;
const POLL_MS = 25;
/** longer than any request holds a key (answers wait at most ANSWER_WAIT_SECONDS before 202) */
const STALE_AFTER_SECONDS = 300;

export interface IdempotencyContext {
  key: string;
  requestHash: string;
}

/** Keys are per account and per mode: a test call never replays (or blocks) a live one with the same key. */
export const scopedKey = (principal: Payer, key: string) => (principal.livemode ? key : `test:${key}`);
const scoped = scopedKey;

export function hashRequest(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n${JSON.stringify(body)}`).digest('hex');
}

/** What the first request with this key stored, or null. A key reused for another request is refused. */
export async function findStoredResult(services: Pick<Services, 'db'>, principal: Principal, idempotency: IdempotencyContext | undefined): Promise<StoredResult | null> {
  if (!idempotency) return null;
  const stored = await findIdempotent(services.db, principal.accountId, scoped(principal, idempotency.key));
  if (stored && stored.requestHash !== idempotency.requestHash) throw new IdempotencyMismatch(idempotency.key);
  return stored;
}

/** Stores the work's typed result under the key; call it in the transaction that charges. */
export async function storeResult(tx: Queryable, principal: Principal, idempotency: IdempotencyContext | undefined, result: unknown): Promise<void> {
  if (idempotency) await storeIdempotent(tx, principal.accountId, scoped(principal, idempotency.key), idempotency.requestHash, result);
}

export type IdempotentOutcome<R, T> = { replayed: true; value: R } | { replayed: false; value: T };

export async function idempotently<R, T>(
  services: Services,
  principal: Principal,
  idempotency: IdempotencyContext | undefined,
  steps: {
    /** the stored result for this key, or null (and a 422 for a key reused with another request) */
    replay: () => Promise<R | null>;
    /** the work; it stores its result under the key in its own charging transaction */
    work: () => Promise<T>;
  },
): Promise<IdempotentOutcome<R, T>> {
  if (!idempotency) return { replayed: false, value: await steps.work() };
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const stored = await steps.replay();
    if (stored !== null) return { replayed: true, value: stored };
    if (await claimIdempotencyKey(services.db, principal.accountId, scoped(principal, idempotency.key), idempotency.requestHash, STALE_AFTER_SECONDS)) {
      try {
        // The winner stores its result before it releases the key: a claim won just after that
        // release must find the result, not do the work again.
        const stored = await steps.replay();
        if (stored !== null) return { replayed: true, value: stored };
        return { replayed: false, value: await steps.work() };
      } finally {
        await releaseIdempotencyKey(services.db, principal.accountId, scoped(principal, idempotency.key)).catch((err: Error) =>
          services.log.warn('could not release an Idempotency-Key claim; it goes stale', { error: err.message }),
        );
      }
    }
    if (Date.now() > deadline)
      throw new IdempotencyInProgress(idempotency.key, 1);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
