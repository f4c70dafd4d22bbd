import type { Queryable } from '../db/index.ts';
import { InsufficientCredits } from '../errors.ts';
import { chargeCall, creditsOf as storedCredits } from '../store/ledger.ts';
import { PROTOCOL_ACCOUNT_ID } from '../store/accounts.ts';
import { newId } from '../ids.ts';
import { retrievalCharge } from '../core/retrieval-charge.ts';
import { attributionSummary, buildReceipt } from '../core/receipts.ts';
import { canonicalReceipt, hashCanonical } from '../core/receipts.ts';
import type { Services } from './container.ts';
import type { Payer, Principal } from './api-keys.ts';
import { priceUses } from './rate-cards.ts';
import { scopedKey, type IdempotencyContext } from './idempotency.ts';
import type { RetrievedSource } from './retrieval.ts';

// Every figure here is in the payer's mode: a cp_test_ key's calls see and spend test credits only.

/** Ledger balance, and what answers still in flight have reserved of it: one row (running totals). */
export async function creditsOf(db: Queryable, payer: Payer): Promise<{ balance: bigint; held: bigint }> {
  return storedCredits(db, payer.accountId, payer.livemode);
}

/** Ledger balance minus what answers still in flight have reserved. */
export async function availableBalance(db: Queryable, payer: Payer): Promise<bigint> {
  const { balance, held } = await creditsOf(db, payer);
  return balance - held;
}

/** Refuses a charge of `required` the account cannot cover (`required` null: refuses an empty account). */
export async function assertCovered(db: Queryable, payer: Payer, required: bigint | null): Promise<bigint> {
  const { balance, held } = await creditsOf(db, payer);
  const available = balance - held;
  if (required === null ? available <= 0n : available < required)
    throw new InsufficientCredits(balance, held, required, payer.livemode);
  return available;
}

/**
 * Cheap early refusal before any work is done for an account with nothing left. Uses the credits
 * read with the key when the request was admitted (no round trip); the charge checks again under
 * the account lock.
 */
export async function assertCanPay(services: Services, principal: Principal): Promise<void> {
  const { balance, held } = principal.credits ?? (await creditsOf(services.db, principal));
  if (balance - held <= 0n) throw new InsufficientCredits(balance, held, null, principal.livemode);
}

/** What a paid retrieval produced: enough to render the response again on a replay. */
export interface RetrievalResult {
  requestId: string;
  sources: RetrievedSource[];
  charge: { total: bigint; dataShare: bigint; protocolFee: bigint };
  balanceAfter: bigint;
  /** false: charged to test credits (a cp_test_ key); results stored before test mode have none and were live */
  livemode?: boolean;
  attribution: ReturnType<typeof attributionSummary>;
}

/**
 * Charge the consumer and credit contributors and the protocol as ONE ledger
 * transaction, with its attribution receipt; the result is stored under the
 * Idempotency-Key in the same statement (store chargeCall), so a retry finds all or nothing.
 */
export async function chargeRetrieval(
  services: Services,
  principal: Principal,
  params: { requestId: string; sources: RetrievedSource[]; idempotency: IdempotencyContext | undefined },
): Promise<RetrievalResult> {
  const { requestId } = params;
  // Each returned source is one `retrieval` use, at the price of its datanet's card in force now.
  const sources = await priceUses(services.db, params.sources, 'retrieval', principal.livemode);
  const { attribution, weightsPpm, charge } = retrievalCharge({
    consumerAccountId: principal.accountId,
    protocolAccountId: PROTOCOL_ACCOUNT_ID,
    feeBps: services.config.protocolFeeBps,
    sources,
  });
  const receipt = buildReceipt({
    id: newId('receipt'),
    requestId,
    kind: 'retrieve',
    createdAt: new Date(),
    attribution,
    weightsPpm,
    credits: charge.sources.map((s) => s.credited),
    charged: charge.total,
    dataFee: charge.dataShare,
    protocolFee: charge.protocolFee,
    sources,
  });
  const canonical = canonicalReceipt(receipt);
  const result: RetrievalResult = {
    requestId,
    sources,
    charge: { total: charge.total, dataShare: charge.dataShare, protocolFee: charge.protocolFee },
    balanceAfter: 0n, // known under the account lock: charge_call writes it into the stored result too
    livemode: principal.livemode,
    attribution: attributionSummary(receipt),
  };
  const { idempotency } = params;
  const charged = await chargeCall(services.db, {
    payer: principal,
    required: charge.total,
    transaction: {
      id: newId('transaction'),
      kind: 'retrieve',
      requestId,
      keyId: principal.keyId,
      entries: charge.entries,
    },
    receipt: {
      id: receipt.id,
      kind: 'retrieve',
      canonical,
      hash: hashCanonical(canonical),
      createdAt: new Date(receipt.createdAt),
    },
    idempotency: idempotency
      ? {
          key: scopedKey(principal, idempotency.key),
          requestHash: idempotency.requestHash,
          result,
          balancePath: ['balanceAfter'],
        }
      : null,
  });
  if (!charged.ok) throw new InsufficientCredits(charged.balance, charged.held, charge.total, principal.livemode);
  return { ...result, balanceAfter: charged.balance - charged.held };
}
