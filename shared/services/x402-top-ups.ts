import type { PaymentPayload, PaymentRequirements } from '@x402/core/types';
import { getAddress, type Hex } from 'viem';
import { Unavailable } from '../errors.ts';
import { newId } from '../ids.ts';
import type { X402Gateway } from '../payments/x402.ts';
import { creditsOf, postTransaction } from '../store/ledger.ts';
import { TOP_UPS_ACCOUNT_ID } from '../store/top-ups.ts';
import {
  findAccountX402TopUp,
  findX402TopUp,
  finishX402TopUp,
  insertCreditedTopUp,
  insertX402TopUp,
  lockPendingX402TopUp,
  stalePendingX402TopUps,
  x402TopUpById,
  type X402TopUp,
} from '../store/x402-top-ups.ts';
import type { Services } from './container.ts';
import { tokenInflowsOf } from './token-inflows.ts';
import { treasuryOf } from './top-ups.ts';

// Top-ups paid with x402 (issue 20 §3): a consumer signs an x402 `exact` payment of the amount
// to the treasury; citepay records it (pending, unique by payer + nonce), has the facilitator
// settle it, and only once the transfer is on chain credits the account — the top_ups row (via
// x402, naming the transfer's transaction and log) and the ledger credit in one database
// transaction, so a top-up is credited once or not at all. Credit follows money: nothing is
// credited before the transfer landed, so nothing can be spent that might not arrive. Presenting
// the same payment again returns the same top-up (idempotent). A process that ends between
// settle and credit leaves the row pending: the x402 pass (sweepStaleTopUps) reads the chain for
// the authorization and credits it, or settles it, or marks it failed.

export type TopUpDeps = Pick<Services, 'config' | 'db' | 'log' | 'chain'>;

export type X402TopUpOutcome =
  | { kind: 'credited'; topUp: X402TopUp; balance: bigint; replayed: boolean }
  | { kind: 'pending'; topUp: X402TopUp }
  | { kind: 'refused'; reason: string };

export interface X402TopUpRequest {
  accountId: string;
  payer: string;
  /** the EIP-3009 authorization's nonce */
  nonce: Hex;
  amount: bigint;
  payload: PaymentPayload;
  requirements: PaymentRequirements;
}

export async function topUpWithX402(
  services: TopUpDeps,
  gateway: X402Gateway,
  req: X402TopUpRequest,
): Promise<X402TopUpOutcome> {
  const payer = getAddress(req.payer);
  const id = newId('topUp');
  if (!(await insertX402TopUp(services.db, { ...req, id, payer }))) {
    // the same payment again: the same top-up (a client retrying a lost response), never a second credit
    const seen = await findX402TopUp(services.db, payer, req.nonce);
    if (!seen || seen.accountId !== req.accountId) return { kind: 'refused', reason: 'this payment was already used' };
    return outcomeOf(services, seen, true);
  }
  let settled: Awaited<ReturnType<X402Gateway['settle']>>;
  try {
    settled = await gateway.settle(req.payload, req.requirements);
  } catch {
    // unknown whether it landed: left pending for the x402 pass, which reads the chain first
    throw new Unavailable(
      'the x402 facilitator did not answer the settle; the top-up is credited once the payment is on chain',
      'facilitator',
      5,
    );
  }
  if (!settled.success || !settled.transaction) {
    const reason = settled.errorReason ?? 'settle failed';
    await finishX402TopUp(services.db, id, { status: 'failed', error: reason });
    return { kind: 'refused', reason: `the facilitator could not settle the payment: ${reason}` };
  }
  await creditLanded(services, (await x402TopUpById(services.db, id))!, settled.transaction as Hex);
  return outcomeOf(services, (await x402TopUpById(services.db, id))!, false);
}

/**
 * The account's top-up of this payment, if it was presented before: its outcome again (checked
 * before the facilitator, which refuses an authorization already used on chain). null: new.
 */
export async function earlierTopUp(
  services: TopUpDeps,
  accountId: string,
  nonce: string,
): Promise<X402TopUpOutcome | null> {
  const seen = await findAccountX402TopUp(services.db, accountId, nonce);
  return seen ? outcomeOf(services, seen, true) : null;
}

async function outcomeOf(services: TopUpDeps, t: X402TopUp, replayed: boolean): Promise<X402TopUpOutcome> {
  if (t.status === 'failed') return { kind: 'refused', reason: t.error ?? 'the payment could not be settled' };
  if (t.status === 'pending') return { kind: 'pending', topUp: t };
  const { balance, held } = await creditsOf(services.db, t.accountId, true);
  return { kind: 'credited', topUp: t, balance: balance - held, replayed };
}

class AlreadyFinished extends Error {}

/**
 * The payment's transfer is on chain in `txHash`: record it as a credited top-up and credit the
 * account, in one database transaction, once (false: another process recorded it first).
 */
async function creditLanded(services: TopUpDeps, t: X402TopUp, txHash: Hex): Promise<boolean> {
  const inflows = tokenInflowsOf(services);
  const treasury = treasuryOf(services);
  if (!inflows || !treasury)
    throw new Unavailable('top-ups need the chain (CHAIN_RPC_URL and TOKEN_ADDRESS)', 'chain', 30);
  const transfer = (await inflows.transfersIn(txHash)).find(
    (x) => x.from === getAddress(t.payer) && x.to === treasury && x.value === t.amount,
  );
  if (!transfer) throw new Error(`x402 top-up ${t.id}: no Transfer of ${t.amount} from ${t.payer} in ${txHash}`);
  try {
    await services.db.transaction(async (tx) => {
      // the live request and the sweep may both get here: the row lock lets one credit it
      if (!(await lockPendingX402TopUp(tx, t.id))) throw new AlreadyFinished();
      const creditTransactionId = newId('transaction');
      await postTransaction(tx, {
        id: creditTransactionId,
        // a credit bought like a transfer top-up (usage and the dashboard count it as credits bought)
        kind: 'credit_grant',
        requestId: null,
        keyId: null,
        livemode: true,
        entries: [
          { accountId: TOP_UPS_ACCOUNT_ID, amount: -t.amount },
          { accountId: t.accountId, amount: t.amount },
        ],
      });
      const topUpId = newId('topUp');
      await insertCreditedTopUp(tx, {
        id: topUpId,
        accountId: t.accountId,
        wallet: transfer.from,
        token: inflows.token,
        treasury,
        txHash: transfer.txHash,
        logIndex: transfer.logIndex,
        blockNumber: transfer.blockNumber,
        amount: t.amount,
        creditTransactionId,
      });
      if (!(await finishX402TopUp(tx, t.id, { status: 'credited', topUpId }))) throw new AlreadyFinished();
    });
    return true;
  } catch (err) {
    if (err instanceof AlreadyFinished) return false;
    throw err;
  }
}

export interface TopUpSweep {
  credited: string[];
  failed: string[];
}

/**
 * x402 top-ups a process left pending (X402_PENDING_STALE_SECONDS): if the authorization was
 * used on chain, credit that transfer; else settle it now and credit it; a settle refused (an
 * expired or unfunded authorization) fails it — nothing moved, nothing credited.
 */
export async function sweepStaleTopUps(services: TopUpDeps, gateway: X402Gateway): Promise<TopUpSweep> {
  const out: TopUpSweep = { credited: [], failed: [] };
  const inflows = tokenInflowsOf(services);
  if (!inflows) return out;
  for (const t of await stalePendingX402TopUps(services.db, services.config.x402.pendingStaleSeconds, 50)) {
    let txHash = await inflows.authorizationUsedBy(getAddress(t.payer), t.nonce as Hex);
    if (!txHash) {
      const res = await gateway
        .settle(t.payload as PaymentPayload, t.requirements as PaymentRequirements)
        .catch(() => null); // unreachable: next pass
      if (!res) continue;
      if (!res.success || !res.transaction) {
        if (await finishX402TopUp(services.db, t.id, { status: 'failed', error: res.errorReason ?? 'settle failed' }))
          out.failed.push(t.id);
        continue;
      }
      txHash = res.transaction as Hex;
    }
    if (await creditLanded(services, t, txHash)) out.credited.push(t.id);
  }
  return out;
}
