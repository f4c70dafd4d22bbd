import { bpsOf, splitByWeights } from './money.ts';

// The pricing rule for sources, shared by retrievals and answers. A consumer pays the listed
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

export function splitDataFee(sources: readonly PricedSource[], feeBps: number): DataFeeSplit {
  // Start from every source with a weight; drop any that the split leaves without a credit and
  // split again. Each round drops at least one source, so this ends within sources.length rounds.
  const charged = sources.map((s) => s.weightPpm > 0n);
  for (;;) {
    const gross = sources.reduce((a, s, i) => (charged[i] ? a + s.pricePerSource : a), 0n);
    const protocolFee = bpsOf(gross, feeBps);
    const dataFee = gross - protocolFee;
    const credits = charged.some(Boolean)
      ? splitByWeights(dataFee, sources.map((s, i) => (charged[i] ? s.weightPpm : 0n)))
      : sources.map(() => 0n);
    const unpaid = charged.map((c, i) => c && credits[i] === 0n && gross > 0n);
    if (!unpaid.some(Boolean)) return { gross, protocolFee, dataFee, charged, credits };
    unpaid.forEach((u, i) => {
      if (u) charged[i] = false;
    });
  }
}
