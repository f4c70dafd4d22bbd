import { z } from '@hono/zod-openapi';
import type { RetrievalResult } from '../../../shared/services/billing.ts';
import type { RetrievedSource } from '../../../shared/services/retrieval.ts';
import { Metadata, Micros } from '../schemas.ts';

// POST /v1/retrieve's response, rendered from the service's result (fresh or replayed).
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
    span: z.object({ start: z.number().int(), end: z.number().int(), page: z.number().int().nullable() }).openapi({
      description:
        'character offsets of text in the document (HTML, PDF, DOCX: in its extracted text); page: the 1-based PDF page the span starts on, null for formats without pages',
    }),
    headingPath: z.array(z.string()),
    score: z.number().openapi({ description: 'fused rank score in [0, 1]' }),
    similarity: z
      .number()
      .nullable()
      .openapi({ description: 'cosine similarity to the query, when the dense retriever found it' }),
    ranks: z.object({ dense: z.number().int().optional(), lexical: z.number().int().optional() }),
  })
  .openapi('Source');

export const UsageView = z
  .object({
    charged: Micros,
    dataFee: Micros,
    protocolFee: Micros,
    balance: Micros,
    currency: z.literal('USD'),
    unit: z.literal('micro'),
  })
  .openapi('CallUsage');

export const AttributionView = z
  .object({
    formulaVersion: z.string().openapi({
      description:
        'retrieval-v2 or answer-v2: each source used is one use at its listed price (v1 on receipts written before; see README, Pricing)',
    }),
    receiptId: z.string().openapi({
      description: 'GET /v1/receipts/{id}: the canonical receipt, its hash and, once settled, its Merkle proof',
    }),
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
          citation: z
            .number()
            .nullable()
            .openapi({ description: "answers: share of the answer's supported citations" }),
          unsupported: z
            .boolean()
            .openapi({ description: 'cited, but failed the support check everywhere it was cited' }),
          causal: z
            .number()
            .nullable()
            .openapi({ description: 'leave-one-out drop in answer log-probability, normalised (when measured)' }),
          duplicateOf: z
            .string()
            .nullable()
            .openapi({ description: 'the earlier upload this source copies; its weight went there' }),
          used: z.boolean().optional().openapi({
            description:
              'v2: the call used this source — one use, charged its listed price and credited it less the protocol fee',
          }),
        }),
        rateCard: z
          .object({ version: z.number().int(), use: z.enum(['retrieval', 'answer']), price: Micros })
          .optional()
          .openapi({
            description:
              "the datanet's rate-card version this source was priced under and the price of one use (GET /v1/datanets/{id}/rate-card lists every version)",
          }),
      }),
    ),
    adapter: z.object({ id: z.string(), wallet: z.string(), amount: Micros }).nullable(),
  })
  .openapi('Attribution');

export const RetrieveResponse = z
  .object({
    requestId: z.string(),
    object: z.literal('retrieval'),
    livemode: z.boolean().openapi({
      description:
        "false: a cp_test_ key's call, charged to test credits; its contributors' test earnings never settle",
    }),
    sources: z.array(SourceView),
    usage: UsageView,
    attribution: AttributionView,
  })
  .openapi('RetrieveResponse');

export function sourceView(s: RetrievedSource, i: number) {
  return {
    id: s.chunkId,
    index: i + 1,
    documentId: s.documentId,
    title: s.title,
    metadata: s.metadata,
    datanetId: s.datanetId,
    contributor: { accountId: s.contributorAccountId, wallet: s.contributorWallet },
    text: s.text,
    span: { start: s.start, end: s.end, page: s.page ?? null },
    headingPath: s.headingPath,
    score: s.score,
    similarity: s.similarity,
    ranks: s.ranks,
  };
}

export function usageView(charge: RetrievalResult['charge'], balance: bigint) {
  return {
    charged: charge.total.toString(),
    dataFee: charge.dataShare.toString(),
    protocolFee: charge.protocolFee.toString(),
    balance: balance.toString(),
    currency: 'USD' as const,
    unit: 'micro' as const,
  };
}

export function retrieveView(r: RetrievalResult): z.infer<typeof RetrieveResponse> {
  // Results stored before test mode carry no livemode: they were live.
  return {
    requestId: r.requestId,
    object: 'retrieval',
    livemode: r.livemode ?? true,
    sources: r.sources.map(sourceView),
    usage: usageView(r.charge, r.balanceAfter),
    attribution: r.attribution,
  };
}
