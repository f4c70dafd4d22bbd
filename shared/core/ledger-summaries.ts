// An account's usage and earnings, folded from grouped ledger rows. Two readers produce those rows:
// store/ledger.ts sums the whole ledger (the reference the tests hold the rollups to) and
// store/dashboard.ts reads the daily rollups plus the recent tail. Both fold here, so the rules
// (grants are not calls, totals are settled + unsettled, the order of the lists) are written once.

/** Compare by a string key: a stable order whatever order the database grouped rows in. */
export const byName =
  <T>(key: (x: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

export interface UsageSummary {
  balance: bigint;
  credited: bigint;
  calls: number;
  spend: bigint;
  byKind: { kind: string; calls: number; spend: bigint }[];
  byKey: { keyId: string | null; calls: number; spend: bigint }[];
}

/** One group of an account's ledger entries: a transaction kind and the API key that made it. */
export interface UsageRow {
  kind: string;
  keyId: string | null;
  /** entries in the group (one per call for a consumer) */
  calls: bigint | number;
  /** Σ debits, as a positive amount */
  spend: bigint;
  /** Σ credits */
  credited: bigint;
}

/** Credit grants fund the balance and are not calls; every other kind is a billable call. */
export function foldUsage(rows: readonly UsageRow[]): UsageSummary {
  const billable = rows.filter((r) => r.kind !== 'credit_grant');
  const group = <K extends string | null>(key: (r: UsageRow) => K) => {
    const m = new Map<K, { calls: number; spend: bigint }>();
    for (const r of billable) {
      const cur = m.get(key(r)) ?? { calls: 0, spend: 0n };
      cur.calls += Number(r.calls);
      cur.spend += r.spend;
      m.set(key(r), cur);
    }
    return m;
  };
  const credited = rows.filter((r) => r.kind === 'credit_grant').reduce((a, r) => a + r.credited, 0n);
  const spend = billable.reduce((a, r) => a + r.spend, 0n);
  return {
    balance: credited - spend,
    credited,
    calls: billable.reduce((a, r) => a + Number(r.calls), 0),
    spend,
    byKind: [...group((r) => r.kind)].map(([kind, v]) => ({ kind, ...v })).sort(byName((k) => k.kind)),
    byKey: [...group((r) => r.keyId)].map(([keyId, v]) => ({ keyId, ...v })).sort(byName((k) => k.keyId ?? '')),
  };
}

export interface EarningsSummary {
  /** everything ever credited */
  total: bigint;
  /** moved on chain by confirmed settlement epochs (claimable from the distributor) */
  settled: bigint;
  /** credited but not yet settled: the next epoch pays it once it reaches the minimum payout */
  unsettled: bigint;
  byDatanet: { datanetId: string; name: string; earned: bigint; calls: number }[];
  byDocument: {
    documentId: string;
    datanetId: string;
    title: string;
    deleted: boolean;
    earned: bigint;
    calls: number;
  }[];
}

/** What one document earned the account, with its datanet's name. */
export interface EarningsRow {
  documentId: string;
  datanetId: string;
  datanetName: string;
  title: string;
  deleted: boolean;
  earned: bigint;
  calls: bigint | number;
}

/**
 * Documents in the order given (the readers sort by earnings), datanets in order of first
 * appearance; `balance` is what is still on the ledger, `settled` what epochs moved on chain.
 */
export function foldEarnings(
  docs: readonly EarningsRow[],
  totals: { balance: bigint; settled: bigint },
): EarningsSummary {
  const byDatanet = new Map<string, { datanetId: string; name: string; earned: bigint; calls: number }>();
  for (const d of docs) {
    const cur = byDatanet.get(d.datanetId) ?? { datanetId: d.datanetId, name: d.datanetName, earned: 0n, calls: 0 };
    cur.earned += d.earned;
    cur.calls += Number(d.calls);
    byDatanet.set(d.datanetId, cur);
  }
  return {
    total: totals.balance + totals.settled,
    settled: totals.settled,
    unsettled: totals.balance,
    byDatanet: [...byDatanet.values()],
    byDocument: docs.map((d) => ({
      documentId: d.documentId,
      datanetId: d.datanetId,
      title: d.title,
      deleted: d.deleted,
      earned: d.earned,
      calls: Number(d.calls),
    })),
  };
}
