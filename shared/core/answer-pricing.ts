import { ANSWER_FORMULA } from './attribution.ts';
import { dataFeeFor } from './data-fee.ts';
import { bpsOf } from './money.ts';
import type { LedgerEntry } from './ledger.ts';

export interface AnswerSource {
  contributorAccountId: string;
  datanetId: string;
  documentId: string;
  pricePerSource: bigint;
  weightPpm: bigint;
  /** answer-v2: the answer used this source (cited and supported): one use at its listed price */
  used: boolean;
}

export interface AnswerCharge {
  total: bigint;
  tokenCharge: bigint;
  /** credited to contributors (Σ credits); the protocol's fee on the sources is in protocolFee */
  dataFee: bigint;
  adapterFee: bigint;
  protocolFee: bigint;
  credits: bigint[];
  entries: LedgerEntry[];
}

/**
 * One answer's money as one balanced transaction: the consumer pays the token charge plus,
 * under answer-v2, the listed price of each source the answer used, each credited to its owner
 * less the protocol fee (answer-v1: each source shown that credits someone, the pool split by
 * weight; core/data-fee.ts); an adapter
 * owner gets its share of the token charge; the protocol keeps the rest. So
 * total == dataFee + adapterFee + protocolFee, and dataFee == Σ credits. The total never
 * exceeds `cap` (the amount held when the answer was accepted): token charge is reduced first.
 */
export function priceAnswer(params: {
  consumerAccountId: string;
  protocolAccountId: string;
  feeBps: number;
  tokenCharge: bigint;
  cap: bigint;
  sources: readonly AnswerSource[];
  adapter: { ownerAccountId: string; shareBps: number } | null;
  formula?: string;
}): AnswerCharge {
  const {
    gross,
    protocolFee: dataProtocolFee,
    dataFee,
    credits,
  } = dataFeeFor(params.formula ?? ANSWER_FORMULA, params.sources, params.feeBps);
  const tokenCharge = minBig(params.tokenCharge, maxBig(0n, params.cap - gross));
  const adapterFee = params.adapter ? bpsOf(tokenCharge, params.adapter.shareBps) : 0n;
  const protocolFee = dataProtocolFee + tokenCharge - adapterFee;
  const total = gross + tokenCharge;
  const entries: LedgerEntry[] = [];
  if (total > 0n) {
    entries.push({ accountId: params.consumerAccountId, amount: -total });
    if (protocolFee > 0n) entries.push({ accountId: params.protocolAccountId, amount: protocolFee });
    if (adapterFee > 0n) entries.push({ accountId: params.adapter!.ownerAccountId, amount: adapterFee });
    params.sources.forEach((s, i) => {
      if (credits[i]! > 0n)
        entries.push({
          accountId: s.contributorAccountId,
          amount: credits[i]!,
          datanetId: s.datanetId,
          documentId: s.documentId,
        });
    });
  }
  return { total, tokenCharge, dataFee, adapterFee, protocolFee, credits, entries };
}

const minBig = (a: bigint, b: bigint) => (a < b ? a : b);
const maxBig = (a: bigint, b: bigint) => (a > b ? a : b);
