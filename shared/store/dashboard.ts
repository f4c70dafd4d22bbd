import type { Queryable } from '../db/index.ts';
import { foldEarnings, foldUsage, type EarningsSummary, type UsageSummary } from '../core/ledger-summaries.ts';
import { earningsRow } from './ledger.ts';

// Queries behind the dashboards. Each sums a rollup (everything before the rollup bound, moved
// forward by dashboard_rollup(): see migration 0014) and the live tail after the bound, so a page
// reads a few hundred rows whatever the traffic. Ledger figures use the same rules as usageOf and
// earningsOf (store/ledger.ts), so they equal GET /v1/usage and GET /v1/earnings to the micro-unit.

// ---- sessions and sign-in nonces -------------------------------------------------------------

export interface SessionRecord {
  /** public id (ses_…), to list and end a session; the cookie's token is never stored */
  id: string;
  accountId: string;
  method: 'siwe' | 'api_key';
  /** a cp_test_ key's session shows test money; a wallet's is live */
  livemode: boolean;
  /** the key that opened it (api_key): revoking the key ends the session */
  keyId: string | null;
  wallet: string | null;
  csrf: string;
  createdAt: Date;
  expiresAt: Date;
}

/** A session as the sessions page lists it. */
export interface SessionListing extends Omit<SessionRecord, 'csrf'> {
  keyName: string | null;
  keyPrefix: string | null;
}

type SessionRow = {
  id: string;
  account_id: string;
  method: SessionRecord['method'];
  livemode: boolean;
  key_id: string | null;
  wallet: string | null;
  csrf: string;
  created_at: Date;
  expires_at: Date;
};
const toSession = (r: SessionRow): SessionRecord => ({
  id: r.id,
  accountId: r.account_id,
  method: r.method,
  livemode: r.livemode,
  keyId: r.key_id,
  wallet: r.wallet,
  csrf: r.csrf,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

export async function insertSession(db: Queryable, tokenHash: string, s: SessionRecord): Promise<void> {
  await db.query(`DELETE FROM dashboard_sessions WHERE expires_at < now()`);
  await db.query(
    `INSERT INTO dashboard_sessions (token_hash, id, account_id, method, livemode, key_id, wallet, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [tokenHash, s.id, s.accountId, s.method, s.livemode, s.keyId, s.wallet, s.csrf, s.createdAt, s.expiresAt],
  );
}

/**
 * The session, only while its credential still holds: unexpired, its account not disabled, the key
 * that opened it not revoked, the wallet that signed in still the account's. (Revoking a key or
 * disabling an account also deletes the rows: migration 0050. This check is the second lock.)
 */
export async function findSession(db: Queryable, tokenHash: string): Promise<SessionRecord | null> {
  const r = await db.query<SessionRow>(
    `SELECT s.id, s.account_id, s.method, s.livemode, s.key_id, s.wallet, s.csrf, s.created_at, s.expires_at
       FROM dashboard_sessions s JOIN accounts a ON a.id = s.account_id LEFT JOIN api_keys k ON k.id = s.key_id
      WHERE s.token_hash = $1 AND s.expires_at > now() AND a.disabled_at IS NULL
        AND CASE s.method WHEN 'api_key' THEN k.revoked_at IS NULL AND k.account_id = s.account_id ELSE a.wallet = s.wallet END`,
    [tokenHash],
  );
  return r.rows[0] ? toSession(r.rows[0]) : null;
}

export async function deleteSession(db: Queryable, tokenHash: string): Promise<void> {
  await db.query(`DELETE FROM dashboard_sessions WHERE token_hash = $1`, [tokenHash]);
}

/** An account's unexpired sessions, newest first. */
export async function listSessions(db: Queryable, accountId: string): Promise<SessionListing[]> {
  const r = await db.query<SessionRow & { key_name: string | null; key_prefix: string | null }>(
    `SELECT s.id, s.account_id, s.method, s.livemode, s.key_id, s.wallet, s.csrf, s.created_at, s.expires_at, k.name AS key_name, k.prefix AS key_prefix
       FROM dashboard_sessions s LEFT JOIN api_keys k ON k.id = s.key_id
      WHERE s.account_id = $1 AND s.expires_at > now() ORDER BY s.created_at DESC, s.id`,
    [accountId],
  );
  return r.rows.map((x) => {
    const { csrf: _csrf, ...rest } = toSession(x);
    return { ...rest, keyName: x.key_name, keyPrefix: x.key_prefix };
  });
}

/** Ends one of the account's sessions by its public id; false when it has none by that id. */
export async function deleteSessionById(db: Queryable, accountId: string, id: string): Promise<boolean> {
  const r = await db.query(`DELETE FROM dashboard_sessions WHERE account_id = $1 AND id = $2 RETURNING id`, [
    accountId,
    id,
  ]);
  return r.rows.length === 1;
}

/** Ends every session of the account ("sign out everywhere"); returns how many. */
export async function deleteAccountSessions(db: Queryable, accountId: string): Promise<number> {
  const r = await db.query(`DELETE FROM dashboard_sessions WHERE account_id = $1 RETURNING id`, [accountId]);
  return r.rows.length;
}

/** Leaves a notice for the session's next page (server text, never from a URL). */
export async function setSessionNotice(db: Queryable, id: string, notice: string): Promise<void> {
  await db.query(`UPDATE dashboard_sessions SET notice = $2 WHERE id = $1`, [id, notice]);
}

/** The session's notice, once: read and cleared in one statement. */
export async function takeSessionNotice(db: Queryable, id: string): Promise<string | null> {
  const r = await db.query<{ notice: string }>(
    `UPDATE dashboard_sessions s SET notice = NULL FROM (SELECT id, notice FROM dashboard_sessions WHERE id = $1 AND notice IS NOT NULL FOR UPDATE) old
      WHERE s.id = old.id RETURNING old.notice`,
    [id],
  );
  return r.rows[0]?.notice ?? null;
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

// ---- rollups -----------------------------------------------------------------------------------

/**
 * Moves the rollups to the last closed UTC day (a no-op most of the time) and returns their bound:
 * the queries below add the rows created from it on.
 */
export async function refreshRollups(db: Queryable): Promise<Date> {
  const r = await db.query<{ upto: Date }>(`SELECT dashboard_rollup() AS upto`);
  return r.rows[0]!.upto;
}

/** The bound as a literal (a Date from the database, never input), so the planner sees how recent the tail is. */
const since = (upto: Date) => `'${new Date(upto).toISOString()}'::timestamptz`;

/** Ledger rows of one account ($1) in one mode ($2): the rollup, then the tail entry by entry. */
const ledgerRows = (upto: Date) => `
  SELECT day, kind, key_id, datanet_id, document_id, entries, debit, credit FROM rollup_ledger WHERE account_id = $1 AND livemode = $2
  UNION ALL
  SELECT (t.created_at AT TIME ZONE 'UTC')::date, t.kind, coalesce(t.key_id, ''), coalesce(e.datanet_id, ''), coalesce(e.document_id, ''), 1,
         CASE WHEN e.amount < 0 THEN -e.amount ELSE 0 END, CASE WHEN e.amount > 0 THEN e.amount ELSE 0 END
    FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
   WHERE t.created_at >= ${since(upto)} AND e.account_id = $1 AND e.livemode = $2`;

// ---- the ledger, as the API reads it -----------------------------------------------------------

/** Same figures and rules as usageOf (store/ledger.ts), from the rollup and the tail. */
export async function usageSummary(
  db: Queryable,
  upto: Date,
  accountId: string,
  livemode: boolean,
): Promise<UsageSummary> {
  const r = await db.query<{ kind: string; key_id: string; calls: bigint; spend: bigint; credited: bigint }>(
    `SELECT kind, key_id, sum(entries)::bigint AS calls, sum(debit)::bigint AS spend, sum(credit)::bigint AS credited
       FROM (${ledgerRows(upto)}) x GROUP BY kind, key_id`,
    [accountId, livemode],
  );
  // The rollup stores "no key" as ''.
  return foldUsage(
    r.rows.map((x) => ({
      kind: x.kind,
      keyId: x.key_id || null,
      calls: x.calls,
      spend: x.spend,
      credited: x.credited,
    })),
  );
}

/** Same figures and rules as earningsOf (store/ledger.ts), from the rollup and the tail. */
export async function earningsSummary(
  db: Queryable,
  upto: Date,
  accountId: string,
  livemode: boolean,
): Promise<EarningsSummary> {
  const totals = await db.query<{ balance: bigint; settled: bigint }>(
    `SELECT coalesce(sum(credit - debit), 0)::bigint AS balance, coalesce(sum(debit) FILTER (WHERE kind = 'payout'), 0)::bigint AS settled
       FROM (${ledgerRows(upto)}) x`,
    [accountId, livemode],
  );
  const docs = await db.query<{
    document_id: string;
    datanet_id: string;
    title: string;
    deleted: boolean;
    dn_name: string;
    earned: bigint;
    calls: bigint;
  }>(
    `SELECT x.document_id, x.datanet_id, d.title, d.deleted_at IS NOT NULL AS deleted, n.name AS dn_name, x.earned, x.calls
       FROM (SELECT document_id, datanet_id, sum(credit - debit)::bigint AS earned, sum(entries)::bigint AS calls
               FROM (${ledgerRows(upto)}) r WHERE document_id <> '' GROUP BY document_id, datanet_id) x
       JOIN documents d ON d.id = x.document_id JOIN datanets n ON n.id = x.datanet_id
      ORDER BY x.earned DESC, x.document_id`,
    [accountId, livemode],
  );
  return foldEarnings(docs.rows.map(earningsRow), totals.rows[0]!);
}

// ---- data owner ------------------------------------------------------------------------------

export interface DayAmount {
  day: string;
  calls: number;
  amount: bigint;
}

export async function ownerEarningsByDay(
  db: Queryable,
  upto: Date,
  wallet: string,
  livemode: boolean,
  days: number,
): Promise<DayAmount[]> {
  const r = await db.query<{ day: string; calls: bigint; amount: bigint }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, sum(calls)::bigint AS calls, sum(amount)::bigint AS amount FROM (
       SELECT day, calls, earned AS amount FROM rollup_owner_days WHERE wallet = lower($1) AND livemode = $2 AND day > (now() AT TIME ZONE 'UTC')::date - $3::int
       UNION ALL
       SELECT (created_at AT TIME ZONE 'UTC')::date, count(DISTINCT receipt_id), sum(amount)
         FROM receipt_sources WHERE wallet = lower($1) AND livemode = $2 AND created_at >= ${since(upto)} GROUP BY 1) x
      WHERE day > (now() AT TIME ZONE 'UTC')::date - $3::int
      GROUP BY 1 ORDER BY 1`,
    [wallet, livemode, days],
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
  earned: 'earned DESC, id',
  retrieved: 'retrieved DESC, id',
  cited: 'cited DESC, id',
  supported: 'supported DESC, id',
  name: 'name, id',
};

/** Times retrieved → cited → cited with support → amount earned, grouped at one level, one page at a time. */
export async function ownerFunnel(
  db: Queryable,
  upto: Date,
  wallet: string,
  q: {
    level: FunnelLevel;
    parent?: string | undefined;
    sort: FunnelSort;
    limit: number;
    offset: number;
    livemode: boolean;
  },
): Promise<{ rows: FunnelRow[]; total: number }> {
  const key = q.level === 'datanet' ? 'datanet_id' : q.level === 'document' ? 'document_id' : 'source_id';
  const filter =
    q.level === 'document'
      ? 'AND datanet_id = $2'
      : q.level === 'passage'
        ? 'AND document_id = $2'
        : 'AND $2::text IS NULL';
  const name =
    q.level === 'datanet'
      ? `(SELECT n.name FROM datanets n WHERE n.id = g.id)`
      : q.level === 'document'
        ? `(SELECT d.title FROM documents d WHERE d.id = g.id)`
        : `(SELECT left(c.text, 160) FROM chunks c WHERE c.id = g.id)`;
  const r = await db.query<{
    id: string;
    name: string | null;
    retrieved: bigint;
    cited: bigint;
    supported: bigint;
    earned: bigint;
    total: bigint;
  }>(
    `WITH s AS (
       SELECT source_id, datanet_id, document_id, retrieved, cited, supported, earned FROM rollup_sources WHERE wallet = lower($1) AND livemode = $5 ${filter}
       UNION ALL
       SELECT source_id, datanet_id, document_id, 1, cited::int, supported::int, amount
         FROM receipt_sources WHERE wallet = lower($1) AND livemode = $5 AND created_at >= ${since(upto)} ${filter}),
     g AS (SELECT ${key} AS id, sum(retrieved)::bigint AS retrieved, sum(cited)::bigint AS cited, sum(supported)::bigint AS supported, sum(earned)::bigint AS earned
             FROM s GROUP BY 1),
     named AS (SELECT g.*, coalesce(${name}, g.id) AS name FROM g)
     SELECT named.*, count(*) OVER ()::bigint AS total FROM named
      ORDER BY ${SORTS[q.sort]} LIMIT $3 OFFSET $4`,
    [wallet, q.parent ?? null, q.limit, q.offset, q.livemode],
  );
  return {
    total: Number(r.rows[0]?.total ?? 0),
    rows: r.rows.map((x) => ({
      id: x.id,
      name: x.name ?? x.id,
      retrieved: Number(x.retrieved),
      cited: Number(x.cited),
      supported: Number(x.supported),
      earned: x.earned,
    })),
  };
}

export interface OwnerCall {
  receiptId: string;
  ordinal: number;
  requestId: string;
  createdAt: Date;
  kind: string;
  documentId: string;
  title: string;
  weightPpm: number;
  amount: bigint;
  formulaVersion: string;
}

/** Where a page of calls ends: the next page starts after it (keyset pagination, any depth in one index range). */
export interface CallCursor {
  createdAt: Date;
  receiptId: string;
  ordinal: number;
}

export const cursorToString = (c: CallCursor) => `${c.createdAt.toISOString()}~${c.receiptId}~${c.ordinal}`;
export function cursorFromString(s: string | undefined): CallCursor | null {
  const [at, receiptId, ordinal] = (s ?? '').split('~');
  const createdAt = new Date(at ?? '');
  if (!receiptId || Number.isNaN(createdAt.getTime()) || !/^\d{1,4}$/.test(ordinal ?? '')) return null;
  return { createdAt, receiptId, ordinal: Number(ordinal) };
}

/** The latest paid calls that showed this wallet's documents, newest first (no query text: receipts hold none). */
export async function ownerRecentCalls(
  db: Queryable,
  wallet: string,
  livemode: boolean,
  limit: number,
  after: CallCursor | null,
): Promise<OwnerCall[]> {
  // With a cursor, the bound on created_at alone lets the (wallet, created_at) index start at the cursor.
  const cursor = after
    ? `AND s.created_at <= $4 AND (s.created_at, s.receipt_id, s.ordinal) < ($4::timestamptz, $5::text, $6::int)`
    : '';
  const r = await db.query<{
    receipt_id: string;
    ordinal: number;
    request_id: string;
    created_at: Date;
    kind: string;
    document_id: string;
    title: string | null;
    weight_ppm: number;
    amount: bigint;
    formula_version: string;
  }>(
    `SELECT s.receipt_id, s.ordinal, s.request_id, s.created_at, c.kind, s.document_id, d.title, s.weight_ppm, s.amount, c.formula_version
       FROM (SELECT * FROM receipt_sources s WHERE s.wallet = lower($1) AND s.livemode = $3 AND s.amount > 0 ${cursor}
              ORDER BY s.created_at DESC, s.receipt_id DESC, s.ordinal DESC LIMIT $2) s
       JOIN receipt_calls c ON c.receipt_id = s.receipt_id LEFT JOIN documents d ON d.id = s.document_id
      ORDER BY s.created_at DESC, s.receipt_id DESC, s.ordinal DESC`,
    after ? [wallet, limit, livemode, after.createdAt, after.receiptId, after.ordinal] : [wallet, limit, livemode],
  );
  return r.rows.map((x) => ({
    receiptId: x.receipt_id,
    ordinal: x.ordinal,
    requestId: x.request_id,
    createdAt: x.created_at,
    kind: x.kind,
    documentId: x.document_id,
    title: x.title ?? x.document_id,
    weightPpm: x.weight_ppm,
    amount: x.amount,
    formulaVersion: x.formula_version,
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
  const r = await db.query<{
    epoch: number;
    status: string;
    amount: bigint;
    cumulative: bigint;
    payout_root: string;
    receipts_root: string;
    tx_hash: string | null;
    confirmed_at: Date | null;
  }>(
    `SELECT p.epoch, e.status, p.amount, p.cumulative, e.payout_root, e.receipts_root, e.tx_hash, e.confirmed_at
       FROM epoch_payouts p JOIN settlement_epochs e ON e.epoch = p.epoch
      WHERE p.wallet = $1 ORDER BY p.epoch DESC`,
    [wallet],
  );
  return r.rows.map((x) => ({
    epoch: x.epoch,
    status: x.status,
    amount: x.amount,
    cumulative: x.cumulative,
    payoutRoot: x.payout_root,
    receiptsRoot: x.receipts_root,
    txHash: x.tx_hash,
    confirmedAt: x.confirmed_at,
  }));
}

// ---- consumer --------------------------------------------------------------------------------

export async function consumerSpendByDay(
  db: Queryable,
  upto: Date,
  accountId: string,
  livemode: boolean,
  days: number,
): Promise<DayAmount[]> {
  const r = await db.query<{ day: string; calls: bigint; amount: bigint }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, sum(entries)::bigint AS calls, sum(debit)::bigint AS amount
       FROM (${ledgerRows(upto)}) x
      WHERE kind <> 'credit_grant' AND debit > 0 AND day > (now() AT TIME ZONE 'UTC')::date - $3::int
      GROUP BY 1 ORDER BY 1`,
    [accountId, livemode, days],
  );
  return r.rows.map((x) => ({ day: x.day, calls: Number(x.calls), amount: x.amount }));
}

export interface SpendSplit {
  calls: number;
  charged: bigint;
  dataFees: bigint;
  modelTokens: bigint;
  adapterFees: bigint;
  protocolFee: bigint;
}

/** Receipted calls' money split. Calls billed without a receipt (embeddings) are token charges. */
export async function consumerSpendSplit(
  db: Queryable,
  upto: Date,
  accountId: string,
  livemode: boolean,
): Promise<SpendSplit> {
  const r = await db.query<{
    calls: bigint;
    charged: bigint;
    data: bigint;
    tokens: bigint;
    adapter: bigint;
    protocol: bigint;
  }>(
    `SELECT coalesce(sum(calls), 0)::bigint AS calls, coalesce(sum(charged), 0)::bigint AS charged, coalesce(sum(data_fees), 0)::bigint AS data,
            coalesce(sum(model_tokens), 0)::bigint AS tokens, coalesce(sum(adapter_fee), 0)::bigint AS adapter, coalesce(sum(protocol_fee), 0)::bigint AS protocol
       FROM (SELECT calls, charged, data_fees, model_tokens, adapter_fee, protocol_fee FROM rollup_payer_days WHERE payer = $1 AND livemode = $2
             UNION ALL
             SELECT 1, charged, data_fees, model_tokens, adapter_fee, protocol_fee FROM receipt_calls WHERE payer = $1 AND livemode = $2 AND created_at >= ${since(upto)}) x`,
    [accountId, livemode],
  );
  const x = r.rows[0]!;
  return {
    calls: Number(x.calls),
    charged: x.charged,
    dataFees: x.data,
    modelTokens: x.tokens,
    adapterFees: x.adapter,
    protocolFee: x.protocol,
  };
}

export async function consumerByDatanet(
  db: Queryable,
  upto: Date,
  accountId: string,
  livemode: boolean,
): Promise<{ datanetId: string; name: string; calls: number; dataFees: bigint }[]> {
  const r = await db.query<{ datanet_id: string; name: string | null; calls: bigint; amount: bigint }>(
    `SELECT x.datanet_id, (SELECT n.name FROM datanets n WHERE n.id = x.datanet_id) AS name, sum(x.calls)::bigint AS calls, sum(x.amount)::bigint AS amount
       FROM (SELECT datanet_id, calls, data_fees AS amount FROM rollup_payer_datanets WHERE payer = $1 AND livemode = $2
             UNION ALL
             SELECT datanet_id, count(DISTINCT receipt_id), sum(amount) FROM receipt_sources WHERE payer = $1 AND livemode = $2 AND created_at >= ${since(upto)} GROUP BY datanet_id) x
      GROUP BY x.datanet_id ORDER BY amount DESC, x.datanet_id`,
    [accountId, livemode],
  );
  return r.rows.map((x) => ({
    datanetId: x.datanet_id,
    name: x.name ?? x.datanet_id,
    calls: Number(x.calls),
    dataFees: x.amount,
  }));
}

export interface KeyRow {
  id: string;
  name: string | null;
  prefix: string;
  role: string;
  livemode: boolean;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

export async function keysWithLastUse(db: Queryable, accountId: string): Promise<KeyRow[]> {
  const r = await db.query<{
    id: string;
    name: string | null;
    prefix: string;
    role: string;
    livemode: boolean;
    created_at: Date;
    revoked_at: Date | null;
    last_used: Date | null;
  }>(
    `SELECT k.id, k.name, k.prefix, k.role, k.livemode, k.created_at, k.revoked_at,
            (SELECT max(t.created_at) FROM ledger_transactions t WHERE t.key_id = k.id) AS last_used
       FROM api_keys k WHERE k.account_id = $1 ORDER BY k.created_at, k.id`,
    [accountId],
  );
  return r.rows.map((x) => ({
    id: x.id,
    name: x.name,
    prefix: x.prefix,
    role: x.role,
    livemode: x.livemode,
    createdAt: x.created_at,
    revokedAt: x.revoked_at,
    lastUsedAt: x.last_used,
  }));
}

export async function renameKey(db: Queryable, accountId: string, keyId: string, name: string): Promise<boolean> {
  const r = await db.query(`UPDATE api_keys SET name = $3 WHERE id = $2 AND account_id = $1 RETURNING id`, [
    accountId,
    keyId,
    name,
  ]);
  return r.rows.length === 1;
}
