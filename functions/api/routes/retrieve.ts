import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { RetrievalCharge } from '../../../shared/core/pricing.ts';
import { attributionSummary } from '../../../shared/core/receipts.ts';
import { assertCanPay, chargeAndRender, hashRequest, replay } from '../../../shared/services/billing.ts';
import { idempotently } from '../../../shared/services/idempotency.ts';
import { retrieve, type RetrievedSource } from '../../../shared/services/retrieval.ts';
import { requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorResponses, paymentResponses } from '../errors.ts';
import { IdempotencyHeader, Metadata, Micros, security } from '../schemas.ts';

const RetrieveRequest = z
  .object({
    query: z.string().trim().min(1, 'must not be empty').max(2000),
    datanets: z.array(z.string().regex(/^dn_[A-Za-z0-9]+$/, 'must be a dn_… id')).max(50).optional().openapi({ description: 'default: every datanet' }),
    topK: z.number().int().min(1).max(50).default(5),
    perDocument: z.number().int().min(1).max(50).optional().openapi({ description: 'passages per document (default 1: the best passage of each of the best documents)' }),
    filter: z.object({ metadata: Metadata.optional() }).strict().optional().openapi({ description: 'metadata: JSON containment on document metadata' }),
  })
  .strict()
  .openapi('RetrieveRequest');

export const SourceView = z
  .object({
    id: z.string().openapi({ description: 'chunk id' }),
    index: z.number().int().openapi({ description: '1-based position, as cited by [n]' }),
    documentId: z.string(),
    title: z.string(),
    metadata: Metadata,
    datanetId: z.string(),
    contributor: z.object({ accountId: z.string(), wallet: z.string() }),
    text: z.string(),
    span: z.object({ start: z.number().int(), end: z.number().int() }).openapi({ description: 'character offsets of text in the document (HTML: in its extracted text)' }),
    headingPath: z.array(z.string()),
    score: z.number().openapi({ description: 'fused rank score in [0, 1]' }),
    similarity: z.number().nullable().openapi({ description: 'cosine similarity to the query, when the dense retriever found it' }),
    ranks: z.object({ dense: z.number().int().optional(), lexical: z.number().int().optional() }),
  })
  .openapi('Source');

export const UsageView = z
  .object({ charged: Micros, dataFee: Micros, protocolFee: Micros, balance: Micros, currency: z.literal('USD'), unit: z.literal('micro') })
  .openapi('CallUsage');

export const AttributionView = z
  .object({
    formulaVersion: z.string().openapi({ description: 'retrieval-v1 or answer-v1 (see README, Attribution)' }),
    receiptId: z.string().openapi({ description: 'GET /v1/receipts/{id}: the canonical receipt, its hash and, once settled, its Merkle proof' }),
    sources: z.array(
      z.object({
        sourceId: z.string(),
        documentId: z.string(),
        wallet: z.string(),
        weight: z.number(),
        weightPpm: z.number().int(),
        amount: Micros,
        signals: z.object({
          retrieval: z.number().openapi({ description: 'normalised retrieval score' }),
          citation: z.number().nullable().openapi({ description: "answers: share of the answer's supported citations" }),
          unsupported: z.boolean().openapi({ description: 'cited, but failed the support check everywhere it was cited' }),
          causal: z.number().nullable().openapi({ description: 'leave-one-out drop in answer log-probability, normalised (when measured)' }),
          duplicateOf: z.string().nullable().openapi({ description: 'the earlier upload this source copies; its weight went there' }),
        }),
      }),
    ),
    adapter: z.object({ id: z.string(), wallet: z.string(), amount: Micros }).nullable(),
  })
  .openapi('Attribution');

const RetrieveResponse = z
  .object({ requestId: z.string(), object: z.literal('retrieval'), sources: z.array(SourceView), usage: UsageView, attribution: AttributionView })
  .openapi('RetrieveResponse');

const route = createRoute({
  method: 'post',
  path: '/v1/retrieve',
  tags: ['retrieval'],
  summary: 'Find passages for a query; bills the listed price of each returned source and credits its contributor',
  security,
  middleware: [requireRole('consumer')] as const,
  request: { headers: IdempotencyHeader, body: { required: true, content: { 'application/json': { schema: RetrieveRequest } } } },
  responses: {
    200: { description: 'Sources with usage and attribution (an empty list is not an error)', content: { 'application/json': { schema: RetrieveResponse } } },
    ...paymentResponses,
    ...errorResponses,
  },
});

export function sourceView(s: RetrievedSource, i: number) {
  return {
    id: s.chunkId, index: i + 1, documentId: s.documentId, title: s.title, metadata: s.metadata, datanetId: s.datanetId,
    contributor: { accountId: s.contributorAccountId, wallet: s.contributorWallet }, text: s.text, span: { start: s.start, end: s.end },
    headingPath: s.headingPath, score: s.score, similarity: s.similarity, ranks: s.ranks,
  };
}

export function usageView(charge: RetrievalCharge, balance: bigint) {
  return {
    charged: charge.total.toString(), dataFee: charge.dataShare.toString(), protocolFee: charge.protocolFee.toString(),
    balance: balance.toString(), currency: 'USD' as const, unit: 'micro' as const,
  };
}

export const retrieveRoutes = new OpenAPIHono<AppEnv>().openapi(route, async (c) => {
  const services = c.get('services');
  const principal = c.get('principal');
  const requestId = c.get('requestId');
  const body = c.req.valid('json');
  const key = c.req.valid('header')['idempotency-key'];
  const idempotency = key ? { key, requestHash: hashRequest('POST', '/v1/retrieve', body) } : undefined;

  const outcome = await idempotently(services, principal, idempotency, {
    replay: () => replay(services, principal, idempotency),
    work: async () => {
      await assertCanPay(services, principal);
      const sources = await retrieve(services, { query: body.query, datanetIds: body.datanets, topK: body.topK, metadata: body.filter?.metadata, perDocument: body.perDocument });
      return chargeAndRender(services, principal, {
        requestId,
        sources,
        idempotency,
        render: ({ charge, receipt, balanceAfter }) => ({
          status: 200,
          body: {
            requestId,
            object: 'retrieval',
            sources: sources.map(sourceView),
            usage: usageView(charge, balanceAfter),
            attribution: attributionSummary(receipt),
          },
        }),
      });
    },
  });
  const rendered = outcome.value;
  if (outcome.replayed) {
    c.header('Idempotent-Replayed', 'true');
    return c.json(rendered.body as z.infer<typeof RetrieveResponse>, 200);
  }
  c.set('cost', (rendered.body as { usage: { charged: string } }).usage.charged);
  return c.json(rendered.body as z.infer<typeof RetrieveResponse>, 200);
});
