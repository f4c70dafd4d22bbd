import { buildPayoutTree, type PayoutTree } from './merkle.ts';
import type { Address } from './hex.ts';

// Cumulative payouts, pure: the distributor pays `cumulative − already claimed`, so each epoch
// publishes every wallet's total ever earned — the last settled total plus this epoch's amount
// for the wallets paid now, unchanged for the rest.

export interface EpochPayable<T extends { wallet: string; amount: bigint }> {
  /** this epoch's payees, each with its new cumulative total */
  payouts: (T & { cumulative: bigint })[];
  /** every wallet ever paid with its cumulative total after this epoch; null when there is none */
  tree: PayoutTree | null;
  /** the epoch's amount: the sum of this epoch's payouts */
  amount: bigint;
}

/**
 * `settled`: each wallet's cumulative total in the last epoch that paid it (amounts ≥ 0);
 * `payable`: this epoch's amounts (> 0), one per wallet.
 */
export function cumulativePayouts<T extends { wallet: string; amount: bigint }>(
  settled: ReadonlyMap<string, bigint>,
  payable: readonly T[],
): EpochPayable<T> {
  const cumulative = new Map(settled);
  const payouts = payable.map((p) => ({ ...p, cumulative: (cumulative.get(p.wallet) ?? 0n) + p.amount }));
  for (const p of payouts) cumulative.set(p.wallet, p.cumulative);
  const tree =
    cumulative.size > 0
      ? buildPayoutTree([...cumulative].map(([wallet, c]) => ({ wallet: wallet as Address, cumulative: c })))
      : null;
  return { payouts, tree, amount: payouts.reduce((a, p) => a + p.amount, 0n) };
}
