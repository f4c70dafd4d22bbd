import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { answerCharge, type AnswerChargeInput } from './answer-charge.ts';
import { sumEntries } from './ledger.ts';

const CONSUMER = 'acct_consumer';
const PROTOCOL = 'acct_protocol';

const input = fc.integer({ min: 0, max: 6 }).chain((n) =>
  fc.record({
    sources: fc.array(
      fc.record({
        score: fc.double({ min: -1, max: 1, noNaN: true }),
        duplicateOf: fc.option(fc.integer({ min: 0, max: Math.max(0, n - 1) }), { nil: null }),
        contributorAccountId: fc.constantFrom('acct_a', 'acct_b', 'acct_c'),
        datanetId: fc.constantFrom('dn_1', 'dn_2'),
        documentId: fc.constantFrom('doc_1', 'doc_2', 'doc_3'),
        pricePerSource: fc.bigInt({ min: 0n, max: 50_000n }),
      }),
      { minLength: n, maxLength: n },
    ),
    sentenceCount: fc.integer({ min: 0, max: 4 }),
    checks: fc.array(
      fc.record({
        sentence: fc.integer({ min: 0, max: 3 }),
        number: fc.integer({ min: 0, max: n + 1 }),
        supported: fc.boolean(),
      }),
      { maxLength: 8 },
    ),
    causal: fc.option(
      fc.record({
        answerLogprob: fc.double({ min: -50, max: 0, noNaN: true }),
        withoutSource: fc.array(fc.double({ min: -80, max: 0, noNaN: true }), { minLength: n, maxLength: n }),
      }),
      { nil: null },
    ),
    tokens: fc.record({ prompt: fc.nat(20_000), completion: fc.nat(4_000), attribution: fc.nat(20_000) }),
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

const v1 = (i: AnswerChargeInput): AnswerChargeInput => ({ ...i, formula: 'answer-v1' });

describe('answerCharge', () => {
  it('posts lines that sum to zero, with the consumer debited exactly the charge and nobody else negative', () => {
    fc.assert(
      fc.property(input, (i) => {
        const { charge } = answerCharge(i);
        expect(answerCharge(v1(i)).charge.entries.reduce((a, e) => a + e.amount, 0n)).toBe(0n);
        expect(sumEntries(charge.entries)).toBe(0n);
        const debits = charge.entries.filter((e) => e.amount < 0n);
        if (charge.total === 0n) expect(charge.entries).toEqual([]);
        else expect(debits).toEqual([{ accountId: CONSUMER, amount: -charge.total }]);
        for (const e of charge.entries) if (e.accountId !== CONSUMER) expect(e.amount).toBeGreaterThan(0n);
        for (const amount of [
          charge.total,
          charge.tokenCharge,
          charge.dataFee,
          charge.adapterFee,
          charge.protocolFee,
          ...charge.credits,
        ])
          expect(amount).toBeGreaterThanOrEqual(0n);
      }),
      { numRuns: 500 },
    );
  });

  it('answer-v1: charges the sources’ prices plus tokens up to the hold, and pays contributors by weight', () => {
    fc.assert(
      fc.property(input.map(v1), (i) => {
        const { charge, weightsPpm, attribution } = answerCharge(i);
        // Only sources that credit someone are charged (core/data-fee.ts).
        const listed = i.sources.reduce((a, s, k) => (charge.credits[k]! > 0n ? a + s.pricePerSource : a), 0n);
        expect(charge.total).toBe(listed + charge.tokenCharge);
        expect(charge.tokenCharge <= (i.cap > listed ? i.cap - listed : 0n)).toBe(true);
        expect(weightsPpm).toHaveLength(i.sources.length);
        if (i.sources.length > 0) expect(weightsPpm.reduce((a, b) => a + b, 0n)).toBe(1_000_000n);
        expect(attribution.weights).toHaveLength(i.sources.length);
        expect(charge.credits.reduce((a, b) => a + b, 0n)).toBe(charge.total - charge.protocolFee - charge.adapterFee);
      }),
      { numRuns: 500 },
    );
  });

  it('on every answer the data fee charged equals the sum credited to contributors; a source of weight 0 is not charged (property, both formulas)', () => {
    fc.assert(
      fc.property(input, fc.boolean(), (generated, old) => {
        const i = old ? v1(generated) : generated;
        const { charge, weightsPpm } = answerCharge(i);
        const toContributors = charge.entries
          .filter((e) => e.documentId !== undefined)
          .reduce((a, e) => a + e.amount, 0n);
        expect(toContributors).toBe(charge.dataFee);
        expect(charge.credits.reduce((a, b) => a + b, 0n)).toBe(charge.dataFee);
        expect(charge.total).toBe(charge.dataFee + charge.adapterFee + charge.protocolFee);
        weightsPpm.forEach((w, k) => {
          if (w === 0n) expect(charge.credits[k]).toBe(0n);
        });
        // The data part of the bill is exactly the listed prices of the sources credited.
        const listed = i.sources.reduce((a, s, k) => (charge.credits[k]! > 0n ? a + s.pricePerSource : a), 0n);
        expect(charge.total - charge.tokenCharge).toBe(listed);
      }),
      { numRuns: 1000 },
    );
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(input, (i) => {
        expect(answerCharge(i)).toEqual(answerCharge(structuredClone(i)));
      }),
      { numRuns: 200 },
    );
  });

  it('answer-v1: gives a supported citation the weight and an unsupported one none of the citation share', () => {
    const source = { score: 0.5, duplicateOf: null, datanetId: 'dn', documentId: 'doc', pricePerSource: 1_000n };
    const charged = answerCharge({
      formula: 'answer-v1',
      sources: [
        { ...source, contributorAccountId: 'acct_a' },
        { ...source, contributorAccountId: 'acct_b' },
      ],
      sentenceCount: 1,
      checks: [
        { sentence: 0, number: 1, supported: true },
        { sentence: 0, number: 2, supported: false },
      ],
      tokens: { prompt: 1_000, completion: 100, attribution: 0 },
      prices: { inputPerMillion: 1_000_000n, outputPerMillion: 2_000_000n },
      consumerAccountId: CONSUMER,
      protocolAccountId: PROTOCOL,
      feeBps: 1_000,
      cap: 1_000_000n,
      adapter: null,
    });
    expect(charged.weightsPpm).toEqual([900_000n, 100_000n]); // 0.2 × retrieval (even) + 0.8 × citation (all to source 1)
    expect(charged.charge.tokenCharge).toBe(1_200n);
    expect(charged.charge.entries).toEqual([
      { accountId: CONSUMER, amount: -3_200n },
      { accountId: PROTOCOL, amount: 1_400n },
      { accountId: 'acct_a', amount: 1_620n, datanetId: 'dn', documentId: 'doc' },
      { accountId: 'acct_b', amount: 180n, datanetId: 'dn', documentId: 'doc' },
    ]);
  });
});
