// Rate cards: what an owner charges for one use of a datanet's content, by use type and mode.
// Pure rules; the versions live in the `rate_cards` table (migration 0111), append-only, so every
// receipt names the version (and the price) it was charged under and can be checked against it.
//
// A use (core/data-fee.ts, formulas retrieval-v2 / answer-v2) is one source returned by
// POST /v1/retrieve (`retrieval`) or one source an answer cited and that supports its sentence
// (`answer`). Its price is the card's price for that use type, never below the card's minimum
// per use. Test mode (a cp_test_ key's calls) pays the same prices (`same`), its own prices
// (`price`), or nothing at all (`excluded`: test uses are free and earn nothing, so an owner's
// earnings never count test traffic).

export const USE_TYPES = ['retrieval', 'answer'] as const;
export type UseType = (typeof USE_TYPES)[number];

export type UsePrices = Record<UseType, bigint>;

export type TestPricing = { mode: 'same' } | { mode: 'excluded' } | { mode: 'price'; prices: UsePrices };

/** What an owner sets (PUT /v1/datanets/{id}/rate-card, the dashboard form). */
export interface RateCardTerms {
  prices: UsePrices;
  /** the least one use costs, whatever its type's price (test prices included; `excluded` stays free) */
  minimumPerUse: bigint;
  test: TestPricing;
}

/** One stored version of a datanet's card. */
export interface RateCard extends RateCardTerms {
  datanetId: string;
  /** 1 = the card the datanet was created with; each change adds the next */
  version: number;
  /** calls that read the card from this moment on are charged by it */
  effectiveAt: Date;
}

/** The most one use may cost: $1 000 (keeps a typo from draining a consumer in one call). */
export const MAX_USE_PRICE = 1_000_000_000n;

/** The price one use of `type` costs in `livemode` under `card` (micro-USD). */
export function effectivePrice(card: RateCardTerms, type: UseType, livemode: boolean): bigint {
  if (!livemode && card.test.mode === 'excluded') return 0n;
  const listed = !livemode && card.test.mode === 'price' ? card.test.prices[type] : card.prices[type];
  return listed > card.minimumPerUse ? listed : card.minimumPerUse;
}

/** The card every new datanet starts with: its one price for both uses, no minimum, test mode alike. */
export function initialTerms(pricePerSource: bigint): RateCardTerms {
  return { prices: { retrieval: pricePerSource, answer: pricePerSource }, minimumPerUse: 0n, test: { mode: 'same' } };
}

/** The first field that makes the terms unusable, with the reason; null when they are fine. */
export function rateCardProblem(terms: RateCardTerms): { field: string; reason: string } | null {
  const amounts: [string, bigint][] = [
    ...USE_TYPES.map((t): [string, bigint] => [`prices.${t}`, terms.prices[t]]),
    ['minimumPerUse', terms.minimumPerUse],
    ...(terms.test.mode === 'price'
      ? USE_TYPES.map((t): [string, bigint] => [`test.prices.${t}`, (terms.test as { prices: UsePrices }).prices[t]])
      : []),
  ];
  for (const [field, v] of amounts) {
    if (v < 0n) return { field, reason: 'must not be negative' };
    if (v > MAX_USE_PRICE) return { field, reason: `at most ${MAX_USE_PRICE} micro-USD ($1000) per use` };
  }
  return null;
}

/** True when two sets of terms charge exactly alike (a PUT that changes nothing adds no version). */
export function sameTerms(a: RateCardTerms, b: RateCardTerms): boolean {
  const prices = (x: UsePrices, y: UsePrices) => USE_TYPES.every((t) => x[t] === y[t]);
  if (!prices(a.prices, b.prices) || a.minimumPerUse !== b.minimumPerUse || a.test.mode !== b.test.mode) return false;
  return a.test.mode !== 'price' || prices(a.test.prices, (b.test as { prices: UsePrices }).prices);
}

/** What a receipt records per source: the version and the price one use was charged under. */
export interface PricedUse {
  version: number;
  use: UseType;
  /** micro-USD, decimal string (receipts and stored results are JSON) */
  price: string;
}

export function pricedUse(card: RateCard, type: UseType, livemode: boolean): PricedUse {
  return { version: card.version, use: type, price: effectivePrice(card, type, livemode).toString() };
}
