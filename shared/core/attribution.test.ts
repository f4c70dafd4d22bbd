import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ANSWER_FORMULA_V1, MIX, RETRIEVAL_FORMULA_V1, attribute, type AttributionInput } from './attribution.ts';
import { findNearDuplicates } from './near-duplicates.ts';
import { splitByWeights, toPpmWeights } from './money.ts';

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** The v1 blend, kept so receipts written under it can be recomputed. */
const v1 = (input: AttributionInput) =>
  attribute({ ...input, formula: input.sentences ? ANSWER_FORMULA_V1 : RETRIEVAL_FORMULA_V1 });

describe('attribute (v1 formulas)', () => {
  it('a retrieval is weighed by normalised retrieval scores', () => {
    const a = v1({ retrievalScores: [3, 1] });
    expect(a.formulaVersion).toBe(RETRIEVAL_FORMULA_V1);
    expect(a.weights).toEqual([0.75, 0.25]);
    expect(a.signals[0]).toEqual({
      retrieval: 0.75,
      citation: null,
      unsupported: false,
      causal: null,
      duplicateOf: null,
    });
  });

  it('follows supported citations, keeps a retrieval share, and pays nothing for an unsupported citation', () => {
    const a = v1({
      retrievalScores: [1, 1, 1],
      sentences: [
        { sources: [{ number: 1, supported: true }] },
        {
          sources: [
            { number: 1, supported: true },
            { number: 2, supported: true },
          ],
        },
        { sources: [{ number: 3, supported: false }] },
      ],
    });
    expect(a.formulaVersion).toBe(ANSWER_FORMULA_V1);
    expect(a.signals.map((s) => s.citation)).toEqual([0.75, 0.25, 0]);
    expect(a.signals.map((s) => s.unsupported)).toEqual([false, false, true]);
    expect(a.weights[0]).toBeCloseTo(MIX.cited.retrieval / 3 + MIX.cited.citation * 0.75, 12);
    expect(a.weights[2]).toBeCloseTo(MIX.cited.retrieval / 3, 12);
  });

  it('falls back to retrieval scores when nothing supported is cited', () => {
    expect(v1({ retrievalScores: [3, 1], sentences: [] }).weights).toEqual([0.75, 0.25]);
    expect(v1({ retrievalScores: [3, 1], sentences: [{ sources: [{ number: 9, supported: true }] }] }).weights).toEqual(
      [0.75, 0.25],
    );
  });

  it('blends in the leave-one-out signal: a source the answer depends on gains weight', () => {
    const sentences = [
      {
        sources: [
          { number: 1, supported: true },
          { number: 2, supported: true },
        ],
      },
    ];
    const without = v1({ retrievalScores: [1, 1], sentences });
    const withCausal = v1({
      retrievalScores: [1, 1],
      sentences,
      causal: { answerLogprob: -10, withoutSource: [-30, -10.5] },
    });
    expect(without.weights).toEqual([0.5, 0.5]);
    expect(withCausal.signals.map((s) => s.causal)).toEqual([20 / 20.5, 0.5 / 20.5]);
    expect(withCausal.weights[0]).toBeGreaterThan(0.6);
    // Log-probabilities that do not drop, or do not match the sources, are no signal at all.
    expect(
      v1({ retrievalScores: [1, 1], sentences, causal: { answerLogprob: -10, withoutSource: [-9, -10] } }).signals[0]!
        .causal,
    ).toBeNull();
    expect(
      v1({ retrievalScores: [1, 1], sentences, causal: { answerLogprob: -10, withoutSource: [-20] } }).signals[0]!
        .causal,
    ).toBeNull();
  });

  it('near-duplicates share one source weight, which goes to the earliest upload', () => {
    const plain = v1({ retrievalScores: [2, 2, 1] });
    const deduped = v1({ retrievalScores: [2, 2, 1], duplicateOf: [null, 0, null] });
    expect(plain.weights).toEqual([0.4, 0.4, 0.2]);
    // Without the copy the same call would weigh [2, 1]: the copy adds nothing for anyone.
    expect(deduped.weights).toEqual([2 / 3, 0, 1 / 3]);
    expect(deduped.signals[1]!.duplicateOf).toBe(0);
    // A copy ranked above the original still pays the original.
    expect(v1({ retrievalScores: [3, 1], duplicateOf: [1, null] }).weights).toEqual([0, 1]);
  });

  it('weights are a distribution, copies earn nothing, and the exact split sums to the whole (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 0, max: 5, noNaN: true }), fc.boolean(), fc.boolean()), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.boolean(),
        (rows, total, withCausal) => {
          const n = rows.length;
          const duplicateOf = rows.map((_, i) => (i > 0 && rows[i]![1] ? 0 : null));
          const a = v1({
            retrievalScores: rows.map((r) => r[0]),
            duplicateOf,
            sentences: rows.map((r, i) => ({ sources: [{ number: i + 1, supported: r[2] }] })),
            causal: withCausal ? { answerLogprob: 0, withoutSource: rows.map((r) => -r[0]) } : null,
          });
          expect(a.weights).toHaveLength(n);
          expect(sum(a.weights)).toBeCloseTo(1, 9);
          a.weights.forEach((w, i) => {
            expect(w).toBeGreaterThanOrEqual(0);
            if (duplicateOf[i] !== null) expect(w).toBe(0);
          });
          const parts = splitByWeights(total, toPpmWeights(a.weights));
          expect(parts.reduce((x, y) => x + y, 0n)).toBe(total);
        },
      ),
    );
  });
});

describe('findNearDuplicates', () => {
  const unit = (v: number[]) => {
    const l = Math.hypot(...v);
    return v.map((x) => x / l);
  };
  const item = (documentId: string, uploadedAt: number, contentKey: string, vector: number[] | null) => ({
    documentId,
    uploadedAt,
    contentKey,
    vector: vector && unit(vector),
  });

  it('groups by content or near-identical embedding, earliest upload first', () => {
    const dup = findNearDuplicates([
      item('doc_b', 20, 'h1:0-10', [1, 0, 0]),
      item('doc_a', 10, 'h1:0-10', [0, 1, 0]), // same content, uploaded earlier
      item('doc_c', 30, 'h2:0-10', [0, 0.01, 1]),
      item('doc_d', 40, 'h3:0-10', [0, 0, 1]), // near-identical vector to doc_c
      item('doc_e', 50, 'h4:0-10', [1, 1, 0]), // different
    ]);
    expect(dup).toEqual([1, null, null, 2, null]);
  });

  it('never groups two passages of the same document', () => {
    expect(findNearDuplicates([item('doc_a', 1, 'h:0-5', [1, 0]), item('doc_a', 1, 'h:0-5', [1, 0])])).toEqual([
      null,
      null,
    ]);
  });

  it('every group points at its earliest member (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 100 })), {
          minLength: 1,
          maxLength: 10,
        }),
        (rows) => {
          const items = rows.map(([content, at], i) => item(`doc_${i}`, at, `h${content}`, null));
          const dup = findNearDuplicates(items);
          dup.forEach((d, i) => {
            const group = items.map((x, j) => ({ x, j })).filter(({ x }) => x.contentKey === items[i]!.contentKey);
            const first = group.reduce((a, b) =>
              b.x.uploadedAt < a.x.uploadedAt || (b.x.uploadedAt === a.x.uploadedAt && b.x.documentId < a.x.documentId)
                ? b
                : a,
            );
            expect(d ?? i).toBe(first.j);
          });
        },
      ),
    );
  });
});
