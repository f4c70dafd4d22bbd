import { z } from '@hono/zod-openapi';
import { GenerationFailed, Timeout, Unavailable } from '../../../shared/errors.ts';
import { RETRY_AFTER_SECONDS } from '../../../shared/services/answers.ts';
import type { AnswerCitation } from '../../../shared/store/answer-results.ts';
import type { AnswerRecord, AnswerResult, ShownSource } from '../../../shared/store/answers.ts';
import { Metadata } from '../schemas.ts';

// The answer as the API shows it, shared by /v1/answers and /v1/chat/completions.
const Span = z
  .object({ start: z.number().int(), end: z.number().int(), page: z.number().int().nullable().optional() })
  .openapi({
    description:
      'character offsets in the document (extracted text for HTML, PDF, DOCX); page: the 1-based PDF page the span starts on',
  });
const Quote = z.object({ text: z.string(), start: z.number().int(), end: z.number().int() });

export const CitationView = z
  .object({
    sentence: z
      .object({ start: z.number().int(), end: z.number().int(), text: z.string() })
      .openapi({ description: 'the cited claim; offsets into answer.text' }),
    sources: z.array(
      z.object({
        number: z.number().int(),
        sourceId: z.string(),
        documentId: z.string(),
        title: z.string(),
        datanetId: z.string(),
        contributor: z.object({ accountId: z.string(), wallet: z.string() }),
        span: Span,
        quote: Quote.nullable().openapi({
          description: 'the source passage that best supports the sentence; offsets in the document',
        }),
        supported: z.boolean(),
        similarity: z.number(),
      }),
    ),
  })
  .openapi('Citation');

export const AnswerView = z
  .object({
    id: z.string(),
    object: z.literal('answer'),
    status: z.enum(['queued', 'running', 'succeeded', 'failed', 'expired']),
    requestId: z.string(),
    livemode: z
      .boolean()
      .openapi({ description: "false: a cp_test_ key's answer, held against and charged to test credits" }),
    model: z.string(),
    adapter: z.string().nullable(),
    query: z.string(),
    text: z.string().nullable(),
    citations: z.array(CitationView),
    invalidMarkers: z.array(z.object({ marker: z.string(), number: z.number(), reason: z.string() })),
    sources: z.array(
      z.object({
        number: z.number().int(),
        id: z.string(),
        documentId: z.string(),
        title: z.string(),
        metadata: Metadata,
        datanetId: z.string(),
        contributor: z.object({ accountId: z.string(), wallet: z.string() }),
        text: z.string(),
        span: Span,
        score: z.number(),
      }),
    ),
    usage: z.record(z.string(), z.unknown()).nullable(),
    attribution: z.record(z.string(), z.unknown()).nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    timings: z
      .object({ queuedMs: z.number(), generateMs: z.number() })
      .nullable()
      .openapi({ description: 'enqueue → worker start, and generation time' }),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi('Answer');
export type AnswerViewType = z.infer<typeof AnswerView>;

export const shownSourceView = (s: ShownSource) => ({
  number: s.number,
  id: s.chunkId,
  documentId: s.documentId,
  title: s.title,
  metadata: s.metadata,
  datanetId: s.datanetId,
  contributor: { accountId: s.contributorAccountId, wallet: s.contributorWallet },
  text: s.text,
  span: { start: s.start, end: s.end, page: s.page ?? null },
  score: s.score,
});

export function answerView(a: AnswerRecord): AnswerViewType {
  const r = a.result;
  return {
    id: a.id,
    object: 'answer',
    status: a.status,
    requestId: a.requestId,
    livemode: a.livemode,
    model: a.model,
    adapter: a.adapterId,
    query: a.query,
    text: r?.text ?? null,
    citations: r ? r.citations.map((c) => citationView(c, a.sources)) : [],
    invalidMarkers: r?.invalidMarkers ?? [],
    sources: a.sources.map(shownSourceView),
    usage: r ? answerUsageView(r) : null,
    attribution: r ? { ...r.attribution, supportThreshold: r.supportThreshold, causal: r.causal } : null,
    error: a.error,
    timings: r?.timings ?? null,
    createdAt: a.createdAt.toISOString(),
    finishedAt: a.finishedAt?.toISOString() ?? null,
  };
}

/** A cited sentence, its sources joined with the answer's shown sources by number. */
export function citationView(c: AnswerCitation, shown: readonly ShownSource[]): z.infer<typeof CitationView> {
  return {
    sentence: { start: c.sentence.start, end: c.sentence.end, text: c.sentence.text },
    sources: c.sources.map((check) => {
      const s = shown[check.number - 1]!;
      return {
        number: s.number,
        sourceId: s.chunkId,
        documentId: s.documentId,
        title: s.title,
        datanetId: s.datanetId,
        contributor: { accountId: s.contributorAccountId, wallet: s.contributorWallet },
        // Answers stored before PDF ingestion have no page.
        span: { start: s.start, end: s.end, page: s.page ?? null },
        quote: check.quote,
        supported: check.supported,
        similarity: check.similarity,
      };
    }),
  };
}

/** Tokens and money (micro-USD as decimal strings, like every amount the API shows). */
export function answerUsageView(r: AnswerResult) {
  return {
    promptTokens: r.tokens.prompt,
    completionTokens: r.tokens.completion,
    attributionTokens: r.tokens.attribution,
    charged: r.charge.total.toString(),
    tokenCharge: r.charge.tokenCharge.toString(),
    dataFee: r.charge.dataFee.toString(),
    adapterFee: r.charge.adapterFee.toString(),
    protocolFee: r.charge.protocolFee.toString(),
    balance: r.balanceAfter.toString(),
    currency: 'USD' as const,
    unit: 'micro' as const,
  };
}

/** A closed, unsuccessful answer as the error a waiting caller receives (nothing was charged). */
export function answerFailure(a: AnswerRecord): Unavailable | Timeout | GenerationFailed {
  const code = a.error?.code;
  const message = `generation ${a.status}: ${a.error?.message ?? 'unknown error'}; nothing was charged`;
  if (code === 'engine_unavailable' || code === 'queue_unavailable')
    return new Unavailable(message, code === 'engine_unavailable' ? 'engine' : 'queue', RETRY_AFTER_SECONDS, a.id);
  if (a.status === 'expired') return new Timeout(message, a.id);
  return new GenerationFailed(message, a.id, code === 'bad_request');
}
