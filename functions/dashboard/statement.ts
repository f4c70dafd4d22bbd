import type { PayoutView } from '../../shared/services/payouts.ts';
import type { Account } from '../../shared/store/accounts.ts';
import type { EarningsSummary } from '../../shared/store/ledger.ts';

// A data owner's statement as CSV (RFC 4180): the status totals, then one row per datanet and per
// document — the same figures as GET /v1/earnings and GET /v1/payouts/{wallet}, in micro-units.

const cell = (v: string | number | boolean | null) => {
  const s = v === null ? '' : String(v);
  // Quote everything that needs it; neutralise spreadsheet formulas.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

export function statementCsv(account: Account, e: EarningsSummary, p: Omit<PayoutView, 'unsettled'>): string {
  const rows: (string | number | boolean | null)[][] = [
    ['row', 'id', 'datanet_id', 'name', 'deleted', 'calls', 'amount_micros'],
  ];
  const total = (name: string, amount: bigint | null) =>
    rows.push(['total', name, null, account.wallet, null, null, amount?.toString() ?? null]);
  total('earned', e.total);
  total('settled', e.settled);
  total('unsettled', e.unsettled);
  total('claimed', p.claimed);
  total('unclaimed', p.claimable);
  for (const d of e.byDatanet)
    rows.push(['datanet', d.datanetId, d.datanetId, d.name, null, d.calls, d.earned.toString()]);
  for (const d of e.byDocument)
    rows.push(['document', d.documentId, d.datanetId, d.title, d.deleted, d.calls, d.earned.toString()]);
  return rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
