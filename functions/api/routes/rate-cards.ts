import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { parseMicros } from '../../../shared/core/money.ts';
import type { RateCardTerms } from '../../../shared/core/rate-cards.ts';
import { RSL_MEDIA_TYPE, rslLicense } from '../../../shared/core/rsl-license.ts';
import { rateCardOf, setRateCard } from '../../../shared/services/rate-cards.ts';
import { anyRole, requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorResponses } from '../errors.ts';
import { Micros, idParam, security } from '../schemas.ts';
import { RateCardView, rateCardView } from '../views/rate-card.ts';

// A datanet's rate card (price per use type, minimum per use, test-mode terms) and its price
// history; the owner changes it, anyone with a key reads it (receipts name the version they were
// charged under), and the license document built from it is public.

const UsePrices = z.object({ retrieval: Micros, answer: Micros }).strict();
const TermsBody = z
  .object({
    prices: UsePrices.openapi({
      description:
        'micro-USD per use: retrieval = a source returned by POST /v1/retrieve; answer = a source an answer cited and that supports its sentence',
    }),
    minimumPerUse: Micros.optional().openapi({ description: 'the least one use costs (default 0)' }),
    test: z
      .discriminatedUnion('mode', [
        z.object({ mode: z.literal('same') }).strict(),
        z.object({ mode: z.literal('excluded') }).strict(),
        z.object({ mode: z.literal('price'), prices: UsePrices }).strict(),
      ])
      .optional()
      .openapi({
        description:
          'cp_test_ calls: same = the live prices (default); excluded = not charged, earn nothing; price = these prices',
      }),
  })
  .strict()
  .openapi('RateCardTerms');

const toTerms = (b: z.infer<typeof TermsBody>): RateCardTerms => {
  const prices = (p: { retrieval: string; answer: string }) => ({
    retrieval: parseMicros(p.retrieval),
    answer: parseMicros(p.answer),
  });
  const test = b.test ?? { mode: 'same' as const };
  return {
    prices: prices(b.prices),
    minimumPerUse: parseMicros(b.minimumPerUse ?? '0'),
    test: test.mode === 'price' ? { mode: 'price', prices: prices(test.prices) } : { mode: test.mode },
  };
};

const getRoute = createRoute({
  method: 'get',
  path: '/v1/datanets/{id}/rate-card',
  tags: ['datanets'],
  summary: "A datanet's rate card in force and every earlier version (check a receipt's rateCard against it)",
  security,
  middleware: [anyRole()] as const,
  request: { params: idParam('dn') },
  responses: {
    200: {
      description: 'OK',
      content: {
        'application/json': { schema: RateCardView.extend({ history: z.array(RateCardView) }).openapi('RateCard') },
      },
    },
    ...errorResponses,
  },
});

const putRoute = createRoute({
  method: 'put',
  path: '/v1/datanets/{id}/rate-card',
  tags: ['datanets'],
  summary:
    'Set the rate card (owner or admin, live key): a new version, charged on every call priced after it; equal terms add none',
  security,
  middleware: [requireRole('admin', 'contributor')] as const,
  request: {
    params: idParam('dn'),
    body: { required: true, content: { 'application/json': { schema: TermsBody } } },
  },
  responses: {
    200: {
      description: 'The card in force; changed = false when the terms equalled it',
      content: { 'application/json': { schema: RateCardView.extend({ changed: z.boolean() }) } },
    },
    ...errorResponses,
  },
});

const licenseRoute = createRoute({
  method: 'get',
  path: '/v1/datanets/{id}/license.xml',
  tags: ['datanets'],
  summary:
    'The rate card as an RSL 1.0 license (public, no key): point robots.txt `License:` here. ?content= sets the <content url> (default "/")',
  request: {
    params: idParam('dn'),
    query: z.object({
      content: z
        .string()
        .max(2000)
        .regex(/^(https?:\/\/[^\s"<>]+|\/[^\s"<>]*)$/, 'must be a full http(s) URL or a path starting with /')
        .optional()
        .openapi({ description: 'a full URL or a path on your server (robots.txt matching rules)' }),
    }),
  },
  responses: {
    200: { description: 'RSL 1.0 document', content: { [RSL_MEDIA_TYPE]: { schema: z.string() } } },
    ...errorResponses,
  },
});

export const rateCardRoutes = new OpenAPIHono<AppEnv>()
  .openapi(getRoute, async (c) => {
    const { current, history } = await rateCardOf(c.get('services'), c.req.valid('param').id);
    return c.json({ ...rateCardView(current), history: history.map(rateCardView) }, 200);
  })
  .openapi(putRoute, async (c) => {
    const { card, changed } = await setRateCard(
      c.get('services'),
      c.get('principal'),
      c.req.valid('param').id,
      toTerms(c.req.valid('json')),
    );
    return c.json({ ...rateCardView(card), changed }, 200);
  })
  .openapi(licenseRoute, async (c) => {
    const services = c.get('services');
    const id = c.req.valid('param').id;
    const { current } = await rateCardOf(services, id);
    const origin = services.config.publicUrl ?? new URL(c.req.url).origin;
    const xml = rslLicense({
      card: current,
      contentUrl: c.req.valid('query').content ?? '/',
      rateCardUrl: `${origin.replace(/\/$/, '')}/v1/datanets/${id}/rate-card`,
    });
    return c.body(xml, 200, {
      'content-type': `${RSL_MEDIA_TYPE}; charset=utf-8`,
      // a price change shows within five minutes; calls are always charged by the card in force
      'cache-control': 'public, max-age=300',
    });
  });
