import { attribute, RETRIEVAL_FORMULA, type Attribution, type FormulaVersion } from './attribution.ts';
import { dataFeeFor } from './data-fee.ts';
import { toPpmWeights } from './money.ts';
import type { LedgerEntry } from './ledger.ts';

export interface BillableSource {
  contributorAccountId: string;
  datanetId: string;
  documentId: string;
  pricePerSource: bigint;
  /** attribution weight (core/attribution.ts) in parts per million */
  weightPpm: bigint;
  /** v2: the call used this source (one use, charged its listed price); ignored by v1 */
  used: boolean;
}

export interface SourceAttribution {
  weightPpm: bigint;
  /** its listed price was charged (core/data-fee.ts: only sources that credit someone are) */
  charged: boolean;
  credited: bigint;
}

export interface RetrievalCharge {
  total: bigint;
  protocolFee: bigint;
  /** credited to contributors: Σ sources[].credited */
  dataShare: bigint;
  sources: SourceAttribution[];
  entries: LedgerEntry[];
}

/**
 * retrieval-v2: the consumer pays the listed price of each returned source (one use each; a
 * near-duplicate's use goes to the earliest upload) and each owner is credited that price less
 * the protocol fee. retrieval-v1: every returned source that credits someone is charged and the
 * pool is split by normalized retrieval score (core/data-fee.ts). The entries always sum to zero.
 */
export function priceRetrieval(params: {
  consumerAccountId: string;
  protocolAccountId: string;
  feeBps: number;
  sources: readonly BillableSource[];
  formula?: string;
}): RetrievalCharge {
  const { sources } = params;
  const split = dataFeeFor(params.formula ?? RETRIEVAL_FORMULA, sources, params.feeBps);
  const { gross: total, protocolFee, dataFee: dataShare, credits } = split;
  const entries: LedgerEntry[] = [];
  if (total > 0n) {
    entries.push({ accountId: params.consumerAccountId, amount: -total });
    if (protocolFee > 0n) entries.push({ accountId: params.protocolAccountId, amount: protocolFee });
    sources.forEach((s, i) => {
      if (credits[i]! > 0n)
        entries.push({
          accountId: s.contributorAccountId,
          amount: credits[i]!,
          datanetId: s.datanetId,
          documentId: s.documentId,
        });
    });
  }
  return {
    total,
    protocolFee,
    dataShare,
    sources: sources.map((s, i) => ({ weightPpm: s.weightPpm, charged: split.charged[i]!, credited: credits[i]! })),
    entries,
  };
}

/**
 * A retrieval's money from its plain facts: retrieval scores (and near-duplicate marks) →
 * attribution weights → the charge and its balanced ledger lines. No I/O; billing posts it.
 */
export function retrievalCharge<
  S extends Omit<BillableSource, 'weightPpm' | 'used'> & { score: number; duplicateOf: number | null },
>(params: {
  consumerAccountId: string;
  protocolAccountId: string;
  feeBps: number;
  sources: readonly S[];
  /** the current formula when left out; `retrieval-v1` recomputes a receipt written under it */
  formula?: FormulaVersion;
}): { attribution: Attribution; weightsPpm: bigint[]; charge: RetrievalCharge } {
  const attribution = attribute({
    retrievalScores: params.sources.map((s) => s.score),
    duplicateOf: params.sources.map((s) => s.duplicateOf),
    formula: params.formula,
  });
  const weightsPpm = weightsInPpm(attribution.weights);
  const charge = priceRetrieval({
    ...params,
    formula: attribution.formulaVersion,
    sources: params.sources.map((s, i) => ({
      ...s,
      weightPpm: weightsPpm[i]!,
      used: attribution.signals[i]!.used ?? false,
    })),
  });
  return { attribution, weightsPpm, charge };
}

/** Weights as ppm summing to 1e6; all zero stays all zero (an answer-v2 that used no source). */
export function weightsInPpm(weights: readonly number[]): bigint[] {
  return weights.every((w) => w === 0) ? weights.map(() => 0n) : toPpmWeights(weights);
}

/** Token charge, rounded up to the next micro-unit so a call is never free by rounding. */
export function tokenCost(tokens: number, pricePerMillion: bigint): bigint {
  return (BigInt(tokens) * pricePerMillion + 999_999n) / 1_000_000n;
}
