import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { answerCharge, type AnswerChargeInput } from './answer-charge.ts';
import { sumEntries } from './ledger.ts';
import { bpsOf } from './money.ts';
import { retrievalCharge } from './retrieval-charge.ts';

// The v2 rule (retrieval-v2, answer-v2): an owner's price is the price of one use. Every
// expectation below is computed from the inputs alone (which checks passed, which sources are
// copies of which), never from the flags or weights the charge itself reports.

const CONSUMER = 'acct_consumer';
const PROTOCOL = 'acct_protocol';

/** What one use of a source earns its owner: its price less the protocol's fee on it (rounded down). */
const earnsPerUse = (price: bigint, feeBps: number) => price - (price * BigInt(feeBps)) / 10_000n;

/** Near-duplicate marks always point at an earlier, canonical source (as findNearDuplicates makes them). */
const sourcesOf = (n: number) =>
  fc
    .array(
      fc.record({
        score: fc.double({ min: -1, max: 1, noNaN: true }),
        contributorAccountId: fc.constantFrom('acct_a', 'acct_b', 'acct_c'),
        datanetId: fc.constantFrom('dn_1', 'dn_2'),
        documentId: fc.constantFrom('doc_1', 'doc_2', 'doc_3'),
        pricePerSource: fc.bigInt({ min: 0n, max: 50_000n }),
        copy: fc.boolean(),
      }),
      { minLength: n, maxLength: n },
    )
    .map((rows) => rows.map(({ copy, ...s }, i) => ({ ...s, duplicateOf: copy && i > 0 ? 0 : null })));

const answerInput = fc.integer({ min: 0, max: 6 }).chain((n) =>
  fc.record({
    sources: sourcesOf(n),
    sentenceCount: fc.integer({ min: 0, max: 4 }),
    checks: fc.array(
      fc.record({
        sentence: fc.integer({ min: 0, max: 4 }),
        number: fc.integer({ min: 0, max: n + 1 }),
        supported: fc.boolean(),
      }),
      { maxLength: 10 },
    ),
    causal: fc.constant(null),
    tokens: fc.record({ prompt: fc.nat(20_000), completion: fc.nat(4_000), attribution: fc.constant(0) }),
    prices: fc.record({
      inputPerMillion: fc.bigInt({ min: 0n, max: 20_000_000n }),
      outputPerMillion: fc.bigInt({ min: 0n, max: 60_000_000n }),
    }),
    consumerAccountId: fc.constant(CONSUMER),
    protocolAccountId: fc.constant(PROTOCOL),
    feeBps: fc.integer({ min: 0, max: 10_000 }),
    cap: fc.bigInt({ min: 0n, max: 1_000_000n }),
    adapter: fc.option(
      fc.record({ ownerAccountId: fc.constant('acct_adapter'), shareBps: fc.integer({ min: 0, max: 10_000 }) }),
      { nil: null },
    ),
  }),
) satisfies fc.Arbitrary<AnswerChargeInput>;

/** Index of the source that takes a use of source i in a retrieval: itself, or the original it copies. */
const owner = (i: number, sources: AnswerChargeInput['sources']) => sources[i]!.duplicateOf ?? i;
/** In an answer a document is used at most once: a copy's use goes to the original, a passage's to its document's first passage. */
const answerOwner = (i: number, sources: AnswerChargeInput['sources']) =>
  sources[i]!.duplicateOf ??
  sources.findIndex((s) => s.documentId === sources[i]!.documentId && s.duplicateOf === null);

/** The sources an answer used, from the support checks alone: supported in a sentence the answer has. */
function usedFromChecks(i: AnswerChargeInput): Set<number> {
  const used = new Set<number>();
  for (const c of i.checks)
    if (c.supported && c.sentence < i.sentenceCount && c.number >= 1 && c.number <= i.sources.length)
      used.add(answerOwner(c.number - 1, i.sources));
  return used;
}

describe('answer-v2: pay per use', () => {
  it('every ledger transaction sums to zero, and the consumer alone is debited', () => {
    fc.assert(
      fc.property(answerInput, (i) => {
        const { charge } = answerCharge(i);
        expect(sumEntries(charge.entries)).toBe(0n);
        for (const e of charge.entries)
          expect(e.accountId === CONSUMER ? e.amount === -charge.total : e.amount > 0n).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('a source earns only from sentences it supports, and each use earns exactly price − fee', () => {
    fc.assert(
      fc.property(answerInput, (i) => {
        const { charge } = answerCharge(i);
        const used = usedFromChecks(i);
        i.sources.forEach((s, k) => {
          const expected = used.has(k) ? earnsPerUse(s.pricePerSource, i.feeBps) : 0n;
          expect(charge.credits[k]).toBe(expected);
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('nothing is charged for a source that credits no one, and the data fee never exceeds the listed prices of the sources used', () => {
    fc.assert(
      fc.property(answerInput, (i) => {
        const { charge } = answerCharge(i);
        const used = usedFromChecks(i);
        const listedUsed = [...used].reduce((a, k) => a + i.sources[k]!.pricePerSource, 0n);
        // What the consumer pays for data: the token charge aside, every micro-unit is a listed price of a source that credits its owner.
        const paidForData = charge.total - charge.tokenCharge;
        const creditingPrices = i.sources.reduce(
          (a, s, k) => a + (earnsPerUse(s.pricePerSource, i.feeBps) > 0n && used.has(k) ? s.pricePerSource : 0n),
          0n,
        );
        expect(paidForData).toBe(creditingPrices);
        expect(paidForData <= listedUsed).toBe(true);
        expect(charge.dataFee <= listedUsed).toBe(true);
        // An answer that used nothing charges no data fee at all.
        if (used.size === 0) expect([paidForData, charge.dataFee]).toEqual([0n, 0n]);
      }),
      { numRuns: 1000 },
    );
  });

  it('quoting two passages of one document is one use of it', () => {
    const passage = (documentId: string) => ({
      score: 0.5,
      duplicateOf: null,
      datanetId: 'dn',
      documentId,
      contributorAccountId: 'acct_a',
      pricePerSource: 1_000n,
    });
    const charged = answerCharge({
      sources: [passage('doc_1'), passage('doc_2'), passage('doc_1')],
      sentenceCount: 2,
      checks: [
        { sentence: 0, number: 1, supported: true },
        { sentence: 1, number: 3, supported: true },
      ],
      tokens: { prompt: 0, completion: 0, attribution: 0 },
      prices: { inputPerMillion: 0n, outputPerMillion: 0n },
      consumerAccountId: CONSUMER,
      protocolAccountId: PROTOCOL,
      feeBps: 1_000,
      cap: 1_000_000n,
      adapter: null,
    });
    expect(charged.charge.credits).toEqual([900n, 0n, 0n]);
    expect(charged.charge.total).toBe(1_000n);
  });

  it('a sentence several sources support is a use of each, at each one’s own price', () => {
    const source = (contributorAccountId: string, pricePerSource: bigint) => ({
      score: 0.5,
      duplicateOf: null,
      datanetId: 'dn',
      documentId: `doc_${contributorAccountId}`,
      contributorAccountId,
      pricePerSource,
    });
    const charged = answerCharge({
      sources: [source('acct_a', 1_000n), source('acct_b', 2_500n), source('acct_c', 1_500n)],
      sentenceCount: 2,
      checks: [
        { sentence: 0, number: 1, supported: true },
        { sentence: 0, number: 2, supported: true },
        { sentence: 1, number: 1, supported: true }, // a second sentence from source 1 is not a second use
        { sentence: 1, number: 3, supported: false }, // cited but not supported: not used
      ],
      tokens: { prompt: 0, completion: 0, attribution: 0 },
      prices: { inputPerMillion: 0n, outputPerMillion: 0n },
      consumerAccountId: CONSUMER,
      protocolAccountId: PROTOCOL,
      feeBps: 1_000,
      cap: 1_000_000n,
      adapter: null,
    });
    expect(charged.attribution.formulaVersion).toBe('answer-v2');
    expect(charged.charge.credits).toEqual([900n, 2_250n, 0n]);
    expect(charged.charge).toMatchObject({ total: 3_500n, dataFee: 3_150n, protocolFee: 350n });
    expect(charged.attribution.signals.map((s) => s.used)).toEqual([true, true, false]);
  });

  it('where the causal signal was measured, a cited source the answer does not depend on is not used', () => {
    const source = (contributorAccountId: string) => ({
      score: 0.5,
      duplicateOf: null,
      datanetId: 'dn',
      documentId: 'doc',
      contributorAccountId,
      pricePerSource: 1_000n,
    });
    const charged = answerCharge({
      sources: [source('acct_a'), source('acct_b')],
      sentenceCount: 1,
      checks: [
        { sentence: 0, number: 1, supported: true },
        { sentence: 0, number: 2, supported: true },
      ],
      causal: { answerLogprob: -10, withoutSource: [-25, -9] }, // without source 2 the answer is MORE likely
      tokens: { prompt: 0, completion: 0, attribution: 0 },
      prices: { inputPerMillion: 0n, outputPerMillion: 0n },
      consumerAccountId: CONSUMER,
      protocolAccountId: PROTOCOL,
      feeBps: 0,
      cap: 1_000_000n,
      adapter: null,
    });
    expect(charged.charge.credits).toEqual([1_000n, 0n]);
  });
});

describe('retrieval-v2: each returned source is one use', () => {
  const retrieval = fc
    .integer({ min: 0, max: 8 })
    .chain((n) => fc.record({ sources: sourcesOf(n), feeBps: fc.integer({ min: 0, max: 10_000 }) }));

  it('charges each returned original its listed price and credits it price − fee; a copy’s use goes to the original; balanced', () => {
    fc.assert(
      fc.property(retrieval, ({ sources, feeBps }) => {
        const { charge, attribution } = retrievalCharge({
          consumerAccountId: CONSUMER,
          protocolAccountId: PROTOCOL,
          feeBps,
          sources,
        });
        expect(attribution.formulaVersion).toBe('retrieval-v2');
        expect(sumEntries(charge.entries)).toBe(0n);
        const originals = new Set(sources.map((_, k) => owner(k, sources)));
        sources.forEach((s, k) =>
          expect(charge.sources[k]!.credited).toBe(originals.has(k) ? earnsPerUse(s.pricePerSource, feeBps) : 0n),
        );
        const expectedTotal = sources.reduce(
          (a, s, k) => a + (originals.has(k) && earnsPerUse(s.pricePerSource, feeBps) > 0n ? s.pricePerSource : 0n),
          0n,
        );
        expect(charge.total).toBe(expectedTotal);
        expect(charge.protocolFee).toBe(
          sources.reduce(
            (a, s, k) =>
              a +
              (originals.has(k) && earnsPerUse(s.pricePerSource, feeBps) > 0n ? bpsOf(s.pricePerSource, feeBps) : 0n),
            0n,
          ),
        );
      }),
      { numRuns: 1000 },
    );
  });
});
