import { HTTPFacilitatorClient } from '@x402/core/server';
import type { BatchSettlementEvmScheme } from '@x402/evm/batch-settlement/server';
import { getAddress } from 'viem';
import { newId } from '../ids.ts';
import { X402_VOUCHERS_ACCOUNT_ID, finishChannelCharge, insertChannelCharge } from '../store/x402-channels.ts';
import type { Principal } from './api-keys.ts';
import type { Services } from './container.ts';
import { repeatEvery } from './repeat.ts';
import { creditPayer, payerAccount, reverseCredit, x402GatewayOf } from './x402-payments.ts';

// x402 `batch-settlement` (issue 20): an agent deposits once into x402's channel contract, then pays
// each call with a voucher: a signature over the cumulative amount it owes the treasury. No gas per
// call: the voucher is verified (by @x402/evm's server scheme, against the channel kept in the
// database, and the facilitator where the channel's on-chain state must be read) before any work,
// and the call's increment is credited to the payer wallet's account from `acct_x402_vouchers` — a
// receivable, since no token has moved yet. A periodic pass (startChannelClaims) submits one
// on-chain claim for every channel's vouchers and sweeps the claimed money to the treasury; the
// channel storage records each claimed rise against the receivable as it lands.

export interface AcceptedVoucher {
  chargeId: string;
  amount: bigint;
  requestId: string;
  principal: Principal;
}

export interface VoucherFacts {
  payer: string;
  channelId: string;
  /** the voucher's cumulative amount: what the channel owes after this call */
  cumulative: bigint;
  /** this call's increment (the price in the requirements) */
  amount: bigint;
  route: string;
  requestId: string;
}

class ReplayedVoucher extends Error {}

/** Credits a verified voucher's increment to the payer wallet's account; null: this voucher already paid. */
export async function acceptVoucher(services: Services, facts: VoucherFacts): Promise<AcceptedVoucher | null> {
  const wallet = getAddress(facts.payer);
  const chargeId = newId('payment');
  try {
    return await services.db.transaction(async (tx) => {
      const payer = await payerAccount(tx, wallet);
      const creditTransactionId = await creditPayer(tx, payer, facts.amount, X402_VOUCHERS_ACCOUNT_ID);
      const fresh = await insertChannelCharge(tx, {
        id: chargeId,
        channelId: facts.channelId,
        payer: wallet,
        cumulative: facts.cumulative,
        amount: facts.amount,
        route: facts.route,
        requestId: facts.requestId,
        creditTransactionId,
      });
      if (!fresh) throw new ReplayedVoucher(); // the whole credit rolls back
      return {
        chargeId,
        amount: facts.amount,
        requestId: facts.requestId,
        principal: { accountId: payer.accountId, keyId: payer.keyId, role: 'consumer', livemode: true },
      };
    });
  } catch (err) {
    if (err instanceof ReplayedVoucher) return null;
    throw err;
  }
}

/** The call failed (or the voucher could not be committed): the credit is reversed; the voucher is never claimed. */
export async function refundVoucher(services: Services, v: AcceptedVoucher, error: string): Promise<void> {
  await services.db.transaction(async (tx) => {
    const refundTransactionId = await reverseCredit(tx, v.principal, v.amount, X402_VOUCHERS_ACCOUNT_ID);
    await finishChannelCharge(tx, v.chargeId, { status: 'refused', refundTransactionId, error });
  });
}

/** The voucher is committed to its channel: what the next claim takes. */
export async function voucherCharged(services: Services, v: AcceptedVoucher): Promise<void> {
  await finishChannelCharge(services.db, v.chargeId, { status: 'charged' });
}

export interface ClaimPassOutcome {
  /** claim transactions sent (each takes many vouchers) */
  claims: { vouchers: number; transaction: string }[];
  /** the sweep of claimed money to the treasury, if any was claimed */
  settleTransaction: string | null;
}

/**
 * One claim pass: every channel charged beyond what the chain has claimed is claimed (one
 * transaction for up to 100 channels), then the claimed money is moved to the treasury. The
 * channel storage records each claimed rise in the ledger as the manager updates it.
 */
export async function claimVouchers(services: Pick<Services, 'config' | 'chain' | 'db'>): Promise<ClaimPassOutcome> {
  const gateway = x402GatewayOf(services);
  const url = services.config.x402.facilitatorUrl;
  if (!gateway?.batchSettlement || !url) return { claims: [], settleTransaction: null };
  return claimChannels(gateway.batchSettlement, {
    facilitatorUrl: url,
    network: gateway.network,
    token: gateway.asset,
  });
}

/** claimVouchers for a given server scheme (its storage names the channels) and facilitator. */
export async function claimChannels(
  scheme: BatchSettlementEvmScheme,
  p: { facilitatorUrl: string; network: `eip155:${number}`; token: `0x${string}` },
): Promise<ClaimPassOutcome> {
  const manager = scheme.createChannelManager(new HTTPFacilitatorClient({ url: p.facilitatorUrl }), p.network, p.token);
  const { claims, settle } = await manager.claimAndSettle({ maxClaimsPerBatch: 100 });
  return { claims, settleTransaction: settle?.transaction || null };
}

/** At start, then every `intervalSeconds` (0: only at start); errors are logged and retried next time. */
export function startChannelClaims(services: Services, intervalSeconds: number): { stop(): Promise<void> } {
  return repeatEvery(intervalSeconds, () =>
    claimVouchers(services)
      .then((r) => {
        if (r.claims.length > 0)
          services.log.info('x402: batch-settlement vouchers claimed on chain', {
            transactions: r.claims.map((c) => c.transaction),
            vouchers: r.claims.reduce((n, c) => n + c.vouchers, 0),
            settle: r.settleTransaction,
          });
      })
      .catch((err: Error) =>
        services.log.warn('x402: batch-settlement claim failed; retrying later', {
          error: err.message.split('\n')[0],
        }),
      ),
  );
}
