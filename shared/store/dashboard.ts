import type { Queryable } from '../db/index.ts';

// Queries behind the dashboards. Owner pages read receipt_sources (one row per source a
// paid call was shown, written by a trigger on receipts), consumer pages read the ledger and
// receipt_calls; every query is bounded by an index on the wallet or the payer.

// ---- sessions and sign-in nonces -------------------------------------------------------------

export interface SessionRecord {
  accountId: string;
  method: 'siwe' | 'api_key';
  wallet: string | null;
  csrf: string;
  expiresAt: Date;
}

export async function insertSession(db: Queryable, tokenHash: string, s: SessionRecord): Promise<void> {
  await db.query(`DELETE FROM dashboard_sessions WHERE expires_at < now()`);
  await db.query(`INSERT INTO dashboard_sessions (token_hash, account_id, method, wallet, csrf, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`, [
    tokenHash, s.accountId, s.method, s.wallet, s.csrf, s.expiresAt,
  ]);
}

export async function findSession(db: Queryable, tokenHash: string): Promise<SessionRecord | null> {
  const r = await db.query<{ account_id: string; method: SessionRecord['method']; wallet: string | null; csrf: string; expires_at: Date }>(
    `SELECT account_id, method, wallet, csrf, expires_at FROM dashboard_sessions WHERE token_hash = $1 AND expires_at > now()`, [tokenHash],
  );
  const row = r.rows[0];
  return row ? { accountId: row.account_id, method: row.method, wallet: row.wallet, csrf: row.csrf, expiresAt: row.expires_at } : null;
}

export async function deleteSession(db: Queryable, tokenHash: string): Promise<void> {
  await db.query(`DELETE FROM dashboard_sessions WHERE token_hash = $1`, [tokenHash]);
}

export async function insertNonce(db: Queryable, nonce: string, expiresAt: Date): Promise<void> {
  await db.query(`DELETE FROM siwe_nonces WHERE expires_at < now()`);
  await db.query(`INSERT INTO siwe_nonces (nonce, expires_at) VALUES ($1, $2)`, [nonce, expiresAt]);
}

/** True once per issued, unexpired nonce. */
export async function consumeNonce(db: Queryable, nonce: string): Promise<boolean> {
  const r = await db.query(`DELETE FROM siwe_nonces WHERE nonce = $1 AND expires_at > now() RETURNING nonce`, [nonce]);
  return r.rows.length === 1;
}

// ---- data owner ------------------------------------------------------------------------------

export interface DayAmount { day: string; calls: number; amount: bigint }

export async function ownerEarningsByDay(db: Queryable, wallet: string, days: number): Promise<DayAmount[]> {
  const r = await db.query<{ day: string; calls: bigint; amount: bigint }>(
    `SELECT to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day,
            count(DISTINCT receipt_id)::bigint AS calls, sum(amount)::bigint AS amount
       FROM receipt_sources WHERE wallet = lower($1) AND created_at >= now() - make_interval(days => $2::int)
      GROUP BY 1 ORDER BY 1`,
    [wallet, days],
  );
  return r.rows.map((x) => ({ day: x.day, calls: Number(x.calls), amount: x.amount }));
}

export type FunnelLevel = 'datanet' | 'document' | 'passage';
export type FunnelSort = 'earned' | 'retrieved' | 'cited' | 'supported' | 'name';

export interface FunnelRow {
  id: string;
  name: string;
  retrieved: number;
  cited: number;
  supported: number;
  earned: bigint;
}

const SORTS: Record<FunnelSort, string> = {
  earned: 'earned DESC, id', retrieved: 'retrieved DESC, id', cited: 'cited DESC, id', supported: 'supported DESC, id', name: 'name, id',
};

/** Times retrieved → cited → cited with support → amount earned, grouped at one level, one page at a time. */
export async function ownerFunnel(
  db: Queryable, wallet: string,
  q: { level: FunnelLevel; parent?: string; sort: FunnelSort; limit: number; offset: number },
): Promise<{ rows: FunnelRow[]; total: number }> {
  const key = q.level === 'datanet' ? 's.datanet_id' : q.level === 'document' ? 's.document_id' : 's.source_id';
  const filter = q.level === 'document' ? 'AND s.datanet_id = $2' : q.level === 'passage' ? 'AND s.document_id = $2' : 'AND $2::text IS NULL';
  const name = q.level === 'datanet'
    ? `(SELECT n.name FROM datanets n WHERE n.id = g.id)`
    : q.level === 'document'
      ? `(SELECT d.title FROM documents d WHERE d.id = g.id)`
      : `(SELECT left(c.text, 160) FROM chunks c WHERE c.id = g.id)`;
  const r = await db.query<{ id: string; name: string | null; retrieved: bigint; cited: bigint; supported: bigint; earned: bigint; total: bigint }>(
    `WITH g AS (
       SELECT ${key} AS id, count(*)::bigint AS retrieved, count(*) FILTER (WHERE s.cited)::bigint AS cited,
              count(*) FILTER (WHERE s.supported)::bigint AS supported, sum(s.amount)::bigint AS earned
         FROM receipt_sources s WHERE s.wallet = lower($1) ${filter} GROUP BY 1)
     SELECT g.*, coalesce(${name}, g.id) AS name, count(*) OVER ()::bigint AS total FROM g
      ORDER BY ${SORTS[q.sort]} LIMIT $3 OFFSET $4`,
    [wallet, q.parent ?? null, q.limit, q.offset],
  );
  return {
    total: Number(r.rows[0]?.total ?? 0),
    rows: r.rows.map((x) => ({ id: x.id, name: x.name ?? x.id, retrieved: Number(x.retrieved), cited: Number(x.cited), supported: Number(x.supported), earned: x.earned })),
  };
}

export interface OwnerCall {
  receiptId: string;
  requestId: string;
  createdAt: Date;
  kind: string;
  documentId: string;
  title: string;
  weightPpm: number;
  amount: bigint;
  formulaVersion: string;
}

/** The latest paid calls that showed this wallet's documents (no query text: receipts hold none). */
export async function ownerRecentCalls(db: Queryable, wallet: string, limit: number, offset: number): Promise<OwnerCall[]> {
  const r = await db.query<{ receipt_id: string; request_id: string; created_at: Date; kind: string; document_id: string; title: string | null; weight_ppm: number; amount: bigint; formula_version: string }>(
    `SELECT s.receipt_id, s.request_id, s.created_at, c.kind, s.document_id, d.title, s.weight_ppm, s.amount, c.formula_version
       FROM receipt_sources s JOIN receipt_calls c ON c.receipt_id = s.receipt_id LEFT JOIN documents d ON d.id = s.document_id
      WHERE s.wallet = lower($1) ORDER BY s.created_at DESC, s.receipt_id, s.ordinal LIMIT $2 OFFSET $3`,
    [wallet, limit, offset],
  );
  return r.rows.map((x) => ({
    receiptId: x.receipt_id, requestId: x.request_id, createdAt: x.created_at, kind: x.kind, documentId: x.document_id, title: x.title ?? x.document_id,
    weightPpm: x.weight_ppm, amount: x.amount, formulaVersion: x.formula_version,
  }));
}

export interface OwnerEpoch {
  epoch: number;
  status: string;
  amount: bigint;
  cumulative: bigint;
  payoutRoot: string;
  receiptsRoot: string;
  txHash: string | null;
  confirmedAt: Date | null;
}

export async function ownerEpochs(db: Queryable, wallet: string): Promise<OwnerEpoch[]> {
  const r = await db.query<{ epoch: number; status: string; amount: bigint; cumulative: bigint; payout_root: string; receipts_root: string; tx_hash: string | null; confirmed_at: Date | null }>(
    `SELECT p.epoch, e.status, p.amount, p.cumulative, e.payout_root, e.receipts_root, e.tx_hash, e.confirmed_at
       FROM epoch_payouts p JOIN settlement_epochs e ON e.epoch = p.epoch
      WHERE lower(p.wallet) = lower($1) ORDER BY p.epoch DESC`,
    [wallet],
  );
  return r.rows.map((x) => ({
    epoch: x.epoch, status: x.status, amount: x.amount, cumulative: x.cumulative, payoutRoot: x.payout_root, receiptsRoot: x.receipts_root,
    txHash: x.tx_hash, confirmedAt: x.confirmed_at,
  }));
}

// ---- consumer --------------------------------------------------------------------------------

export async function consumerSpendByDay(db: Queryable, accountId: string, days: number): Promise<DayAmount[]> {
  const r = await db.query<{ day: string; calls: bigint; amount: bigint }>(
    `SELECT to_char(date_trunc('day', t.created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, count(*)::bigint AS calls, (-sum(e.amount))::bigint AS amount
       FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
      WHERE e.account_id = $1 AND e.amount < 0 AND t.kind <> 'credit_grant' AND t.created_at >= now() - make_interval(days => $2::int)
      GROUP BY 1 ORDER BY 1`,
    [accountId, days],
  );
  return r.rows.map((x) => ({ day: x.day, calls: Number(x.calls), amount: x.amount }));
}

export interface SpendSplit { calls: number; charged: bigint; dataFees: bigint; modelTokens: bigint; adapterFees: bigint; protocolFee: bigint }

export async function consumerSpendSplit(db: Queryable, accountId: string): Promise<SpendSplit> {
  const r = await db.query<{ calls: bigint; charged: bigint; data: bigint; tokens: bigint; adapter: bigint; protocol: bigint }>(
    `SELECT count(*)::bigint AS calls, coalesce(sum(charged), 0)::bigint AS charged, coalesce(sum(data_fees), 0)::bigint AS data,
            coalesce(sum(model_tokens), 0)::bigint AS tokens, coalesce(sum(adapter_fee), 0)::bigint AS adapter, coalesce(sum(protocol_fee), 0)::bigint AS protocol
       FROM receipt_calls WHERE payer = $1`,
    [accountId],
  );
  const x = r.rows[0]!;
  return { calls: Number(x.calls), charged: x.charged, dataFees: x.data, modelTokens: x.tokens, adapterFees: x.adapter, protocolFee: x.protocol };
}

export async function consumerByDatanet(db: Queryable, accountId: string): Promise<{ datanetId: string; name: string; calls: number; dataFees: bigint }[]> {
  const r = await db.query<{ datanet_id: string; name: string | null; calls: bigint; amount: bigint }>(
    `SELECT s.datanet_id, (SELECT n.name FROM datanets n WHERE n.id = s.datanet_id) AS name,
            count(DISTINCT s.receipt_id)::bigint AS calls, sum(s.amount)::bigint AS amount
       FROM receipt_sources s WHERE s.payer = $1 GROUP BY s.datanet_id ORDER BY amount DESC, s.datanet_id`,
    [accountId],
  );
  return r.rows.map((x) => ({ datanetId: x.datanet_id, name: x.name ?? x.datanet_id, calls: Number(x.calls), dataFees: x.amount }));
}

export interface KeyRow { id: string; name: string | null; prefix: string; role: string; createdAt: Date; revokedAt: Date | null; lastUsedAt: Date | null }

export async function keysWithLastUse(db: Queryable, accountId: string): Promise<KeyRow[]> {
  const r = await db.query<{ id: string; name: string | null; prefix: string; role: string; created_at: Date; revoked_at: Date | null; last_used: Date | null }>(
    `SELECT k.id, k.name, k.prefix, k.role, k.created_at, k.revoked_at,
            (SELECT max(t.created_at) FROM ledger_transactions t WHERE t.key_id = k.id) AS last_used
       FROM api_keys k WHERE k.account_id = $1 ORDER BY k.created_at, k.id`,
    [accountId],
  );
  return r.rows.map((x) => ({ id: x.id, name: x.name, prefix: x.prefix, role: x.role, createdAt: x.created_at, revokedAt: x.revoked_at, lastUsedAt: x.last_used }));
}

export async function renameKey(db: Queryable, accountId: string, keyId: string, name: string): Promise<boolean> {
  const r = await db.query(`UPDATE api_keys SET name = $3 WHERE id = $2 AND account_id = $1 RETURNING id`, [accountId, keyId, name]);
  return r.rows.length === 1;
}
