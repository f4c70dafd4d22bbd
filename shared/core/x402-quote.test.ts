import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tokenCost } from './retrieval-charge.ts';
import { maxAnswerCost, maxRetrievalCost } from './x402-quote.ts';

// An x402 quote is paid before the call runs: it must never be less than what the call can be charged.
describe('x402 quotes bound the charge', () => {
  it('a retrieval of at most topK sources, each at most the highest price', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 9n }), { minLength: 1, maxLength: 50 }),
        (topK, prices) => {
          const max = prices.reduce((a, b) => (b > a ? b : a), 0n);
          const charged = prices.slice(0, topK).reduce((a, b) => a + b, 0n);
          expect(maxRetrievalCost(topK, max)).toBeGreaterThanOrEqual(charged);
        },
      ),
    );
  });

  it("an answer's hold (shared/services/answers.ts) for any prompt that fits the context", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 2048, max: 131_072 }),
        fc.integer({ min: 1, max: 2048 }),
        fc.bigInt({ min: 0n, max: 10n ** 7n }),
        fc.bigInt({ min: 0n, max: 10n ** 7n }),
        fc.bigInt({ min: 0n, max: 10n ** 6n }),
        fc.boolean(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (topK, shown, contextTokens, maxTokens, inPrice, outPrice, sourcePrice, causal, fill) => {
          const sources = Math.min(shown, topK);
          const promptTokens = Math.floor((contextTokens - maxTokens) * fill);
          const causalTokens = causal ? promptTokens * (sources + 1) + maxTokens * (sources + 1) : 0;
          const hold =
            tokenCost(promptTokens + causalTokens, inPrice) +
            tokenCost(maxTokens, outPrice) +
            BigInt(sources) * sourcePrice;
          const quote = maxAnswerCost({
            topK,
            maxSourcePrice: sourcePrice,
            contextTokens,
            maxTokens,
            inputPricePerMillion: inPrice,
            outputPricePerMillion: outPrice,
            causal,
          });
          expect(quote).toBeGreaterThanOrEqual(hold);
        },
      ),
    );
  });
});
