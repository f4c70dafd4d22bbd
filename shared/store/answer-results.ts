import type { AttributionSummary } from '../core/receipts.ts';

// What a succeeded answer holds (answers.response): the outcome finalizeAnswer decided, as domain
// values (money in bigint micro-USD); functions/api/views/answer.ts renders it.
//
// The stored form keeps the shape answers have been stored in since the first one (the API body of
// that time, money as decimal strings): rows written before hold it, and two triggers read its
// `usage` — 0071's usage split (`tokenCharge`) and 0072's answer.completed webhook, which sends
// `usage` as it is (hence `currency` and `unit` are stored too). Cited sources are stored by number
// only; the view joins them with the answer's shown sources (rows written before also hold a copy
// of each source's fields, which decoding ignores).

export interface CitedSource {
  /** 1-based number of the answer's shown source */
  number: number;
  supported: boolean;
  similarity: number;
  /** the source passage that best supports the sentence; offsets in the document */
  quote: { text: string; start: number; end: number } | null;
}

export interface AnswerCitation {
  /** the cited claim; offsets into the answer text */
  sentence: { start: number; end: number; text: string };
  sources: CitedSource[];
}

export interface AnswerResult {
  text: string;
  citations: AnswerCitation[];
  invalidMarkers: { marker: string; number: number; reason: string }[];
  model: string;
  finishReason: string;
  tokens: {
    prompt: number;
    completion: number;
    /** the causal pass's prompt tokens, billed at the input price */
    attribution: number;
  };
  charge: { total: bigint; tokenCharge: bigint; dataFee: bigint; adapterFee: bigint; protocolFee: bigint };
  /** the consumer's balance after the charge, in the answer's mode, its hold released */
  balanceAfter: bigint;
  attribution: AttributionSummary;
  /** the support check's threshold when this answer was checked */
  supportThreshold: number;
  /** what the causal pass cost, when one ran */
  causal: { method: string; promptTokens: number; ms: number } | null;
  timings: { queuedMs: number; generateMs: number };
}

interface StoredAnswerResult {
  text: string;
  citations: { sentence: AnswerCitation['sentence']; sources: CitedSource[] }[];
  invalidMarkers: AnswerResult['invalidMarkers'];
  model: string;
  finishReason: string;
  usage: {
    promptTokens: number;
    completionTokens: number;
    /** absent in answers stored before causal attribution */
    attributionTokens?: number;
    charged: string;
    tokenCharge: string;
    dataFee: string;
    adapterFee: string;
    protocolFee: string;
    balance: string;
    currency: 'USD';
    unit: 'micro';
  };
  /** `causal` absent in answers stored before causal attribution */
  attribution: AttributionSummary & { supportThreshold: number; causal?: AnswerResult['causal'] };
  timings: AnswerResult['timings'];
}

export function encodeAnswerResult(r: AnswerResult): StoredAnswerResult {
  return {
    text: r.text,
    citations: r.citations.map((c) => ({
      sentence: c.sentence,
      sources: c.sources.map((s) => ({
        number: s.number,
        quote: s.quote,
        supported: s.supported,
        similarity: s.similarity,
      })),
    })),
    invalidMarkers: r.invalidMarkers,
    model: r.model,
    finishReason: r.finishReason,
    usage: {
      promptTokens: r.tokens.prompt,
      completionTokens: r.tokens.completion,
      attributionTokens: r.tokens.attribution,
      charged: r.charge.total.toString(),
      tokenCharge: r.charge.tokenCharge.toString(),
      dataFee: r.charge.dataFee.toString(),
      adapterFee: r.charge.adapterFee.toString(),
      protocolFee: r.charge.protocolFee.toString(),
      balance: r.balanceAfter.toString(),
      currency: 'USD',
      unit: 'micro',
    },
    attribution: { ...r.attribution, supportThreshold: r.supportThreshold, causal: r.causal },
    timings: r.timings,
  };
}

/** null for an answer with no outcome stored (open, failed, expired). */
export function decodeAnswerResult(stored: unknown): AnswerResult | null {
  if (stored === null || stored === undefined) return null;
  const s = stored as StoredAnswerResult;
  const { supportThreshold, causal, ...attribution } = s.attribution;
  return {
    text: s.text,
    citations: s.citations.map((c) => ({
      sentence: c.sentence,
      sources: c.sources.map((x) => ({
        number: x.number,
        supported: x.supported,
        similarity: x.similarity,
        quote: x.quote ?? null,
      })),
    })),
    invalidMarkers: s.invalidMarkers,
    model: s.model,
    finishReason: s.finishReason,
    tokens: {
      prompt: s.usage.promptTokens,
      completion: s.usage.completionTokens,
      attribution: s.usage.attributionTokens ?? 0,
    },
    charge: {
      total: BigInt(s.usage.charged),
      tokenCharge: BigInt(s.usage.tokenCharge),
      dataFee: BigInt(s.usage.dataFee),
      adapterFee: BigInt(s.usage.adapterFee),
      protocolFee: BigInt(s.usage.protocolFee),
    },
    balanceAfter: BigInt(s.usage.balance),
    attribution,
    supportThreshold,
    causal: causal ?? null,
    timings: s.timings,
  };
}
