import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { encodePaymentResponseHeader } from '@x402/core/http';
import type { Hex } from 'viem';
import { Forbidden, Unavailable } from '../../../shared/errors.ts';
import { topUpsOfAccount } from '../../../shared/services/top-ups.ts';
import { x402GatewayOf } from '../../../shared/services/x402-payments.ts';
import { earlierTopUp, topUpWithX402 } from '../../../shared/services/x402-top-ups.ts';
import { requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorResponses } from '../errors.ts';
import { Micros, security } from '../schemas.ts';
import { TopUpView, X402TopUpResponse, topUpView, x402TopUpView } from '../views/top-up.ts';
import { nonceOf, paymentRequired, readPayment } from '../x402.ts';

// Buying live credits with x402 (issue 20 §3): the account's live key (or the dashboard's) asks
// for an amount; without PAYMENT-SIGNATURE the answer is 402 with an `exact` requirement of that
// amount to the treasury; with one, the payment is verified, settled on chain, and then credited
// once (shared/services/x402-top-ups.ts). ERC-20 transfers from the account's wallet are the other
// way in (the top-up watcher); both are listed by GET /v1/credits/top-ups.

const TopUpRequest = z
  .object({
    amount: Micros.refine((a) => /^\d+$/.test(a) && BigInt(a) >= 1n && BigInt(a) <= 1_000_000_000_000n, {
      message: 'must be between 1 and 1000000000000 micro-USD (1 million USD)',
    }).openapi({ description: 'live credits to buy, micro-USD (1 token unit of the 6-decimal stablecoin each)' }),
  })
  .strict()
  .openapi('TopUpRequest');

const topUpRoute = createRoute({
  method: 'post',
  path: '/v1/credits/top-up',
  tags: ['billing'],
  summary: 'Buy live credits with an x402 payment (exact) of the amount to the treasury',
  description:
    'Without `PAYMENT-SIGNATURE`: 402 with `PAYMENT-REQUIRED` (scheme exact, the amount, the stablecoin, the treasury). ' +
    'With one: verified, settled on chain, then credited once; `PAYMENT-RESPONSE` names the transaction. ' +
    'The same payment again returns the same top-up. Live keys only.',
  security,
  middleware: [requireRole('consumer')] as const,
  request: { body: { required: true, content: { 'application/json': { schema: TopUpRequest } } } },
  responses: {
    200: { description: 'Credited', content: { 'application/json': { schema: X402TopUpResponse } } },
    202: {
      description: 'Paid, not yet confirmed: credited by a later pass (same body, status pending)',
      content: { 'application/json': { schema: X402TopUpResponse } },
    },
    402: { description: 'Pay with x402: PAYMENT-REQUIRED names what to sign (or why a payment was refused)' },
    ...errorResponses,
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/credits/top-ups',
  tags: ['billing'],
  summary: "The account's top-ups: ERC-20 transfers from its wallet and x402 payments, newest first",
  security,
  middleware: [requireRole('consumer')] as const,
  responses: {
    200: {
      description: 'OK',
      content: { 'application/json': { schema: z.object({ data: z.array(TopUpView) }) } },
    },
    ...errorResponses,
  },
});

export const creditRoutes = new OpenAPIHono<AppEnv>()
  .openapi(topUpRoute, async (c) => {
    const services = c.get('services');
    const principal = c.get('principal');
    if (!principal.livemode)
      throw new Forbidden(
        'test mode cannot buy live credits (a cp_test_ key spends free test credits): use a live key',
      );
    const gateway = x402GatewayOf(services);
    if (!gateway) throw new Unavailable('x402 is not configured on this deployment (X402_FACILITATOR_URL)', 'x402', 60);
    const amount = BigInt(c.req.valid('json').amount);
    // exact only: a top-up moves the whole amount (upto would let the payer's maximum be cut short)
    const requirements = (await gateway.requirements(amount)).filter((r) => r.scheme === 'exact');
    const paid = await readPayment(c, gateway, requirements, {
      unpaid: `pay ${amount} micro-USD with x402 (exact) to top up`,
      mismatch: 'the payment does not match this top-up (exact, amount, asset, payTo)',
    });
    if (paid instanceof Response) return paid;
    const { payload, matched } = paid;
    // the same payment again (a retry after a lost response): the same top-up, looked up before
    // the facilitator, which refuses an authorization already used on chain
    let outcome = await earlierTopUp(services, principal.accountId, nonceOf(payload));
    if (!outcome) {
      const verdict = await gateway.verify(payload, matched);
      if (!verdict.ok)
        return paymentRequired(c, gateway, requirements, `the facilitator refused the payment: ${verdict.reason}`);
      outcome = await topUpWithX402(services, gateway, {
        accountId: principal.accountId,
        payer: verdict.payer,
        nonce: nonceOf(payload) as Hex,
        amount,
        payload,
        requirements: matched,
      });
    }
    if (outcome.kind === 'refused') return paymentRequired(c, gateway, requirements, outcome.reason);
    if (outcome.kind === 'credited' && outcome.topUp.txHash)
      c.header(
        'PAYMENT-RESPONSE',
        encodePaymentResponseHeader({
          success: true,
          transaction: outcome.topUp.txHash,
          network: matched.network,
          payer: outcome.topUp.payer,
        }),
      );
    return c.json(x402TopUpView(outcome), outcome.kind === 'credited' ? 200 : 202);
  })
  .openapi(listRoute, async (c) => {
    const topUps = await topUpsOfAccount(c.get('services'), c.get('principal').accountId);
    return c.json({ data: topUps.map(topUpView) }, 200);
  });
