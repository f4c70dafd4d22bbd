import type { Queryable } from '../db/index.ts';
import { canonicalReceipt, hashCanonical, type Receipt } from '../core/receipts.ts';

export interface StoredReceipt {
  id: string;
  requestId: string;
  payerAccountId: string;
  canonical: string;
  hash: `0x${string}`;
  epoch: number | null;
  leafIndex: number | null;
  /** false: a test call's receipt (never settled, so never proven on chain) */
  livemode: boolean;
  receipt: Receipt;
}

/** Written in the caller's transaction, beside the ledger charge it describes. */
/** `livemode` false: a test call's receipt, which settlement never puts on chain. */
export async function insertReceipt(
  db: Queryable,
  receipt: Receipt,
  payerAccountId: string,
  livemode: boolean,
): Promise<{ hash: `0x${string}` }> {
  const canonical = canonicalReceipt(receipt);
  const hash = hashCanonical(canonical);
  await db.query(
    `INSERT INTO receipts (id, request_id, kind, account_id, canonical, hash, created_at, livemode) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [receipt.id, receipt.requestId, receipt.kind, payerAccountId, canonical, hash, receipt.createdAt, livemode],
  );
  return { hash };
}

type Row = {
  id: string;
  request_id: string;
  account_id: string;
  canonical: string;
  hash: `0x${string}`;
  epoch: number | null;
  leaf_index: number | null;
  livemode: boolean;
};

/** By receipt id or by the request id it was issued for. */
export async function findReceipt(db: Queryable, id: string): Promise<StoredReceipt | null> {
  const r = await db.query<Row>(
    `SELECT id, request_id, account_id, canonical, hash, epoch, leaf_index, livemode FROM receipts WHERE id = $1 OR request_id = $1 LIMIT 1`,
    [id],
  );
  const row = r.rows[0];
  if (!row) return null;
  return {
    id: row.id,
    requestId: row.request_id,
    payerAccountId: row.account_id,
    canonical: row.canonical,
    hash: row.hash,
    epoch: row.epoch,
    leafIndex: row.leaf_index,
    livemode: row.livemode,
    receipt: JSON.parse(row.canonical) as Receipt,
  };
}
