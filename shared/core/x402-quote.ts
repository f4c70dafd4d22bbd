import { tokenCost } from './retrieval-charge.ts';

// The most a call can cost, for an x402 price quote before any work (pure). A payment must cover
// the worst case, since the `exact` scheme fixes the amount before the call runs; what the call
// does not use stays as credit on the payer wallet's account.

export interface AnswerBound {
  topK: number;
  /** the highest per-source price among the datanets the call may draw from */
  maxSourcePrice: bigint;
  contextTokens: number;
  maxTokens: number;
  inputPricePerMillion: bigint;
  outputPricePerMillion: bigint;
  causal: boolean;
}

/** A retrieval returns at most topK sources, each billed at most its datanet's price. */
export function maxRetrievalCost(topK: number, maxSourcePrice: bigint): bigint {
  return BigInt(topK) * maxSourcePrice;
}

/**
 * An answer's hold (shared/services/answers.ts) with the prompt at its largest: the whole context
 * window, and with causal attribution one more pass per source plus one over the whole prompt.
 */
export function maxAnswerCost(b: AnswerBound): bigint {
  const causalTokens = b.causal ? (b.contextTokens + b.maxTokens) * (b.topK + 1) : 0;
  return (
    tokenCost(b.contextTokens + causalTokens, b.inputPricePerMillion) +
    tokenCost(b.maxTokens, b.outputPricePerMillion) +
    BigInt(b.topK) * b.maxSourcePrice
  );
}
