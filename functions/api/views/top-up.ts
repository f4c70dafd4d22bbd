import { z } from '@hono/zod-openapi';
import type { X402TopUpOutcome } from '../../../shared/services/x402-top-ups.ts';
import type { topUpsOfAccount } from '../../../shared/services/top-ups.ts';
import { Micros } from '../schemas.ts';

export const TopUpView = z
  .object({
    id: z.string(),
    amount: Micros,
    status: z.enum(['pending', 'credited']),
    via: z.enum(['transfer', 'x402']),
    wallet: z.string(),
    txHash: z.string().nullable().openapi({ description: 'the stablecoin transfer to the treasury' }),
    createdAt: z.string(),
    creditedAt: z.string().nullable(),
  })
  .openapi('TopUp');

export const X402TopUpResponse = z
  .object({
    object: z.literal('top_up'),
    id: z.string().openapi({ description: 'the x402 top-up (one per signed payment)' }),
    amount: Micros,
    status: z.enum(['pending', 'credited']).openapi({
      description:
        'credited: on chain and in the balance; pending: the settle is not confirmed yet (credited by a later pass)',
    }),
    payer: z.string(),
    txHash: z.string().nullable(),
    topUp: z.string().nullable().openapi({ description: 'the top-up row listed by GET /v1/credits/top-ups' }),
    balance: Micros.nullable().openapi({ description: 'live credits available after the top-up' }),
  })
  .openapi('X402TopUp');

type TopUp = Awaited<ReturnType<typeof topUpsOfAccount>>[number];
type Shown = Exclude<X402TopUpOutcome, { kind: 'refused' }>;

export function x402TopUpView(o: Shown): z.infer<typeof X402TopUpResponse> {
  return {
    object: 'top_up',
    id: o.topUp.id,
    amount: o.topUp.amount.toString(),
    status: o.kind === 'credited' ? 'credited' : 'pending',
    payer: o.topUp.payer,
    txHash: o.topUp.txHash,
    topUp: o.topUp.topUpId,
    balance: o.kind === 'credited' ? o.balance.toString() : null,
  };
}

export function topUpView(t: TopUp): z.infer<typeof TopUpView> {
  return {
    id: t.id,
    amount: t.amount.toString(),
    status: t.status,
    via: t.via,
    wallet: t.wallet,
    txHash: t.txHash,
    createdAt: t.seenAt.toISOString(),
    creditedAt: t.creditedAt ? t.creditedAt.toISOString() : null,
  };
}
