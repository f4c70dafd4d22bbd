import { priceAnswer, type AnswerCharge } from './answer-pricing.ts';
import { attribute, type Attribution, type CausalScores, type FormulaVersion } from './attribution.ts';
import { tokenCost, weightsInPpm } from './retrieval-charge.ts';

// An answer's money from its plain facts: support-check results → attribution weights → prices →
// one balanced set of ledger lines. No I/O; finalizeAnswer reads the facts and writes the result.

export interface ChargedSource {
  score: number;
  /** index of the earlier upload this source duplicates, or null */
  duplicateOf: number | null;
  contributorAccountId: string;
  datanetId: string;
  documentId: string;
  pricePerSource: bigint;
}

/** One support check: a cited source (1-based number) against the answer sentence citing it. */
export interface SupportResult {
  sentence: number;
  number: number;
  supported: boolean;
}

export interface AnswerChargeInput {
  sources: readonly ChargedSource[];
  /** how many cited sentences the answer has; checks index them */
  sentenceCount: number;
  checks: readonly SupportResult[];
  causal?: CausalScores | null | undefined;
  tokens: {
    prompt: number;
    completion: number /** the causal pass's prompt tokens, billed at the input price */;
    attribution: number;
  };
  prices: { inputPerMillion: bigint; outputPerMillion: bigint };
  consumerAccountId: string;
  protocolAccountId: string;
  feeBps: number;
  /** the amount held when the answer was accepted: the charge never exceeds it */
  cap: bigint;
  adapter: { ownerAccountId: string; shareBps: number } | null;
  /** the current formula when left out; `answer-v1` recomputes a receipt written under it */
  formula?: FormulaVersion;
}

export interface ChargedAnswer {
  attribution: Attribution;
  weightsPpm: bigint[];
  charge: AnswerCharge;
}

export function answerCharge(input: AnswerChargeInput): ChargedAnswer {
  const { sources, checks } = input;
  const attribution = attribute({
    retrievalScores: sources.map((s) => s.score),
    duplicateOf: sources.map((s) => s.duplicateOf),
    sentences: Array.from({ length: input.sentenceCount }, (_, i) => ({
      sources: checks.filter((c) => c.sentence === i),
    })),
    causal: input.causal,
    documentIds: sources.map((s) => s.documentId),
    formula: input.formula,
  });
  const weightsPpm = weightsInPpm(attribution.weights);
  const charge = priceAnswer({
    consumerAccountId: input.consumerAccountId,
    protocolAccountId: input.protocolAccountId,
    feeBps: input.feeBps,
    tokenCharge:
      tokenCost(input.tokens.prompt + input.tokens.attribution, input.prices.inputPerMillion) +
      tokenCost(input.tokens.completion, input.prices.outputPerMillion),
    cap: input.cap,
    adapter: input.adapter,
    formula: attribution.formulaVersion,
    sources: sources.map((s, i) => ({
      contributorAccountId: s.contributorAccountId,
      datanetId: s.datanetId,
      documentId: s.documentId,
      pricePerSource: s.pricePerSource,
      weightPpm: weightsPpm[i]!,
      used: attribution.signals[i]!.used ?? false,
    })),
  });
  return { attribution, weightsPpm, charge };
}
