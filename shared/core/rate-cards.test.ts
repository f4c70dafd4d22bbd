import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { answerCharge } from './answer-charge.ts';
import { sumEntries } from './ledger.ts';
import { bpsOf } from './money.ts';
import { retrievalCharge } from './retrieval-charge.ts';
import {
  MAX_USE_PRICE,
  effectivePrice,
  initialTerms,
  rateCardProblem,
  sameTerms,
  type RateCardTerms,
  type UseType,
} from './rate-cards.ts';
import { licensedUsePrice, microsToUsd } from './rsl-license.ts';

// Rate cards feed the per-use rules (core/data-fee.ts) their listed prices. Whatever the card, the
// mode and the use type, the money rules still hold: every transaction sums to zero, and a call's
// data fee never exceeds the listed (effective) prices of the sources it used.

const price = fc.bigInt({ min: 0n, max: 100_000n });
const prices = fc.record({ retrieval: price, answer: price });
const terms: fc.Arbitrary<RateCardTerms> = fc.record({
  prices,
  minimumPerUse: fc.oneof(fc.constant(0n), price),
  test: fc.oneof(
    fc.constant({ mode: 'same' as const }),
    fc.constant({ mode: 'excluded' as const }),
    prices.map((p) => ({ mode: 'price' as const, prices: p })),
  ),
});
const useType = fc.constantFrom<UseType>('retrieval', 'answer');

interface Call {
  cards: [RateCardTerms, RateCardTerms];
  livemode: boolean;
  feeBps: number;
  sources: { datanet: number; score: number; documentId: string; contributorAccountId: string; copy: boolean }[];
}

/** Two datanets with their own cards, and sources drawn from both. */
const call: fc.Arbitrary<Call> = fc.record({
  cards: fc.tuple(terms, terms),
  livemode: fc.boolean(),
  feeBps: fc.integer({ min: 0, max: 10_000 }),
  sources: fc.array(
    fc.record({
      datanet: fc.integer({ min: 0, max: 1 }),
      score: fc.double({ min: -1, max: 1, noNaN: true }),
      documentId: fc.constantFrom('doc_1', 'doc_2', 'doc_3', 'doc_4'),
      contributorAccountId: fc.constantFrom('acct_a', 'acct_b'),
      copy: fc.boolean(),
    }),
    { maxLength: 6 },
  ),
});

/** The call's sources, each at the price its datanet's card sets for one use of `type` in the call's mode. */
const priced = (c: Call, type: UseType) =>
  c.sources.map((s, i) => ({
    score: s.score,
    duplicateOf: s.copy && i > 0 ? 0 : null,
    documentId: s.documentId,
    contributorAccountId: s.contributorAccountId,
    datanetId: `dn_${s.datanet}`,
    pricePerSource: effectivePrice(c.cards[s.datanet]!, type, c.livemode),
  }));

describe('effective price of one use', () => {
  it('is the type price, never below the minimum; test mode follows its own terms', () => {
    fc.assert(
      fc.property(terms, useType, fc.boolean(), (t, type, livemode) => {
        const p = effectivePrice(t, type, livemode);
        const listed = !livemode && t.test.mode === 'price' ? t.test.prices[type] : t.prices[type];
        const floor = listed > t.minimumPerUse ? listed : t.minimumPerUse;
        expect(p).toBe(!livemode && t.test.mode === 'excluded' ? 0n : floor);
        if (livemode) expect(p).toBe(effectivePrice({ ...t, test: { mode: 'excluded' } }, type, true));
      }),
    );
  });

  it('a new datanet charges its one price for both uses, in both modes', () => {
    const t = initialTerms(1234n);
    for (const type of ['retrieval', 'answer'] as const)
      for (const live of [true, false]) expect(effectivePrice(t, type, live)).toBe(1234n);
  });
});

describe('calls priced by rate cards', () => {
  it('retrieval: every transaction sums to zero; the data fee never exceeds the listed prices of the sources used', () => {
    fc.assert(
      fc.property(call, (c) => {
        const sources = priced(c, 'retrieval');
        const { charge, attribution } = retrievalCharge({
          consumerAccountId: 'acct_consumer',
          protocolAccountId: 'acct_protocol',
          feeBps: c.feeBps,
          sources,
        });
        expect(sumEntries(charge.entries)).toBe(0n);
        const listedUsed = sources.reduce((a, s, i) => (attribution.signals[i]!.used ? a + s.pricePerSource : a), 0n);
        expect(charge.total <= listedUsed).toBe(true);
        expect(charge.dataShare <= listedUsed).toBe(true);
        // each charged use earns its owner exactly its card's price less the protocol fee on it
        charge.sources.forEach((s, i) => {
          const p = sources[i]!.pricePerSource;
          if (s.charged) expect(s.credited).toBe(p - bpsOf(p, c.feeBps));
        });
        // a test call against cards that exclude test mode pays no data fee at all
        if (!c.livemode && c.sources.every((s) => c.cards[s.datanet]!.test.mode === 'excluded'))
          expect(charge.total).toBe(0n);
      }),
      { numRuns: 1000 },
    );
  });

  it('answer: every transaction sums to zero; the data fee never exceeds the listed prices of the sources used', () => {
    fc.assert(
      fc.property(
        call,
        fc.array(fc.record({ sentence: fc.nat(3), number: fc.nat(7), supported: fc.boolean() }), { maxLength: 8 }),
        (c, checks) => {
          const sources = priced(c, 'answer');
          const { charge, attribution } = answerCharge({
            sources,
            sentenceCount: 3,
            checks,
            causal: null,
            tokens: { prompt: 100, completion: 20, attribution: 0 },
            prices: { inputPerMillion: 1_000_000n, outputPerMillion: 2_000_000n },
            consumerAccountId: 'acct_consumer',
            protocolAccountId: 'acct_protocol',
            feeBps: c.feeBps,
            cap: 10_000_000n,
            adapter: null,
          });
          expect(sumEntries(charge.entries)).toBe(0n);
          const listedUsed = sources.reduce((a, s, i) => (attribution.signals[i]!.used ? a + s.pricePerSource : a), 0n);
          expect(charge.total - charge.tokenCharge <= listedUsed).toBe(true);
          expect(charge.dataFee <= listedUsed).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('terms', () => {
  it('refuses negative and absurd amounts, naming the field', () => {
    const ok = initialTerms(10n);
    expect(rateCardProblem(ok)).toBeNull();
    expect(rateCardProblem({ ...ok, minimumPerUse: -1n })).toEqual({
      field: 'minimumPerUse',
      reason: 'must not be negative',
    });
    expect(
      rateCardProblem({ ...ok, test: { mode: 'price', prices: { retrieval: 1n, answer: MAX_USE_PRICE + 1n } } })?.field,
    ).toBe('test.prices.answer');
  });

  it('equal terms are the same card, any difference is not', () => {
    fc.assert(
      fc.property(terms, terms, (a, b) => {
        expect(sameTerms(a, a)).toBe(true);
        const equal =
          JSON.stringify(a, (_k, v) => (typeof v === 'bigint' ? String(v) : v)) ===
          JSON.stringify(b, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
        expect(sameTerms(a, b)).toBe(equal);
      }),
    );
  });
});

describe('the license figures', () => {
  it('micro-USD as an exact USD decimal', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), (m) => {
        const [whole, frac = ''] = microsToUsd(m).split('.');
        expect(BigInt(whole!) * 1_000_000n + BigInt(frac.padEnd(6, '0'))).toBe(m);
        expect(frac.endsWith('0')).toBe(false);
      }),
    );
  });

  it('the licensed price is the most one live use costs', () => {
    fc.assert(
      fc.property(terms, (t) => {
        const card = { ...t, datanetId: 'dn_1', version: 1, effectiveAt: new Date(0) };
        const most = licensedUsePrice(card);
        for (const type of ['retrieval', 'answer'] as const) expect(effectivePrice(t, type, true) <= most).toBe(true);
        expect([effectivePrice(t, 'retrieval', true), effectivePrice(t, 'answer', true)]).toContain(most);
      }),
    );
  });
});
