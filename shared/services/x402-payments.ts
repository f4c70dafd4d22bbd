import { getAddress } from 'viem';
import type { Queryable } from '../db/index.ts';
import { newId } from '../ids.ts';
import { createX402Gateway, type X402Gateway } from '../payments/x402.ts';
import { insertAccount } from '../store/accounts.ts';
import { DbChannelStorage } from '../store/x402-channels.ts';
import { postTransaction } from '../store/ledger.ts';
import {
  X402_ACCOUNT_ID,
  chargedForRequest,
  findPayer,
  finishPayment,
  insertPayer,
  insertPayment,
  lockPayerWallet,
  lowerPaymentAmount,
  type X402Payer,
} from '../store/x402.ts';
import { lockPendingPayment } from '../store/x402-pending.ts';
import { issueKey, type Principal } from './api-keys.ts';
import type { Services } from './container.ts';

// Pay per call with x402 (issue 20). A verified payment is credited to the paying wallet's own
// consumer account before the call runs (the call then charges that account exactly as a key's
// call is charged: the same services, receipts and contributor credits); it is settled on chain
// only after the call succeeded, and a failed call's credit is reversed, so nothing moves. With
// `upto` the credit is the signed maximum; once the call is done the unused part is reversed and
// only the call's cost is settled, so the ledger's inflow is what moves on chain.

const gateways = new WeakMap<object, X402Gateway | null>();

/** The process's x402 gateway, or null where x402 is not configured (no facilitator, chain id or token). */
export function x402GatewayOf(services: Pick<Services, 'config' | 'chain' | 'db'>): X402Gateway | null {
  if (gateways.has(services)) return gateways.get(services)!;
  const { x402, chain } = services.config;
  const payTo = x402.payTo ?? services.chain?.settler;
  const gateway =
    x402.facilitatorUrl && x402.chainId && chain.token && payTo
      ? createX402Gateway({
          facilitatorUrl: x402.facilitatorUrl,
          chainId: x402.chainId,
          asset: chain.token,
          assetName: x402.assetName,
          assetVersion: x402.assetVersion,
          payTo,
          channelStorage: new DbChannelStorage(services.db),
        })
      : null;
  gateways.set(services, gateway);
  return gateway;
}

export interface AcceptedPayment {
  paymentId: string;
  /** credited: for `upto`, the authorised maximum */
  amount: bigint;
  scheme: 'exact' | 'upto';
  requestId: string;
  /** the payer wallet's account, as the call's caller */
  principal: Principal;
}

export interface PaymentFacts {
  payer: string;
  nonce: string;
  network: string;
  asset: string;
  payTo: string;
  /** the amount signed: `exact` moves all of it, `upto` at most this */
  amount: bigint;
  scheme: 'exact' | 'upto';
  route: string;
  requestId: string;
  /** the signed payload and the requirements it met, kept so a failed settle can be retried */
  payload: unknown;
  requirements: unknown;
}

class ReplayedPayment extends Error {}

/** Credits a verified payment to its wallet's account (made on its first payment); null: a replay. */
export async function acceptPayment(services: Services, facts: PaymentFacts): Promise<AcceptedPayment | null> {
  const wallet = getAddress(facts.payer);
  const paymentId = newId('payment');
  try {
    return await services.db.transaction(async (tx) => {
      const payer = await payerAccount(tx, wallet);
      const creditTransactionId = await creditPayer(tx, payer, facts.amount);
      // the database refuses a second (payer, nonce): the whole credit rolls back
      if (!(await insertPayment(tx, { ...facts, payer: wallet, id: paymentId, creditTransactionId })))
        throw new ReplayedPayment();
      return {
        paymentId,
        amount: facts.amount,
        scheme: facts.scheme,
        requestId: facts.requestId,
        principal: { accountId: payer.accountId, keyId: payer.keyId, role: 'consumer', livemode: true },
      };
    });
  } catch (err) {
    if (err instanceof ReplayedPayment) return null;
    throw err;
  }
}

/** The wallet's consumer account and its (never shown) key; concurrent first payments make one. */
export async function payerAccount(tx: Queryable, wallet: string): Promise<X402Payer> {
  await lockPayerWallet(tx, wallet);
  const found = await findPayer(tx, wallet);
  if (found) return found;
  const account = await insertAccount(tx, { kind: 'consumer', name: `x402 ${wallet}`, wallet: null });
  const { record } = await issueKey(tx, { accountId: account.id, role: 'consumer', name: 'x402 payments' });
  const payer = { wallet, accountId: account.id, keyId: record.id };
  await insertPayer(tx, payer);
  return payer;
}

/**
 * Credits `amount` to the wallet's account from where the money comes: the chain (`acct_x402`, a
 * payment) or the vouchers receivable (`batch-settlement`). Returns the ledger transaction's id.
 */
export async function creditPayer(
  tx: Queryable,
  payer: { accountId: string; keyId: string },
  amount: bigint,
  from = X402_ACCOUNT_ID,
): Promise<string> {
  return postPayerTransfer(tx, payer, 'credit_grant', amount, from);
}

/** Reverses `amount` of a credit on the wallet's account (all of it, or an `upto` call's unused part). */
export async function reverseCredit(
  tx: Queryable,
  payer: { accountId: string; keyId: string },
  amount: bigint,
  to = X402_ACCOUNT_ID,
): Promise<string> {
  return postPayerTransfer(tx, payer, 'x402_refund', -amount, to);
}

/** One balanced transaction: `amount` into the payer's account, its negative from `counterpart`. */
async function postPayerTransfer(
  tx: Queryable,
  payer: { accountId: string; keyId: string },
  kind: 'credit_grant' | 'x402_refund',
  amount: bigint,
  counterpart: string,
): Promise<string> {
  const id = newId('transaction');
  await postTransaction(tx, {
    id,
    kind,
    requestId: null,
    keyId: payer.keyId,
    livemode: true,
    entries: [
      { accountId: counterpart, amount: -amount },
      { accountId: payer.accountId, amount },
    ],
  });
  return id;
}

class NotPending extends Error {}

/**
 * The call failed: reverse the credit; the payment is never settled, so nothing moves on chain.
 * Only while it is still pending (the sweep of a crashed process's payments may have finished it).
 */
export async function refundPayment(services: Services, payment: AcceptedPayment, error: string): Promise<void> {
  await services.db
    .transaction(async (tx) => {
      if (!(await lockPendingPayment(tx, payment.paymentId))) throw new NotPending();
      const refundTransactionId = await reverseCredit(tx, payment.principal, payment.amount);
      await finishPayment(tx, payment.paymentId, { status: 'refused', refundTransactionId, error });
    })
    .catch((err) => {
      if (!(err instanceof NotPending)) throw err;
    });
}

/**
 * What to settle once the call succeeded: `exact`, the whole payment; `upto`, what the call was
 * charged (at most the authorised maximum), after reversing the unused rest of the credit in the
 * ledger. 0: the call cost nothing — the caller refunds the whole credit and settles nothing.
 * null: the payment is no longer pending (the sweep took it: a call that outlived
 * X402_PENDING_STALE_SECONDS) — the settle retry pass owns it now.
 */
export async function amountToSettle(services: Services, payment: AcceptedPayment): Promise<bigint | null> {
  return services.db
    .transaction(async (tx) => {
      if (!(await lockPendingPayment(tx, payment.paymentId))) throw new NotPending();
      if (payment.scheme === 'exact') return payment.amount;
      const charged = await chargedForRequest(tx, payment.principal.accountId, payment.requestId);
      const cost = charged < payment.amount ? charged : payment.amount;
      if (cost <= 0n || cost === payment.amount) return cost;
      const releaseTransactionId = await reverseCredit(tx, payment.principal, payment.amount - cost);
      await lowerPaymentAmount(tx, payment.paymentId, { amount: cost, releaseTransactionId });
      return cost;
    })
    .catch((err) => {
      if (err instanceof NotPending) return null;
      throw err;
    });
}

export async function paymentSettled(services: Services, payment: AcceptedPayment, txHash: string): Promise<void> {
  await finishPayment(services.db, payment.paymentId, { status: 'settled', txHash });
}

/** The call succeeded but the facilitator could not settle: kept as a receivable (check:ledger lists it). */
export async function paymentUnsettled(services: Services, payment: AcceptedPayment, error: string): Promise<void> {
  await finishPayment(services.db, payment.paymentId, { status: 'unsettled', error });
}
