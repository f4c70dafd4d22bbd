import { createHash, randomUUID } from 'node:crypto';
import type { Queryable } from '../db/index.ts';
import { IdempotencyInProgress, IdempotencyMismatch } from '../errors.ts';
import {
  claimIdempotencyKey,
  findIdempotent,
  releaseIdempotencyKey,
  renewIdempotencyClaim,
  storeIdempotent,
  type StoredResult,
} from '../store/idempotency.ts';
import type { Payer, Principal } from './api-keys.ts';
import type { Services } from './container.ts';

// One Idempotency-Key mechanism for every billable POST. The first request claims the key and does
// the work, storing its result with the charge in one transaction; a concurrent request with the
// same key (another process, an eager retry) does no work: it waits for that stored result and is
// answered as a replay. A winner that fails releases the key, so the next try proceeds.
//
// A claim is a lease the winner renews while it works. A claimant that dies (SIGKILL) or cannot
// release (the database went down under it) leaves a claim nobody renews: it is taken over
// STALE_AFTER_SECONDS after its last renewal, which during an outage means at once when the
// database is back. A winner still working when taken over is safe too: the result row is unique
// per key, so only one of them can commit its charge; the other replays that result.
const WAIT_MS = 15_000;
const POLL_MS = 25;
/** a claim not renewed for this long is abandoned (renewals come every RENEW_MS) */
export const STALE_AFTER_SECONDS = 10;
const RENEW_MS = 2_000;
/** how long a release that failed is retried before the lease's expiry is left to free the key */
const RELEASE_RETRY_MS = 1_000;

export interface IdempotencyContext {
  key: string;
  requestHash: string;
}

/** Keys are per account and per mode: a test call never replays (or blocks) a live one with the same key. */
export const scopedKey = (principal: Payer, key: string) => (principal.livemode ? key : `test:${key}`);
const scoped = scopedKey;

export function hashRequest(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${JSON.stringify(body)}`)
    .digest('hex');
}

/** What the first request with this key stored, or null. A key reused for another request is refused. */
export async function findStoredResult(
  services: Pick<Services, 'db'>,
  principal: Principal,
  idempotency: IdempotencyContext | undefined,
): Promise<StoredResult | null> {
  if (!idempotency) return null;
  const stored = await findIdempotent(services.db, principal.accountId, scoped(principal, idempotency.key));
  if (stored && stored.requestHash !== idempotency.requestHash) throw new IdempotencyMismatch(idempotency.key);
  return stored;
}

/** Stores the work's typed result under the key; call it in the transaction that charges. */
export async function storeResult(
  tx: Queryable,
  principal: Principal,
  idempotency: IdempotencyContext | undefined,
  result: unknown,
): Promise<void> {
  if (idempotency)
    await storeIdempotent(tx, principal.accountId, scoped(principal, idempotency.key), idempotency.requestHash, result);
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
    const claimant = randomUUID();
    if (
      await claimIdempotencyKey(
        services.db,
        principal.accountId,
        scoped(principal, idempotency.key),
        idempotency.requestHash,
        STALE_AFTER_SECONDS,
        claimant,
      )
    ) {
      const lease = holdLease(services, principal.accountId, scoped(principal, idempotency.key), claimant);
      try {
        // The winner stores its result before it releases the key: a claim won just after that
        // release must find the result, not do the work again.
        const stored = await steps.replay();
        if (stored !== null) return { replayed: true, value: stored };
        try {
          return { replayed: false, value: await steps.work() };
        } catch (err) {
          // Taken over while working and the other claimant committed first: its result is the answer.
          const stored = await steps.replay().catch(() => null);
          if (stored !== null) return { replayed: true, value: stored };
          throw err;
        }
      } finally {
        await lease.release();
      }
    }
    if (Date.now() > deadline) throw new IdempotencyInProgress(idempotency.key, 1);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Renews the claim while the work runs; `release` ends it, retrying for a while if the database is down. */
function holdLease(services: Services, accountId: string, key: string, claimant: string) {
  const renew = setInterval(() => {
    renewIdempotencyClaim(services.db, accountId, key, claimant).catch(() => {
      // The database is unreachable: the claim simply ages, and is taken over once it is stale.
    });
  }, RENEW_MS);
  renew.unref();
  return {
    release() {
      clearInterval(renew);
      const giveUpAt = Date.now() + STALE_AFTER_SECONDS * 1000;
      const attempt = () =>
        releaseIdempotencyKey(services.db, accountId, key, claimant).catch((err: Error) => {
          if (Date.now() < giveUpAt) return void setTimeout(attempt, RELEASE_RETRY_MS).unref();
          services.log.warn('could not release an Idempotency-Key claim; it is taken over once stale', {
            error: err.message,
            staleAfterSeconds: STALE_AFTER_SECONDS,
          });
        });
      return attempt();
    },
  };
}
