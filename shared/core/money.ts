// Money is integer micro-units (1 unit = 1e-6 USD = 1 unit of a 6-decimal stablecoin).
// Nothing in this file uses floating point on amounts.

export const MICRO_PER_USD = 1_000_000n;
export const PPM = 1_000_000n; // weights are parts-per-million so they split money exactly

/**
 * Largest-remainder split: the parts are proportional to `weights` and sum
 * exactly to `total`. Ties go to the lower index, so the result is deterministic.
 * All-zero weights split evenly.
 */
export function splitByWeights(total: bigint, weights: readonly bigint[]): bigint[] {
  if (total < 0n) throw new RangeError('total must be >= 0');
  if (weights.length === 0) {
    if (total !== 0n) throw new RangeError('cannot split a non-zero total over no parts');
    return [];
  }
  if (weights.some((w) => w < 0n)) throw new RangeError('weights must be >= 0');
  const ws = weights.every((w) => w === 0n) ? weights.map(() => 1n) : weights;
  const sum = ws.reduce((a, b) => a + b, 0n);
  const parts = ws.map((w) => (total * w) / sum);
  let left = total - parts.reduce((a, b) => a + b, 0n);
  const order = ws
    .map((w, i) => ({ i, rem: (total * w) % sum }))
    .sort((a, b) => (a.rem === b.rem ? a.i - b.i : a.rem > b.rem ? -1 : 1));
  for (const { i } of order) {
    if (left === 0n) break;
    parts[i]! += 1n;
    left -= 1n;
  }
  return parts;
}

/** Turn non-negative real scores into integer ppm weights that sum to exactly 1e6. */
export function toPpmWeights(scores: readonly number[]): bigint[] {
  if (scores.some((s) => !Number.isFinite(s) || s < 0)) throw new RangeError('scores must be finite and >= 0');
  // Scale to integers first so the split itself stays in bigint arithmetic.
  const scaled = scores.map((s) => BigInt(Math.round(s * 1e12)));
  return splitByWeights(scores.length === 0 ? 0n : PPM, scaled);
}

export function ppmToNumber(ppm: bigint): number {
  return Number(ppm) / 1e6;
}

/** Basis-point share of an amount, rounded down (the remainder stays with the payer's side). */
export function bpsOf(amount: bigint, bps: number): bigint {
  return (amount * BigInt(bps)) / 10_000n;
}

export function parseMicros(value: string): bigint {
  if (!/^\d{1,18}$/.test(value)) throw new RangeError(`not a micro-unit amount: ${value}`);
  return BigInt(value);
}
