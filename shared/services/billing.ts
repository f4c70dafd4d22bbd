import type { Queryable } from '../db/index.ts';
import { InsufficientCredits } from '../errors.ts';
import { balanceOf, lockAccount, postTransaction } from '../store/ledger.ts';
import { heldAmount } from '../store/answers.ts';
import { PROTOCOL_ACCOUNT_ID } from '../store/accounts.ts';
import { newId } from '../ids.ts';
import { settleRetrieval } from '../core/pricing.ts';
import { attributionSummary, buildReceipt } from '../core/receipts.ts';
import { insertReceipt } from '../store/receipts.ts';
import type { Services } from './container.ts';
import type { Principal } from './api-keys.ts';
import { storeResult, type IdempotencyContext } from './idempotency.ts';
import type { RetrievedSource } from './retrieval.ts';

/** Ledger balance, and what answers still in flight have reserved of it. */
export async function creditsOf(db: Queryable, accountId: string): Promise<{ balance: bigint; held: bigint }> {
  return { balance: await balanceOf(db, accountId), held: await heldAmount(db, accountId) };
}

/** Ledger balance minus what answers still in flight have reserved. */
export async function availableBalance(db: Queryable, accountId: string): Promise<bigint> {
  const { balance, held } = await creditsOf(db, accountId);
  return balance - held;
}

/** Refuses a charge of `required` the account cannot cover (`required` null: refuses an empty account). */
export async function assertCovered(db: Queryable, accountId: string, required: bigint | null): Promise<bigint> {
  const { balance, held } = await creditsOf(db, accountId);
  const available = balance - held;
  if (required === null ? available <= 0n : available < required) throw new InsufficientCredits(balance, held, required);
  return available;
}

/** Cheap early refusal before any work is done for an account with nothing left. */
export async function assertCanPay(services: Services, principal: Principal): Promise<void> {
  await assertCovered(services.db, principal.accountId, null);
}

/** What a paid retrieval produced: enough to render the response again on a replay. */
export interface RetrievalResult {
  requestId: string;
  sources: RetrievedSource[];
  charge: { total: bigint; dataShare: bigint; protocolFee: bigint };
  balanceAfter: bigint;
  attribution: ReturnType<typeof attributionSummary>;
}

/**
 * Charge the consumer and credit contributors and the protocol as ONE ledger
 * transaction, with its attribution receipt; the result is stored under the
 * Idempotency-Key in the same database transaction, so a retry finds all or nothing.
 */
export async function chargeRetrieval(
  services: Services,
  principal: Principal,
  params: { requestId: string; sources: RetrievedSource[]; idempotency: IdempotencyContext | undefined },
): Promise<RetrievalResult> {
  const { requestId, sources } = params;
  const { attribution, weightsPpm, charge } = settleRetrieval({
    consumerAccountId: principal.accountId,
    protocolAccountId: PROTOCOL_ACCOUNT_ID,
    feeBps: services.config.protocolFeeBps,
    sources,
  });
  const receipt = buildReceipt({
    id: newId('receipt'), requestId, kind: 'retrieve', createdAt: new Date(), attribution, weightsPpm,
    credits: charge.sources.map((s) => s.credited), charged: charge.total, dataFee: charge.dataShare, protocolFee: charge.protocolFee,
    sources,
  });
  return services.db.transaction(async (tx: Queryable) => {
    await lockAccount(tx, principal.accountId);
    const available = await assertCovered(tx, principal.accountId, charge.total);
    if (charge.entries.length > 0)
      await postTransaction(tx, { id: newId('transaction'), kind: 'retrieve', requestId, keyId: principal.keyId, entries: charge.entries });
    await insertReceipt(tx, receipt, principal.accountId);
    const result: RetrievalResult = {
      requestId, sources,
      charge: { total: charge.total, dataShare: charge.dataShare, protocolFee: charge.protocolFee },
      balanceAfter: available - charge.total,
      attribution: attributionSummary(receipt),
    };
    await storeResult(tx, principal, params.idempotency, result);
    return result;
  });
}
