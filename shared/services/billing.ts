import { createHash } from 'node:crypto';
import type { Queryable } from '../db/index.ts';
import { ApiError } from '../errors.ts';
import { findIdempotent, storeIdempotent } from '../store/idempotency.ts';
import { balanceOf, lockAccount, postTransaction } from '../store/ledger.ts';
import { heldAmount } from '../store/answers.ts';
import { PROTOCOL_ACCOUNT_ID } from '../store/accounts.ts';
import { newId } from '../ids.ts';
import { priceRetrieval, type RetrievalCharge } from '../core/pricing.ts';
import type { TransactionKind } from '../core/ledger.ts';
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

/**
 * Charge the consumer and credit contributors and the protocol as ONE ledger
 * transaction; the rendered response is stored under the Idempotency-Key in the
 * same database transaction, so a retry finds either both or neither.
 */
export async function chargeAndRender(
  services: Services,
  principal: Principal,
  params: {
    kind: TransactionKind;
    requestId: string;
    sources: readonly RetrievedSource[];
    idempotency: IdempotencyContext | undefined;
    render: (charge: RetrievalCharge, balanceAfter: bigint) => Rendered;
  },
): Promise<Rendered> {
  const charge = priceRetrieval({
    consumerAccountId: principal.accountId,
    protocolAccountId: PROTOCOL_ACCOUNT_ID,
    feeBps: services.config.protocolFeeBps,
    sources: params.sources,
  });
  try {
    return await services.db.transaction(async (tx: Queryable) => {
      await lockAccount(tx, principal.accountId);
      const balance = await availableBalance(tx, principal.accountId);
      if (balance < charge.total) throw paymentRequired(balance, charge.total);
      if (charge.entries.length > 0)
        await postTransaction(tx, { id: newId('transaction'), kind: params.kind, requestId: params.requestId, keyId: principal.keyId, entries: charge.entries });
      const rendered = params.render(charge, balance - charge.total);
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
