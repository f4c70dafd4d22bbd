import { z } from '@hono/zod-openapi';
import type { RateCard, UsePrices } from '../../../shared/core/rate-cards.ts';
import { Micros } from '../schemas.ts';

// A rate card version as the API shows it (money as micro-USD strings).
const PricesView = z.object({ retrieval: Micros, answer: Micros });

export const RateCardView = z
  .object({
    datanetId: z.string(),
    version: z.number().int().openapi({ description: '1 = the card the datanet was created with' }),
    effectiveAt: z.string().openapi({ description: 'calls priced from this moment on were charged by it' }),
    prices: PricesView,
    minimumPerUse: Micros,
    test: z.object({
      mode: z.enum(['same', 'excluded', 'price']),
      prices: PricesView.optional().openapi({ description: 'mode price: what a cp_test_ use costs' }),
    }),
    currency: z.literal('USD'),
    unit: z.literal('micro'),
  })
  .openapi('RateCardVersion');

const prices = (p: UsePrices) => ({ retrieval: p.retrieval.toString(), answer: p.answer.toString() });

export const rateCardView = (card: RateCard) => ({
  datanetId: card.datanetId,
  version: card.version,
  effectiveAt: card.effectiveAt.toISOString(),
  prices: prices(card.prices),
  minimumPerUse: card.minimumPerUse.toString(),
  test:
    card.test.mode === 'price' ? { mode: card.test.mode, prices: prices(card.test.prices) } : { mode: card.test.mode },
  currency: 'USD' as const,
  unit: 'micro' as const,
});
