import type { PaymentPayload, PaymentRequirements } from '@x402/core/types';
import {
  decodePaymentSignatureHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
} from '@x402/core/http';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { X402Gateway } from '../../shared/payments/x402.ts';
import {
  acceptPayment,
  amountToSettle,
  paymentSettled,
  paymentUnsettled,
  refundPayment,
  x402GatewayOf,
} from '../../shared/services/x402-payments.ts';
import { quoteMaxCost } from '../../shared/services/x402-quote.ts';
import type { AppEnv } from './env.ts';
import { batchSettlementCall, correctiveError } from './x402-batch.ts';
import { withReleasedBalance } from './views/x402-balance.ts';
import { errorJson } from './errors.ts';

/** The paid routes that take an x402 payment in place of an API key. */
export const X402_PATHS = ['/v1/retrieve', '/v1/answers', '/v1/chat/completions'] as const;

const presentsApiKey = (c: Context<AppEnv>) => Boolean(c.req.header('authorization') || c.req.header('x-api-key'));

/**
 * x402 v2 pay-per-call on a paid route, for a caller without an API key: no PAYMENT-SIGNATURE →
 * 402 with PAYMENT-REQUIRED (the most the call can cost, in the stablecoin, to the treasury;
 * `upto` first, then `exact`); with one → verified by the facilitator before any work, credited
 * to the payer wallet's account, the call runs as that account (requireRole takes the principal
 * set here), then settled on chain only if the call succeeded (PAYMENT-RESPONSE; `upto` takes
 * what the call cost), else the credit is reversed.
 */
export const x402Payment = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const services = c.get('services');
    const gateway = c.req.method === 'POST' && !presentsApiKey(c) ? x402GatewayOf(services) : null;
    if (!gateway) return next();
    const body: unknown = await c.req.json().catch(() => undefined);
    // malformed JSON: the route's own 400 (after requireRole's 401: no key, no payment)
    if (!body || typeof body !== 'object' || Array.isArray(body)) return next();
    const amount = await quoteMaxCost(services, c.req.path, body as Record<string, unknown>);
    const requirements = await gateway.requirements(amount > 0n ? amount : 1n);

    const paid = await readPayment(c, gateway, requirements, {
      unpaid: `this call costs at most ${amount} micro-USD: pay it with x402 (PAYMENT-REQUIRED) or send an API key`,
      mismatch: "the payment does not match this call's requirements (scheme, network, asset, amount or payTo)",
    });
    if (paid instanceof Response) return paid;
    const { payload, matched } = paid;
    const verdict = await gateway.verify(payload, matched); // facilitator unreachable: 503, nothing done
    if (!verdict.ok)
      return paymentRequired(
        c,
        gateway,
        requirements,
        `the facilitator refused the payment: ${verdict.reason}`,
        correctiveError(verdict.reason, payload),
      );
    if (matched.scheme === 'batch-settlement')
      return batchSettlementCall(c, next, gateway, payload, matched, verdict.payer, (message) =>
        paymentRequired(c, gateway, requirements, message),
      );

    const payment = await acceptPayment(services, {
      payer: verdict.payer,
      nonce: nonceOf(payload),
      network: matched.network,
      asset: matched.asset,
      payTo: matched.payTo,
      amount: BigInt(matched.amount),
      scheme: matched.scheme === 'upto' ? 'upto' : 'exact',
      route: c.req.path,
      requestId: c.get('requestId'),
      payload,
      requirements: matched,
    });
    if (!payment) return paymentRequired(c, gateway, requirements, 'this payment was already used');
    c.set('principal', payment.principal);
    await next();

    if (c.res.status >= 400) {
      await refundPayment(services, payment, `the call failed with ${c.res.status}`);
      return;
    }
    const toSettle = await amountToSettle(services, payment);
    if (toSettle === null) return; // swept meanwhile (a call longer than X402_PENDING_STALE_SECONDS): the retry pass settles it
    if (toSettle === 0n) {
      // an `upto` call that cost nothing: nothing to take (the proxy refuses a zero settle)
      await refundPayment(services, payment, 'the call cost nothing');
      return;
    }
    // `upto`: the response showed the balance with the unused credit still in it; it was released
    if (payment.scheme === 'upto' && toSettle < payment.amount) await showReleasedBalance(c, payment.amount - toSettle);
    const settled = await settle(gateway, payload, matched, toSettle);
    if (settled.ok) {
      await paymentSettled(services, payment, settled.response.transaction);
      c.res.headers.set('PAYMENT-RESPONSE', encodePaymentResponseHeader(settled.response));
    } else {
      services.log.error('x402 settlement failed after a successful call', {
        requestId: c.get('requestId'),
        paymentId: payment.paymentId,
        error: settled.error,
      });
      await paymentUnsettled(services, payment, settled.error);
    }
  });

/** Re-renders a JSON response with the balance after an `upto` release (views/x402-balance.ts). */
async function showReleasedBalance(c: Context<AppEnv>, released: bigint) {
  if (!c.res.headers.get('content-type')?.includes('application/json')) return;
  const body = withReleasedBalance(
    await c.res
      .clone()
      .json()
      .catch(() => null),
    released,
  );
  if (body === null) return;
  // Hono carries the old response's headers over (its setter); its length is the old body's
  c.res.headers.delete('content-length');
  c.res = new Response(JSON.stringify(body), { status: c.res.status });
}

async function settle(
  gateway: X402Gateway,
  payload: PaymentPayload,
  requirements: PaymentRequirements,
  amount: bigint,
) {
  try {
    const response = await gateway.settle(payload, requirements, amount);
    if (response.success) return { ok: true as const, response };
    return { ok: false as const, error: response.errorReason ?? 'settle failed' };
  } catch (err) {
    return { ok: false as const, error: err instanceof Error ? err.message.split('\n')[0]! : String(err) };
  }
}

/** EIP-3009's random nonce, or Permit2's (`upto`); for other payloads, the signature names the payment. */
export function nonceOf(payload: PaymentPayload): string {
  const p = payload.payload as {
    authorization?: { nonce?: string };
    permit2Authorization?: { nonce?: string };
    signature?: string;
  };
  const permit2 = p.permit2Authorization?.nonce;
  return (
    p.authorization?.nonce ??
    (permit2 ? `permit2:${permit2}` : undefined) ??
    p.signature ??
    JSON.stringify(payload.payload)
  );
}

/**
 * The caller's PAYMENT-SIGNATURE, decoded and matched to one of `requirements`; otherwise the 402
 * that says what to pay (`unpaid`: no header; `mismatch`: a payment for other terms).
 */
export async function readPayment(
  c: Context<AppEnv>,
  gateway: X402Gateway,
  requirements: PaymentRequirements[],
  messages: { unpaid: string; mismatch: string },
): Promise<{ payload: PaymentPayload; matched: PaymentRequirements } | Response> {
  const header = c.req.header('payment-signature');
  if (!header) return paymentRequired(c, gateway, requirements, messages.unpaid);
  let payload: PaymentPayload;
  try {
    payload = decodePaymentSignatureHeader(header);
  } catch {
    return paymentRequired(c, gateway, requirements, 'PAYMENT-SIGNATURE is not a base64 JSON x402 payment payload');
  }
  const matched = gateway.match(requirements, payload);
  return matched ? { payload, matched } : paymentRequired(c, gateway, requirements, messages.mismatch);
}

export async function paymentRequired(
  c: Context<AppEnv>,
  gateway: X402Gateway,
  requirements: PaymentRequirements[],
  message: string,
  corrective?: { error: string; payload: PaymentPayload },
) {
  const required = await gateway.paymentRequired(
    requirements,
    c.req.url,
    corrective?.error ?? message,
    corrective?.payload,
  );
  c.header('PAYMENT-REQUIRED', encodePaymentRequiredHeader(required));
  return errorJson(c, 'PAYMENT_REQUIRED', message, { x402: required });
}
