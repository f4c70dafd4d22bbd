import { createHash } from 'node:crypto';
import type { Queryable } from '../db/index.ts';
import { ApiError } from '../errors.ts';
import { findIdempotent, storeIdempotent } from '../store/idempotency.ts';
import { balanceOf, lockAccount, postTransaction } from '../store/ledger.ts';
import { heldAmount } from '../store/answers.ts';
import { PROTOCOL_ACCOUNT_ID } from '../store/accounts.ts';
import { newId } from '../ids.ts';
import { priceRetrieval, type RetrievalCharge } from '../core/pricing.ts';
import { attribute } from '../core/attribution.ts';
import { toPpmWeights } from '../core/money.ts';
import { buildReceipt, type Receipt } from '../core/receipts.ts';
import { insertReceipt } from '../store/receipts.ts';
import type { Services } from './container.ts';
import type { Principal } from './api-keys.ts';
import type { RetrievedSource } from './retrieval.ts';

export interface IdempotencyContext {
  key: string;
  requestHash: string;
}

export interface Rendered {
  status: number;
  body: unknown;
}

export function hashRequest(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n${JSON.stringify(body)}`).digest('hex');
}

/** A stored first response for this Idempotency-Key, or null. A key reused for another request is refused. */
export async function replay(services: Services, principal: Principal, idem: IdempotencyContext | undefined): Promise<Rendered | null> {
  if (!idem) return null;
  const stored = await findIdempotent(services.db, principal.accountId, idem.key);
  if (!stored) return null;
  if (stored.requestHash !== idem.requestHash)
    throw new ApiError('UNPROCESSABLE', 'this Idempotency-Key was already used with a different request');
  return { status: stored.status, body: stored.body };
}

/** Ledger balance minus what answers still in flight have reserved. */
export async function availableBalance(db: Queryable, accountId: string): Promise<bigint> {
  return (await balanceOf(db, accountId)) - (await heldAmount(db, accountId));
}

/** Cheap early refusal before any work is done for an account with nothing left. */
export async function assertCanPay(services: Services, principal: Principal): Promise<void> {
  const balance = await availableBalance(services.db, principal.accountId);
  if (balance <= 0n) throw paymentRequired(balance, null);
}

export function paymentRequired(balance: bigint, required: bigint | null): ApiError {
  return new ApiError(
    'PAYMENT_REQUIRED',
    required === null
      ? 'prepaid credits are exhausted: add credits to continue'
      : `this call costs ${required} micro-USD but the balance is ${balance}: add credits to continue`,
    { balance: balance.toString(), ...(required === null ? {} : { required: required.toString() }) },
  );
}

export interface BilledRetrieval {
  charge: RetrievalCharge;
  receipt: Receipt;
  balanceAfter: bigint;
}

/**
 * Charge the consumer and credit contributors and the protocol as ONE ledger
 * transaction, with its attribution receipt; the rendered response is stored under the
 * Idempotency-Key in the same database transaction, so a retry finds all or nothing.
 */
export async function chargeAndRender(
  services: Services,
  principal: Principal,
  params: {
    requestId: string;
    sources: readonly RetrievedSource[];
    idempotency: IdempotencyContext | undefined;
    render: (billed: BilledRetrieval) => Rendered;
  },
): Promise<Rendered> {
  const attribution = attribute({ retrievalScores: params.sources.map((s) => s.score), duplicateOf: params.sources.map((s) => s.duplicateOf) });
  const weightsPpm = toPpmWeights(attribution.weights);
  const charge = priceRetrieval({
    consumerAccountId: principal.accountId,
    protocolAccountId: PROTOCOL_ACCOUNT_ID,
    feeBps: services.config.protocolFeeBps,
    sources: params.sources.map((s, i) => ({ ...s, weightPpm: weightsPpm[i]! })),
  });
  const receipt = buildReceipt({
    id: newId('receipt'), requestId: params.requestId, kind: 'retrieve', createdAt: new Date(), attribution, weightsPpm,
    credits: charge.sources.map((s) => s.credited), charged: charge.total, dataFee: charge.dataShare, protocolFee: charge.protocolFee,
    sources: params.sources,
  });
  try {
    return await services.db.transaction(async (tx: Queryable) => {
      await lockAccount(tx, principal.accountId);
      const balance = await availableBalance(tx, principal.accountId);
      if (balance < charge.total) throw paymentRequired(balance, charge.total);
      if (charge.entries.length > 0)
        await postTransaction(tx, { id: newId('transaction'), kind: 'retrieve', requestId: params.requestId, keyId: principal.keyId, entries: charge.entries });
      await insertReceipt(tx, receipt, principal.accountId);
      const rendered = params.render({ charge, receipt, balanceAfter: balance - charge.total });
      if (params.idempotency)
        await storeIdempotent(tx, principal.accountId, params.idempotency.key, { requestHash: params.idempotency.requestHash, ...rendered });
      return rendered;
    });
  } catch (err) {
    // Lost a race with a concurrent retry carrying the same key: answer with the winner's response.
    if (params.idempotency && !(err instanceof ApiError)) {
      const winner = await replay(services, principal, params.idempotency);
      if (winner) return winner;
    }
    throw err;
  }
}
