import type { Principal } from './api-keys.ts';
import { assertCanPay, chargeRetrieval, type RetrievalResult } from './billing.ts';
import type { Services } from './container.ts';
import { idempotent, type IdempotencyContext } from './idempotency.ts';
import { retrieve, type RetrieveInput } from './retrieval.ts';

export type PaidRetrieval =
  | { replayed: false; result: RetrievalResult }
  | { replayed: true; result: RetrievalResult }
  /** replay of a response stored before results were (migration 0008): returned as it was rendered */
  | { replayed: true; result: null; legacyBody: unknown };

/** POST /v1/retrieve's work: search, then bill it once, whatever the retries. */
export async function paidRetrieve(
  services: Services,
  principal: Principal,
  requestId: string,
  input: RetrieveInput,
  idempotency: IdempotencyContext | undefined,
): Promise<PaidRetrieval> {
  const outcome = await idempotent(services, principal, idempotency, async (claim) => {
    await assertCanPay(services, principal);
    const sources = await retrieve(services, input);
    return chargeRetrieval(services, principal, { requestId, sources, claim });
  });
  if (!outcome.replayed) return outcome;
  if (outcome.result === null) return { replayed: true, result: null, legacyBody: outcome.legacyBody };
  return { replayed: true, result: outcome.result as RetrievalResult };
}
