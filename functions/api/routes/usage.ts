import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { InvalidInput, Forbidden } from '../../../shared/errors.ts';
import { requireAccount } from '../../../shared/services/accounts.ts';
import { accountEarnings, accountUsageWithSplit } from '../../../shared/services/usage.ts';
import { requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorResponses } from '../errors.ts';
import { Micros, security } from '../schemas.ts';
import { ANSWER_FORMULA, RETRIEVAL_FORMULA } from '../../../shared/core/attribution.ts';

const accountQuery = z.object({
  accountId: z.string().max(100).optional().openapi({ description: 'admins only: whose figures to show' }),
});

const usageRoute = createRoute({
  method: 'get',
  path: '/v1/usage',
  tags: ['billing'],
  summary: "A consumer's balance, calls and spend, per call kind and per API key",
  security,
  middleware: [requireRole('consumer', 'admin')] as const,
  request: { query: accountQuery },
  responses: {
    200: {
      description: 'OK',
      content: {
        'application/json': {
          schema: z
            .object({
              accountId: z.string(),
              livemode: z.boolean().openapi({
                description: "the key's mode: a cp_test_ key sees test credits and calls only, a live key live ones",
              }),
              balance: Micros,
              credited: Micros,
              calls: z.number().int(),
              spend: Micros,
              byKind: z.array(z.object({ kind: z.string(), calls: z.number().int(), spend: Micros })),
              byKey: z.array(z.object({ keyId: z.string().nullable(), calls: z.number().int(), spend: Micros })),
              split: z
                .object({
                  calls: z.number().int().openapi({
                    description:
                      'retrievals and answers (calls with a receipt); embeddings are token charges outside the split',
                  }),
                  charged: Micros.openapi({
                    description: 'their total: dataFees + modelTokens + adapterFees + protocolFee',
                  }),
                  dataFees: Micros.openapi({ description: 'credited to the contributors of the sources' }),
                  modelTokens: Micros.openapi({
                    description: "answers' token charge (usage.tokenCharge), less the adapter's share",
                  }),
                  adapterFees: Micros.openapi({ description: "the LoRA adapter owners' share of the token charge" }),
                  protocolFee: Micros.openapi({ description: "citepay's cut of the data fee" }),
                })
                .openapi({
                  description: 'where the money of receipted calls went; the dashboard shows the same split',
                }),
            })
            .openapi('Usage'),
        },
      },
    },
    ...errorResponses,
  },
});

const earningsRoute = createRoute({
  method: 'get',
  path: '/v1/earnings',
  tags: ['billing'],
  summary: "A contributor's earnings, per datanet and per document",
  security,
  middleware: [requireRole('contributor', 'admin')] as const,
  request: { query: accountQuery },
  responses: {
    200: {
      description: 'OK',
      content: {
        'application/json': {
          schema: z
            .object({
              accountId: z.string(),
              wallet: z.string(),
              livemode: z
                .boolean()
                .openapi({ description: "the key's mode: test earnings (from cp_test_ calls) never settle on chain" }),
              total: Micros.openapi({ description: 'everything ever credited' }),
              settled: Micros.openapi({
                description: 'moved on chain by confirmed settlement epochs: see GET /v1/payouts/{wallet}',
              }),
              unsettled: Micros.openapi({
                description: 'credited, waiting for the next settlement epoch (and the minimum payout)',
              }),
              byDatanet: z.array(
                z.object({ datanetId: z.string(), name: z.string(), earned: Micros, calls: z.number().int() }),
              ),
              byDocument: z.array(
                z.object({
                  documentId: z.string(),
                  datanetId: z.string(),
                  title: z.string(),
                  deleted: z.boolean(),
                  earned: Micros,
                  calls: z.number().int(),
                }),
              ),
              pricing: z
                .object({
                  retrievalFormula: z.string(),
                  answerFormula: z.string(),
                  protocolFeeBps: z.number().int(),
                  perUse: z
                    .string()
                    .openapi({ description: 'what one use of a source earns under the current formulas' }),
                })
                .openapi({
                  description: 'the formulas new calls are charged under (receipts name the one each call used)',
                }),
            })
            .openapi('Earnings'),
        },
      },
    },
    ...errorResponses,
  },
});

/** Non-admins always see their own account; admins name one. */
function targetAccount(principal: { role: string; accountId: string }, requested: string | undefined): string {
  if (principal.role !== 'admin') {
    if (requested && requested !== principal.accountId)
      throw new Forbidden('accountId: you may only read your own account');
    return principal.accountId;
  }
  if (!requested) throw new InvalidInput('accountId: required for admin keys');
  return requested;
}

export const usageRoutes = new OpenAPIHono<AppEnv>()
  .openapi(usageRoute, async (c) => {
    const services = c.get('services');
    const account = await requireAccount(
      services.db,
      targetAccount(c.get('principal'), c.req.valid('query').accountId),
      'consumer',
    );
    const { livemode } = c.get('principal');
    const { usage: u, split } = await accountUsageWithSplit(services, account.id, livemode);
    return c.json(
      {
        accountId: account.id,
        livemode,
        balance: u.balance.toString(),
        credited: u.credited.toString(),
        calls: u.calls,
        spend: u.spend.toString(),
        byKind: u.byKind.map((k) => ({ ...k, spend: k.spend.toString() })),
        byKey: u.byKey.map((k) => ({ ...k, spend: k.spend.toString() })),
        split: {
          calls: split.calls,
          charged: split.charged.toString(),
          dataFees: split.dataFees.toString(),
          modelTokens: split.modelTokens.toString(),
          adapterFees: split.adapterFees.toString(),
          protocolFee: split.protocolFee.toString(),
        },
      },
      200,
    );
  })
  .openapi(earningsRoute, async (c) => {
    const services = c.get('services');
    const account = await requireAccount(
      services.db,
      targetAccount(c.get('principal'), c.req.valid('query').accountId),
      'contributor',
    );
    const { livemode } = c.get('principal');
    const e = await accountEarnings(services, account.id, livemode);
    return c.json(
      {
        accountId: account.id,
        wallet: account.wallet!,
        livemode,
        total: e.total.toString(),
        settled: e.settled.toString(),
        unsettled: e.unsettled.toString(),
        byDatanet: e.byDatanet.map((d) => ({ ...d, earned: d.earned.toString() })),
        byDocument: e.byDocument.map((d) => ({ ...d, earned: d.earned.toString() })),
        pricing: pricingTerms(c.get('services').config.protocolFeeBps),
      },
      200,
    );
  });

/** The per-use rule in words, so an owner can compute what one use of a document earns. */
function pricingTerms(protocolFeeBps: number) {
  return {
    retrievalFormula: RETRIEVAL_FORMULA,
    answerFormula: ANSWER_FORMULA,
    protocolFeeBps,
    perUse: `one use = a source returned by a retrieval, or cited and supported by an answer; it earns pricePerSource − floor(pricePerSource × ${protocolFeeBps} / 10000)`,
  };
}
