import { attribute, type Attribution } from './attribution.ts';
import { splitDataFee } from './data-fee.ts';
import { toPpmWeights } from './money.ts';
import type { LedgerEntry } from './ledger.ts';

export interface BillableSource {
  contributorAccountId: string;
  datanetId: string;
  documentId: string;
  pricePerSource: bigint;
  /** attribution weight (core/attribution.ts) in parts per million */
  weightPpm: bigint;
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
 * The consumer pays the listed price of every returned source that credits someone
 * (core/data-fee.ts); the protocol keeps its fee; the rest is split over those sources by
 * normalized retrieval score (largest remainder), so the entries always sum to zero.
 */
export function priceRetrieval(params: {
  consumerAccountId: string;
  protocolAccountId: string;
  feeBps: number;
  sources: readonly BillableSource[];
}): RetrievalCharge {
  const { sources } = params;
  const split = splitDataFee(sources, params.feeBps);
  const { gross: total, protocolFee, dataFee: dataShare, credits } = split;
  const entries: LedgerEntry[] = [];
  if (total > 0n) {
    entries.push({ accountId: params.consumerAccountId, amount: -total });
    if (protocolFee > 0n) entries.push({ accountId: params.protocolAccountId, amount: protocolFee });
    sources.forEach((s, i) => {
      if (credits[i]! > 0n)
        entries.push({ accountId: s.contributorAccountId, amount: credits[i]!, datanetId: s.datanetId, documentId: s.documentId });
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
export function settleRetrieval<S extends Omit<BillableSource, 'weightPpm'> & { score: number; duplicateOf: number | null }>(params: {
  consumerAccountId: string;
  protocolAccountId: string;
  feeBps: number;
  sources: readonly S[];
}): { attribution: Attribution; weightsPpm: bigint[]; charge: RetrievalCharge } {
  const attribution = attribute({ retrievalScores: params.sources.map((s) => s.score), duplicateOf: params.sources.map((s) => s.duplicateOf) });
  const weightsPpm = toPpmWeights(attribution.weights);
  const charge = priceRetrieval({ ...params, sources: params.sources.map((s, i) => ({ ...s, weightPpm: weightsPpm[i]! })) });
  return { attribution, weightsPpm, charge };
}

/** Token charge, rounded up to the next micro-unit so a call is never free by rounding. */
export function tokenCost(tokens: number, pricePerMillion: bigint): bigint {
  return (BigInt(tokens) * pricePerMillion + 999_999n) / 1_000_000n;
}
