// Who contributed to a call, pure. Every weight is recorded with its formula version and
// the signals behind it, so any recorded split can be recomputed from the receipt.

// v2 (current) prices per use: a source is charged its listed price once when it was used
// (returned by a retrieval; cited and supported by an answer) and nothing otherwise. v1 charged
// every source shown with a weight and split the pool by weight; it stays computable so receipts
// written under it can be recomputed (pass `formula`).
export const RETRIEVAL_FORMULA = 'retrieval-v2';
export const ANSWER_FORMULA = 'answer-v2';
export const RETRIEVAL_FORMULA_V1 = 'retrieval-v1';
export const ANSWER_FORMULA_V1 = 'answer-v1';
export type FormulaVersion =
  | typeof RETRIEVAL_FORMULA
  | typeof ANSWER_FORMULA
  | typeof RETRIEVAL_FORMULA_V1
  | typeof ANSWER_FORMULA_V1;

/** Whether a formula charges per use (v2) rather than splitting the prices shown by weight (v1). */
export function isPerUse(formula: string): boolean {
  return formula === RETRIEVAL_FORMULA || formula === ANSWER_FORMULA;
}

/** Blend of the signals for an answer; the retrieval share keeps paying for context even when the answer cites. */
export const MIX = {
  cited: { retrieval: 0.2, citation: 0.8, causal: 0 },
  citedWithCausal: { retrieval: 0.15, citation: 0.55, causal: 0.3 },
  uncitedWithCausal: { retrieval: 0.5, citation: 0, causal: 0.5 },
} as const;

export interface CitedSentence {
  /** 1-based source numbers cited by the sentence, each with its support check. */
  sources: { number: number; supported: boolean }[];
}

/** Leave-one-out log-probabilities from the generator (see gpu-worker). */
export interface CausalScores {
  answerLogprob: number;
  /** index i: the answer's log-probability with source i+1 removed from the prompt */
  withoutSource: number[];
}

export interface AttributionInput {
  /** retrieval score of each shown source, in order */
  retrievalScores: readonly number[];
  /** index of the earlier upload each source duplicates, or null (see near-duplicates.ts) */
  duplicateOf?: readonly (number | null)[];
  /** answers only: the answer's sentences and what they cite */
  sentences?: readonly CitedSentence[];
  causal?: CausalScores | null;
  /** document of each source: under answer-v2 an answer uses a document at most once */
  documentIds?: readonly string[];
  /** the formula to apply; the current one for this kind of call when left out */
  formula?: FormulaVersion;
}

export interface SourceSignals {
  retrieval: number;
  /** share of the answer's supported citations; null for a plain retrieval */
  citation: number | null;
  /** cited by some sentence whose support check it failed, and by none it passed */
  unsupported: boolean;
  /** normalised drop in the answer's log-probability without this source; null when not measured */
  causal: number | null;
  /** index of the earlier upload this source duplicates: its weight went there */
  duplicateOf: number | null;
  /** v2: this source counts as one use in the call (charged its listed price); absent under v1 */
  used?: boolean;
}

export interface Attribution {
  formulaVersion: string;
  /** non-negative, sum to 1 (empty for no sources; all 0 under answer-v2 when no source was used) */
  weights: number[];
  signals: SourceSignals[];
}

/**
 * Weights = a blend of normalised retrieval scores, supported-citation shares and (when the
 * generator measured it) the leave-one-out causal signal (v1), or, under answer-v2, each used
 * source's share of the answer's supported sentences. A cited source that fails the support
 * check earns nothing from that sentence. A group of near-duplicates counts as ONE source: the
 * group's weight (and, under v2, its use) goes to the earliest upload.
 */
export function attribute(input: AttributionInput): Attribution {
  const n = input.retrievalScores.length;
  const isAnswer = input.sentences !== undefined;
  const formula = input.formula ?? (isAnswer ? ANSWER_FORMULA : RETRIEVAL_FORMULA);
  const retrieval = normalise(input.retrievalScores.map((s) => Math.max(0, s)));
  const citationShares = isAnswer ? citationSignal(n, input.sentences!) : null;
  const causal = input.causal ? causalSignal(n, input.causal) : null;
  const duplicateOf = input.duplicateOf ?? new Array<number | null>(n).fill(null);

  const { weights, used } = isPerUse(formula)
    ? perUseWeights(
        retrieval,
        citationShares?.shares ?? null,
        causal,
        isAnswer ? sameDocumentAs(duplicateOf, input.documentIds) : duplicateOf,
      )
    : { weights: blendedWeights(retrieval, citationShares, causal, duplicateOf), used: null };
  return {
    formulaVersion: formula,
    weights,
    signals: retrieval.map((r, i) => ({
      retrieval: r,
      citation: citationShares ? citationShares.shares[i]! : null,
      unsupported: citationShares ? citationShares.unsupported.has(i) : false,
      causal: causal ? causal[i]! : null,
      duplicateOf: duplicateOf[i] ?? null,
      ...(used ? { used: used[i]! } : {}),
    })),
  };
}

/** v1: the signals blended into weights over every source shown. */
function blendedWeights(
  retrieval: number[],
  citationShares: ReturnType<typeof citationSignal> | null,
  causal: number[] | null,
  duplicateOf: readonly (number | null)[],
): number[] {
  const mix = citationShares?.counted
    ? causal
      ? MIX.citedWithCausal
      : MIX.cited
    : causal
      ? MIX.uncitedWithCausal
      : null;
  const blended = mix
    ? retrieval.map(
        (r, i) => mix.retrieval * r + mix.citation * (citationShares?.shares[i] ?? 0) + mix.causal * (causal?.[i] ?? 0),
      )
    : retrieval;
  const collapsed = collapseDuplicates(blended, duplicateOf);
  // All-zero signals split evenly, but still over distinct sources only.
  return normalise(
    collapsed.every((w) => w === 0) ? duplicateOf.map((d, i) => (d === null || d === i ? 1 : 0)) : collapsed,
  );
}

/**
 * v2: which sources count as a use, and their weights. A retrieval uses every source it returns
 * (near-duplicates collapse into the earliest upload). An answer uses a source that supports at
 * least one of its sentences and, where the causal signal was measured, whose removal made the
 * answer less likely; a passage only shown is not used. Weights: each used source's share of the
 * supported sentences (retrieval: of the normalised scores), for the record — the money is per use.
 */
function perUseWeights(
  retrieval: number[],
  citation: number[] | null,
  causal: number[] | null,
  duplicateOf: readonly (number | null)[],
) {
  // A retrieval uses what it returns; its weights record the (normalised) scores.
  const contribution = citation
    ? citation.map((c, i) => (c > 0 && (causal === null || causal[i]! > 0) ? c : 0))
    : retrieval;
  const usedHere = citation ? contribution.map((c) => c > 0) : retrieval.map(() => true);
  const used = usedHere.map(() => false);
  const collapsed = contribution.map(() => 0);
  usedHere.forEach((u, i) => {
    if (!u) return;
    const c = canonicalOf(i, duplicateOf);
    used[c] = true;
    collapsed[c] = Math.max(collapsed[c]!, contribution[i]!);
  });
  // A retrieval whose scores are all 0 still used its sources: even weights over them.
  const weights = collapsed.some((w) => w > 0)
    ? normalise(collapsed)
    : used.some(Boolean)
      ? normalise(used.map((u) => (u ? 1 : 0)))
      : collapsed;
  return { weights, used };
}

/**
 * For an answer's uses: each source's near-duplicate mark, or else the first source of the same
 * document (quoting two passages of one document is one use of it, paid to its first passage).
 */
function sameDocumentAs(
  duplicateOf: readonly (number | null)[],
  documentIds: readonly string[] | undefined,
): (number | null)[] {
  if (!documentIds) return [...duplicateOf];
  return duplicateOf.map((d, i) => {
    if (d !== null && d !== undefined) return d;
    // the document's first passage that is no copy of another upload (i itself at the latest)
    const first = documentIds.findIndex((doc, j) => doc === documentIds[i] && (duplicateOf[j] ?? null) === null);
    return first >= 0 && first < i ? first : null;
  });
}

/** The earliest upload of a near-duplicate group (following marks, in case one points at another copy). */
function canonicalOf(i: number, duplicateOf: readonly (number | null)[]): number {
  let at = i;
  for (let steps = 0; steps < duplicateOf.length; steps++) {
    const next = duplicateOf[at];
    if (next === null || next === undefined || next === at || next < 0 || next >= duplicateOf.length) return at;
    at = next;
  }
  return at;
}

/** Each sentence with a supported citation weighs the same and splits over the sources that support it. */
function citationSignal(n: number, sentences: readonly CitedSentence[]) {
  const shares = new Array<number>(n).fill(0);
  const supportedSomewhere = new Set<number>();
  const failedSomewhere = new Set<number>();
  let counted = 0;
  for (const sentence of sentences) {
    const valid = sentence.sources.filter((s) => s.number >= 1 && s.number <= n);
    for (const s of valid) (s.supported ? supportedSomewhere : failedSomewhere).add(s.number - 1);
    const supported = [...new Set(valid.filter((s) => s.supported).map((s) => s.number - 1))];
    if (supported.length === 0) continue;
    counted++;
    for (const i of supported) shares[i]! += 1 / supported.length;
  }
  if (counted > 0) for (let i = 0; i < n; i++) shares[i]! /= counted;
  const unsupported = new Set([...failedSomewhere].filter((i) => !supportedSomewhere.has(i)));
  return { shares, counted, unsupported };
}

/** How much less likely the answer is without each source; null when no source mattered. */
function causalSignal(n: number, scores: CausalScores): number[] | null {
  if (scores.withoutSource.length !== n || !Number.isFinite(scores.answerLogprob)) return null;
  const drops = scores.withoutSource.map((lp) => (Number.isFinite(lp) ? Math.max(0, scores.answerLogprob - lp) : 0));
  return drops.some((d) => d > 0) ? normalise(drops) : null;
}

function collapseDuplicates(weights: readonly number[], duplicateOf: readonly (number | null)[]): number[] {
  const out = [...weights];
  weights.forEach((w, i) => {
    const canonical = duplicateOf[i];
    if (canonical === null || canonical === undefined || canonical === i) return;
    out[canonical] = Math.max(out[canonical]!, w);
    out[i] = 0;
  });
  return out;
}

function normalise(values: readonly number[]): number[] {
  const sum = values.reduce((a, b) => a + b, 0);
  if (values.length === 0) return [];
  return sum > 0 ? values.map((v) => v / sum) : values.map(() => 1 / values.length);
}
