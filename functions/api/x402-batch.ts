import { encodePaymentResponseHeader } from '@x402/core/http';
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types';
import type { Context, Next } from 'hono';
import type { X402Gateway } from '../../shared/payments/x402.ts';
import { acceptVoucher, refundVoucher, voucherCharged } from '../../shared/services/x402-channels.ts';
import type { AppEnv } from './env.ts';

// The `batch-settlement` leg of the x402 middleware (x402.ts), after the voucher was verified:
// the call's increment is credited to the payer wallet's account, the call runs as that account,
// and only if it succeeded is the voucher committed to the channel (no chain transaction: a
// periodic claim takes many vouchers at once; a first payment's deposit is sent by the facilitator
// here). A failed call reverses the credit and frees the channel for the payer's next voucher.

interface BatchVoucher {
  type?: string;
  voucher?: { channelId?: string; maxClaimableAmount?: string };
}

export async function batchSettlementCall(
  c: Context<AppEnv>,
  next: Next,
  gateway: X402Gateway,
  payload: PaymentPayload,
  matched: PaymentRequirements,
  payer: `0x${string}`,
  refuse: (message: string) => Promise<Response>,
): Promise<Response | undefined> {
  const services = c.get('services');
  const raw = payload.payload as BatchVoucher;
  const channelId = raw.voucher?.channelId;
  const cumulative = raw.voucher?.maxClaimableAmount;
  if ((raw.type !== 'voucher' && raw.type !== 'deposit') || !channelId || !cumulative || !/^\d+$/.test(cumulative)) {
    await gateway.cancel(payload, matched);
    return refuse('a batch-settlement payment here is a deposit or a voucher (refunds are not offered)');
  }
  const accepted = await acceptVoucher(services, {
    payer,
    channelId,
    cumulative: BigInt(cumulative),
    amount: BigInt(matched.amount),
    route: c.req.path,
    requestId: c.get('requestId'),
  }).catch(async (err: unknown) => {
    await gateway.cancel(payload, matched);
    throw err;
  });
  if (!accepted) {
    await gateway.cancel(payload, matched);
    return refuse('this voucher was already used');
  }
  c.set('principal', accepted.principal);
  await next();

  if (c.res.status >= 400) {
    await gateway.cancel(payload, matched);
    await refundVoucher(services, accepted, `the call failed with ${c.res.status}`);
    return;
  }
  let response: Awaited<ReturnType<X402Gateway['settle']>>;
  try {
    response = await gateway.settle(payload, matched);
  } catch (err) {
    response = {
      success: false,
      errorReason: (err as Error).message.split('\n')[0]!,
      transaction: '',
      network: matched.network,
    };
  }
  if (!response.success) {
    // the voucher could not be committed (the deposit failed on chain): nothing will be claimed for
    // it, so its credit is reversed; the call stays charged, the wallet's account owing its cost
    services.log.error('x402 batch-settlement: the voucher could not be committed after a successful call', {
      requestId: c.get('requestId'),
      chargeId: accepted.chargeId,
      error: response.errorReason,
    });
    await gateway.cancel(payload, matched);
    await refundVoucher(services, accepted, response.errorReason ?? 'settle failed');
    return;
  }
  await voucherCharged(services, accepted);
  c.res.headers.set('PAYMENT-RESPONSE', encodePaymentResponseHeader(response));
}

/**
 * A batch-settlement voucher not built on the channel's charged total (a client restarted, or
 * out of step): the 402 names the reason code and carries the channel's state, so @x402/fetch's
 * client resynchronises and pays again (a replayed voucher gets the same answer, and pays nothing).
 */
export function correctiveError(
  reason: string,
  payload: PaymentPayload,
): { error: string; payload: PaymentPayload } | undefined {
  const code = reason.split(':')[0]!;
  return CORRECTABLE.has(code) ? { error: code, payload } : undefined;
}

const CORRECTABLE = new Set([
  'invalid_batch_settlement_evm_cumulative_amount_mismatch',
  'invalid_batch_settlement_evm_cumulative_below_claimed',
]);
