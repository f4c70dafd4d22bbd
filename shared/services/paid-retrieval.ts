import type { Principal } from './api-keys.ts';
import { assertCanPay, chargeRetrieval, type RetrievalResult } from './billing.ts';
import type { Services } from './container.ts';
import { findStoredResult, idempotently, type IdempotencyContext } from './idempotency.ts';
import { retrieve, type RetrieveInput } from './retrieval.ts';

export type PaidRetrieval =
  | { replayed: boolean; result: RetrievalResult }
  /** a replay of a response stored before results were (migration 0009): returned as it was rendered */
  | { replayed: true; result: null; legacyBody: unknown };

/** POST /v1/retrieve's work: search, then bill it once, however often the request is retried. */
export async function paidRetrieve(
  services: Services,
  principal: Principal,
  requestId: string,
  input: RetrieveInput,
  idempotency: IdempotencyContext | undefined,
): Promise<PaidRetrieval> {
  const outcome = await idempotently(services, principal, idempotency, {
    replay: () => findStoredResult(services, principal, idempotency),
    work: async () => {
      await assertCanPay(services, principal);
      const sources = await retrieve(services, input);
      return chargeRetrieval(services, principal, { requestId, sources, idempotency });
    },
  });
  if (!outcome.replayed) return { replayed: false, result: outcome.value };
  const stored = outcome.value;
  if (stored.result === null) return { replayed: true, result: null, legacyBody: stored.legacyBody };
  return { replayed: true, result: stored.result as RetrievalResult };
}
