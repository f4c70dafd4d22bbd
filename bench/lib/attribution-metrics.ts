// What bench:attribution measures, pure: per question, where the gold documents ranked, which
// documents the call paid and cited, and what the gold sources it showed list at; folded per
// corpus × split into the figures. Documents are named by their corpus ids.
import { goldRank } from './quality.ts';
import { percentile } from './stats.ts';

export interface ShownSource {
  /** corpus document id */
  doc: string;
  /** the datanet's listed price per source, micro-USD */
  price: number;
}

export interface CallOutcome {
  gold: readonly string[];
  /** sources in the order the call returned (retrieve) or showed them to the generator (answers) */
  shown: readonly ShownSource[];
  /** data fee credited per corpus document (attribution amounts), micro-USD */
  paid: Readonly<Record<string, number>>;
  /** documents cited by the answer's sentences (empty for retrieve) */
  cited: readonly string[];
  latencyMs: number;
}

export interface AttributionFigures {
  questions: number;
  recallAt1: number;
  recallAt5: number;
  /** share of all data fees credited to gold documents (pooled over the questions) */
  payPrecision: number;
  /** share of calls that cite a gold document (answers) */
  citesGold: number;
  /** the same, among the calls where a gold document was among the first five shown */
  citesGoldWhenInTop5: number;
  /** share of calls that credit anything to a non-gold document */
  paysNonGold: number;
  /** Σ data fee ÷ Σ listed price of the gold sources shown, over calls that showed one */
  feeOverGoldOnly: number;
  meanFee: number;
  meanGoldOnlyFee: number;
  /** share of calls that returned no source */
  empty: number;
  p50Ms: number;
}

const sum = (xs: Iterable<number>) => [...xs].reduce((a, b) => a + b, 0);
const share = (xs: readonly boolean[]) => (xs.length === 0 ? NaN : xs.filter(Boolean).length / xs.length);

/** Distinct documents in the order first shown. */
export function shownDocuments(shown: readonly ShownSource[]): string[] {
  return [...new Set(shown.map((s) => s.doc))];
}

/** The listed price of every gold source the call showed (each source is one use). */
export function goldOnlyFee(o: CallOutcome): number {
  return sum(o.shown.filter((s) => o.gold.includes(s.doc)).map((s) => s.price));
}

export function attributionFigures(outcomes: readonly CallOutcome[]): AttributionFigures {
  const ranks = outcomes.map((o) => goldRank(shownDocuments(o.shown), o.gold));
  const fees = outcomes.map((o) => sum(Object.values(o.paid)));
  const toGold = sum(
    outcomes.map((o) =>
      sum(
        Object.entries(o.paid)
          .filter(([d]) => o.gold.includes(d))
          .map(([, a]) => a),
      ),
    ),
  );
  const totalFees = sum(fees);
  const withGold = outcomes.map((o, i) => ({ o, i, gold: goldOnlyFee(o) })).filter((x) => x.gold > 0);
  const citesGold = outcomes.map((o) => o.cited.some((d) => o.gold.includes(d)));
  const goldInTop5 = ranks.map((r) => r >= 1 && r <= 5);
  return {
    questions: outcomes.length,
    recallAt1: share(ranks.map((r) => r === 1)),
    recallAt5: share(goldInTop5),
    payPrecision: totalFees > 0 ? toGold / totalFees : NaN,
    citesGold: share(citesGold),
    citesGoldWhenInTop5: share(citesGold.filter((_, i) => goldInTop5[i])),
    paysNonGold: share(outcomes.map((o) => Object.entries(o.paid).some(([d, a]) => a > 0 && !o.gold.includes(d)))),
    feeOverGoldOnly:
      withGold.length === 0 ? NaN : sum(withGold.map((x) => fees[x.i]!)) / sum(withGold.map((x) => x.gold)),
    meanFee: outcomes.length === 0 ? NaN : totalFees / outcomes.length,
    meanGoldOnlyFee: withGold.length === 0 ? NaN : sum(withGold.map((x) => x.gold)) / withGold.length,
    empty: share(outcomes.map((o) => o.shown.length === 0)),
    p50Ms: percentile(
      [...outcomes.map((o) => o.latencyMs)].sort((a, b) => a - b),
      50,
    ),
  };
}

/** Amounts per corpus document from an attribution's sources (`amount` is a micro-unit string). */
export function paidByDocument(
  sources: readonly { documentId: string; amount: string }[],
  corpusOf: (documentId: string) => string,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of sources) {
    const doc = corpusOf(s.documentId);
    out[doc] = (out[doc] ?? 0) + Number(s.amount);
  }
  return out;
}

/** Deterministic datanet for a corpus document: round-robin over the sorted ids. */
export function assignDatanets<T extends { id: string }>(docs: readonly T[], datanets: number): T[][] {
  const out: T[][] = Array.from({ length: datanets }, () => []);
  [...docs].sort((a, b) => (a.id < b.id ? -1 : 1)).forEach((d, i) => out[i % datanets]!.push(d));
  return out;
}
