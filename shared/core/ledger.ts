// Double-entry rules, pure: a transaction is a list of entries whose amounts sum to zero.
// Positive = the account's balance goes up. Balances are derived by summing entries.

export type TransactionKind =
  | 'credit_grant'
  | 'retrieve'
  | 'answer'
  | 'embedding'
  | 'payout'
  | 'x402_refund'
  | 'x402_claim';

export interface LedgerEntry {
  accountId: string;
  amount: bigint;
  datanetId?: string | undefined;
  documentId?: string | undefined;
}

export interface LedgerTransaction {
  id: string;
  kind: TransactionKind;
  requestId: string | null;
  keyId: string | null;
  /** false: test money (a cp_test_ key's calls, test credits). Never mixed with live in one transaction. */
  livemode: boolean;
  entries: LedgerEntry[];
}

export class UnbalancedTransactionError extends Error {}

export function sumEntries(entries: readonly LedgerEntry[]): bigint {
  return entries.reduce((acc, e) => acc + e.amount, 0n);
}

export function assertBalanced(tx: Pick<LedgerTransaction, 'entries'>): void {
  const sum = sumEntries(tx.entries);
  if (sum !== 0n) throw new UnbalancedTransactionError(`entries sum to ${sum}, not 0`);
  if (tx.entries.length === 0) throw new UnbalancedTransactionError('a transaction needs entries');
}

/** Merge entries that hit the same (account, datanet, document) so each line is meaningful. */
export function compactEntries(entries: readonly LedgerEntry[]): LedgerEntry[] {
  const byKey = new Map<string, LedgerEntry>();
  for (const e of entries) {
    const key = `${e.accountId}|${e.datanetId ?? ''}|${e.documentId ?? ''}`;
    const prev = byKey.get(key);
    if (prev) prev.amount += e.amount;
    else byKey.set(key, { ...e });
  }
  return [...byKey.values()].filter((e) => e.amount !== 0n);
}
