import { isPerUse } from './attribution.ts';
import { bpsOf, splitByWeights } from './money.ts';

// The pricing rules for sources, shared by retrievals and answers, by formula version.
//
// v2 (retrieval-v2, answer-v2; `chargePerUse`): an owner's price is the price of ONE use — one
// source returned by a retrieval, or one source an answer used (cited and supported). Each use
// costs the consumer exactly the listed price and earns the owner that price less the protocol's
// fee on it, whatever else the call used: what a use earns is price − ⌊price × feeBps / 10 000⌋.
//
// v1 (kept so stored receipts can be recomputed; `splitDataFee`): a consumer pays the listed
// price of a source only if that source credits its contributor something: the price of a source
// with attribution weight 0 (a near-duplicate, or one the rounding leaves at 0) is not charged.
// The charged prices (`gross`) pay the protocol its fee and the rest (`dataFee`) is split over the
// charged sources by weight, so on every call dataFee == Σ credits and gross == dataFee + protocolFee.

export interface PricedSource {
  pricePerSource: bigint;
  /** attribution weight in parts per million */
  weightPpm: bigint;
}

export interface DataFeeSplit {
  /** listed prices of the charged sources: what the consumer pays for data */
  gross: bigint;
  /** the protocol's fee on `gross` */
  protocolFee: bigint;
  /** what contributors are credited: gross − protocolFee == Σ credits */
  dataFee: bigint;
  /** per source: true when its listed price is in `gross` (then its credit is > 0, unless gross is 0) */
  charged: boolean[];
  /** per source: its share of `dataFee` (0 for every source not charged) */
  credits: bigint[];
}

/** A source as the v2 rule sees it: its listed price and whether the call used it. */
export interface UsedSource {
  pricePerSource: bigint;
  used: boolean;
}

/** v2: each used source is charged its own listed price and credited it less the protocol fee. */
/** A use whose price would credit its owner nothing (price 0, or a 100 % fee) is not charged either. */
export function chargePerUse(sources: readonly UsedSource[], feeBps: number): DataFeeSplit {
  const charged = sources.map((s) => s.used && s.pricePerSource - bpsOf(s.pricePerSource, feeBps) > 0n);
  const fees = sources.map((s, i) => (charged[i] ? bpsOf(s.pricePerSource, feeBps) : 0n));
  const credits = sources.map((s, i) => (charged[i] ? s.pricePerSource - fees[i]! : 0n));
  const gross = sources.reduce((a, s, i) => (charged[i] ? a + s.pricePerSource : a), 0n);
  const protocolFee = fees.reduce((a, b) => a + b, 0n);
  return { gross, protocolFee, dataFee: gross - protocolFee, charged, credits };
}

/** The data fee of a call under `formula`: per use (v2) or the v1 split by weight. */
export function dataFeeFor(
  formula: string,
  sources: readonly (PricedSource & UsedSource)[],
  feeBps: number,
): DataFeeSplit {
  return isPerUse(formula) ? chargePerUse(sources, feeBps) : splitDataFee(sources, feeBps);
}

/** v1: every source with a weight is charged; the pool is split by weight. */
export function splitDataFee(sources: readonly PricedSource[], feeBps: number): DataFeeSplit {
  // Start from every source with a weight; drop any that the split leaves without a credit and
  // split again. Each round drops at least one source, so this ends within sources.length rounds.
  const charged = sources.map((s) => s.weightPpm > 0n);
  for (;;) {
    const gross = sources.reduce((a, s, i) => (charged[i] ? a + s.pricePerSource : a), 0n);
    const protocolFee = bpsOf(gross, feeBps);
    const dataFee = gross - protocolFee;
    const credits = charged.some(Boolean)
      ? splitByWeights(
          dataFee,
          sources.map((s, i) => (charged[i] ? s.weightPpm : 0n)),
        )
      : sources.map(() => 0n);
    const unpaid = charged.map((c, i) => c && credits[i] === 0n && gross > 0n);
    if (!unpaid.some(Boolean)) return { gross, protocolFee, dataFee, charged, credits };
    unpaid.forEach((u, i) => {
      if (u) charged[i] = false;
    });
  }
}
