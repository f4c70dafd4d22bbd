// Prior calls for `npm run bench:scale` (issue 18): one consumer's paid calls, each paying one owner
// for one source and the protocol its fee, spread over the year before today. Two ways that must
// leave the same database (seed-history.test.ts compares them on both databases):
//  - 'triggers': bulk INSERTs with every trigger on, so each row goes through the ledger's per-row
//    rules (the deferred balance check, the key-mode check, the receipts index). ~1 ms per call on
//    PostgreSQL at load 2, ~4.6 ms at load 30–45: 1M calls do not fit a run.
//  - 'bulk': the same INSERTs with triggers and foreign-key checks off for the seeding transaction
//    only (`SET LOCAL session_replication_role = replica`), and every rule they enforce applied or
//    checked set-based in that transaction before it commits: the receipts index (one INSERT …
//    SELECT per table, written from receipt_index() of migration 0014), the running balances (one
//    upsert, as 0040's statement trigger does), each transaction summing to zero and a live key
//    writing live money (0001's and 0012's per-row checks), and every foreign key of the seeded
//    tables (an anti-join over the batch). A trigger it does not know makes it refuse rather than
//    skip a rule. Works on any tree from 0014 on (the baseline 861568f included): it touches only
//    the tables and triggers both have, and the running balances where the tree has them.
import type { Db, Queryable } from '../../shared/db/index.ts';

export interface SeedParties {
  consumerAccountId: string;
  consumerKeyId: string;
  ownerAccountId: string;
  ownerWallet: string;
  protocolAccountId: string;
  datanetId: string;
  /** the documents the calls paid for, round robin */
  documentIds: string[];
}

export type SeedMode = 'triggers' | 'bulk';

/** the tables seeding writes, and how a batch's rows are found in each (by index) */
const SEEDED: Record<string, { key: string; prefix: string }> = {
  ledger_transactions: { key: 'id', prefix: 'txn_s' },
  ledger_entries: { key: 'transaction_id', prefix: 'txn_s' },
  receipts: { key: 'id', prefix: 'rcpt_s' },
  receipt_calls: { key: 'receipt_id', prefix: 'rcpt_s' },
  receipt_sources: { key: 'receipt_id', prefix: 'rcpt_s' },
  account_balances: { key: '', prefix: '' },
};

/** the triggers on those tables that the bulk seed knows, and what it does in their place */
const KNOWN_TRIGGERS: Record<string, string> = {
  ledger_transactions_key_mode: 'checkBatch: a live key writes live money',
  ledger_entries_balanced: 'checkBatch: each transaction sums to zero',
  ledger_entries_append_only: 'fires on UPDATE and DELETE only: seeding only inserts',
  ledger_entries_balance: 'runningBalances: one upsert per account and mode',
  ledger_entries_webhook: 'checkBatch: no webhook endpoint wants balance.low (else refused)',
  receipts_index: 'indexReceipts: receipt_calls and receipt_sources set-based',
};

/** calls i in [$1, $2]: a quarter answers, the rest retrieves, one a day back over 365 days */
const CALLS = `SELECT i, CASE WHEN i % 4 = 0 THEN 'answer' ELSE 'retrieve' END AS kind, ($3::text[])[1 + i % cardinality($3::text[])] AS doc,
         (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') - interval '2 hours' - (i % 365) * interval '1 day' - (i % 3000) * interval '1 second' AS at
    FROM generate_series($1::int, $2::int) i`;

/** the batch's receipts, by primary key */
const BATCH_RECEIPTS = `SELECT r.* FROM generate_series($1::int, $2::int) i JOIN receipts r ON r.id = 'rcpt_s' || i`;

/** seeding's steps timed on stderr (SCALE_SEED_TIMING=1) */
function timer() {
  let t = performance.now();
  return (step: string) => {
    if (process.env.SCALE_SEED_TIMING)
      process.stderr.write(`    ${step} ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    t = performance.now();
  };
}

/**
 * Prior calls `lo`..`hi - 1` (ids `txn_s<i>`, `req_s<i>`, `rcpt_s<i>`), in transactions of `batch`
 * calls. Does not touch the rollups: the caller rebuilds them (seeding writes behind their bound).
 */
export async function seedPriorCalls(
  db: Db,
  p: SeedParties,
  lo: number,
  hi: number,
  opts: { mode: SeedMode; batch?: number; progress?: (done: number) => void },
): Promise<void> {
  const BATCH = opts.batch ?? 100_000;
  for (let a = lo; a < hi; a += BATCH) {
    const b = Math.min(hi, a + BATCH) - 1;
    let commitLap: ((step: string) => void) | undefined;
    await db.transaction(async (tx) => {
      const lap = timer();
      if (opts.mode === 'bulk') {
        await refuseUnknownTriggers(tx);
        await tx.exec(`SET LOCAL session_replication_role = replica`);
      } else {
        // The balance check fires at commit once per entry; a plan the session cached while the
        // ledger was small (a sequential scan) would make those checks O(n²): plan each afresh,
        // from statistics taken below, after the inserts.
        await tx.exec(`SET LOCAL plan_cache_mode = force_custom_plan`);
      }
      await insertCalls(tx, p, a, b);
      lap('inserts');
      if (opts.mode === 'bulk') {
        await indexReceipts(tx, a, b);
        lap('receipts index (set-based)');
        await runningBalances(tx, a, b);
        lap('running balances (set-based)');
        await checkBatch(tx, a, b);
        lap('balance, key-mode and foreign-key checks (set-based)');
        await tx.exec(`SET LOCAL session_replication_role = origin`);
      } else {
        await tx.exec(`ANALYZE ledger_entries, ledger_transactions`);
        lap('analyze');
      }
      commitLap = lap;
    });
    commitLap?.('commit');
    opts.progress?.(b + 1);
  }
}

async function insertCalls(tx: Queryable, p: SeedParties, a: number, b: number) {
  const range = [a, b, p.documentIds];
  await tx.query(
    `INSERT INTO ledger_transactions (id, kind, request_id, key_id, created_at, livemode)
     SELECT 'txn_s' || i, kind, 'req_s' || i, $4, at, true FROM (${CALLS}) c`,
    [...range, p.consumerKeyId],
  );
  await tx.query(
    `INSERT INTO ledger_entries (transaction_id, livemode, account_id, amount, datanet_id, document_id)
     SELECT 'txn_s' || c.i, true, e.account, e.amount, e.dn, e.doc FROM (${CALLS}) c,
       LATERAL (VALUES ($4::text, -1000::bigint, NULL::text, NULL::text), ($5::text, 900::bigint, $7::text, c.doc), ($6::text, 100::bigint, NULL, NULL)) e(account, amount, dn, doc)`,
    [...range, p.consumerAccountId, p.ownerAccountId, p.protocolAccountId, p.datanetId],
  );
  await tx.query(
    `INSERT INTO receipts (id, request_id, kind, account_id, canonical, hash, created_at, livemode)
     SELECT 'rcpt_s' || c.i, 'req_s' || c.i, c.kind, $4, j::text, '0x' || md5('a' || c.i) || md5('b' || c.i), c.at, true
       FROM (${CALLS}) c, LATERAL (SELECT jsonb_build_object(
         'version', 1, 'id', 'rcpt_s' || c.i, 'requestId', 'req_s' || c.i, 'kind', c.kind, 'createdAt', c.at,
         'formulaVersion', CASE WHEN c.kind = 'answer' THEN 'answer-v1' ELSE 'retrieval-v1' END,
         'charged', '1000', 'dataFee', '900', 'protocolFee', '100', 'adapter', NULL,
         'sources', jsonb_build_array(jsonb_build_object('sourceId', c.doc || ':0', 'documentId', c.doc, 'datanetId', $5::text, 'wallet', $6::text,
           'weightPpm', 1000000, 'amount', '900', 'signals', jsonb_build_object('retrieval', 1, 'citation', CASE WHEN c.kind = 'answer' THEN 1 END, 'unsupported', false))))) r(j)`,
    [...range, p.consumerAccountId, p.datanetId, p.ownerWallet.toLowerCase()],
  );
}

/** What receipts_index (receipt_index() of 0014, per row) writes, for the whole batch at once. */
async function indexReceipts(tx: Queryable, a: number, b: number) {
  await tx.query(
    `INSERT INTO receipt_calls
     SELECT r.id, r.request_id, r.account_id, r.livemode, r.kind, r.created_at, r.j ->> 'formulaVersion',
            m.charged, m.credits, m.adapter, t.tokens, m.charged - m.credits - m.adapter - t.tokens
       FROM (SELECT r.*, r.canonical::jsonb AS j FROM (${BATCH_RECEIPTS}) r) r,
            LATERAL (SELECT (r.j ->> 'charged')::bigint AS charged, coalesce((r.j -> 'adapter' ->> 'amount')::bigint, 0) AS adapter,
                            (SELECT coalesce(sum((s ->> 'amount')::bigint), 0) FROM jsonb_array_elements(r.j -> 'sources') s) AS credits) m,
            LATERAL (SELECT CASE WHEN r.kind = 'answer' THEN greatest(m.charged - (r.j ->> 'dataFee')::bigint - m.adapter, 0) ELSE 0 END AS tokens) t`,
    [a, b],
  );
  await tx.query(
    `INSERT INTO receipt_sources
     SELECT r.id, (o - 1)::int, r.request_id, r.account_id, r.livemode, r.created_at, lower(s ->> 'wallet'), s ->> 'datanetId', s ->> 'documentId',
            s ->> 'sourceId', (s ->> 'weightPpm')::int, (s ->> 'amount')::bigint,
            (s -> 'signals' ->> 'citation') IS NOT NULL AND ((s -> 'signals' ->> 'citation')::float8 > 0 OR (s -> 'signals' ->> 'unsupported')::boolean),
            (s -> 'signals' ->> 'citation') IS NOT NULL AND (s -> 'signals' ->> 'citation')::float8 > 0
       FROM (${BATCH_RECEIPTS}) r, jsonb_array_elements(r.canonical::jsonb -> 'sources') WITH ORDINALITY AS x(s, o)`,
    [a, b],
  );
}

/** Refuses when a seeded table has a trigger this file does not replace (a rule it would skip). */
async function refuseUnknownTriggers(tx: Queryable) {
  const r = await tx.query<{ name: string; tbl: string }>(
    `SELECT t.tgname AS name, c.relname AS tbl FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      WHERE NOT t.tgisinternal AND c.relname = ANY($1::text[]) AND c.relnamespace = 'public'::regnamespace`,
    [Object.keys(SEEDED)],
  );
  const unknown = r.rows.filter((t) => !(t.name in KNOWN_TRIGGERS));
  if (unknown.length > 0)
    throw new Error(
      `bulk seed refused: triggers it does not replace: ${unknown.map((t) => `${t.tbl}.${t.name}`).join(', ')} (seed with SCALE_SEED=triggers, or teach seed-history.ts their effect)`,
    );
}

/** What 0040's statement trigger does for the batch's entries (where the tree keeps running balances). */
async function runningBalances(tx: Queryable, a: number, b: number) {
  const has = await tx.query<{ t: string | null }>(`SELECT to_regclass('account_balances')::text AS t`);
  if (has.rows[0]?.t == null) return;
  await tx.query(
    `INSERT INTO account_balances AS b (account_id, livemode, balance)
       SELECT e.account_id, e.livemode, sum(e.amount) FROM generate_series($1::int, $2::int) i
         JOIN ledger_entries e ON e.transaction_id = 'txn_s' || i GROUP BY e.account_id, e.livemode ORDER BY 1, 2
     ON CONFLICT (account_id, livemode) DO UPDATE SET balance = b.balance + excluded.balance`,
    [a, b],
  );
}

/** Every foreign key of the seeded tables, as an anti-join over the batch's rows (MATCH SIMPLE: a NULL column passes). */
async function foreignKeyChecks(tx: Queryable): Promise<string[]> {
  const r = await tx.query<{ tbl: string; ref: string; cols: string[]; refcols: string[]; name: string }>(
    `SELECT c.conname AS name, t.relname AS tbl, rt.relname AS ref,
            array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o) AS cols,
            array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o) AS refcols
       FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class rt ON rt.oid = c.confrelid
      WHERE c.contype = 'f' AND t.relname = ANY($1::text[]) AND t.relnamespace = 'public'::regnamespace ORDER BY 1`,
    [Object.keys(SEEDED).filter((t) => SEEDED[t]!.key !== '')],
  );
  return r.rows.map((fk) => {
    const { key, prefix } = SEEDED[fk.tbl]!;
    const notNull = fk.cols.map((c) => `x.${c} IS NOT NULL`).join(' AND ');
    const match = fk.cols.map((c, n) => `r.${fk.refcols[n]} = x.${c}`).join(' AND ');
    return `SELECT '${fk.name}' AS fk, count(*) AS n FROM generate_series($1::int, $2::int) i JOIN ${fk.tbl} x ON x.${key} = '${prefix}' || i
             WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${fk.ref} r WHERE ${match})`;
  });
}

/** The checks the per-row triggers and foreign keys make, over the batch at once; throws (rolling back) on any offender. */
async function checkBatch(tx: Queryable, a: number, b: number) {
  const r = await tx.query<{ unbalanced: bigint; wrong_mode: bigint }>(
    `SELECT (SELECT count(*) FROM (SELECT e.transaction_id FROM generate_series($1::int, $2::int) i
               JOIN ledger_entries e ON e.transaction_id = 'txn_s' || i GROUP BY e.transaction_id HAVING sum(e.amount) <> 0) x)::bigint AS unbalanced,
            (SELECT count(*) FROM generate_series($1::int, $2::int) i JOIN ledger_transactions t ON t.id = 'txn_s' || i
               JOIN api_keys k ON k.id = t.key_id
              WHERE (t.livemode AND NOT k.livemode) OR (k.livemode AND NOT t.livemode AND t.kind <> 'credit_grant'))::bigint AS wrong_mode`,
    [a, b],
  );
  const { unbalanced, wrong_mode } = r.rows[0]!;
  if (unbalanced !== 0n || wrong_mode !== 0n)
    throw new Error(
      `bulk seed refused: ${unbalanced} unbalanced transactions, ${wrong_mode} in the wrong mode for their key`,
    );
  const fks = await foreignKeyChecks(tx);
  const broken = (await tx.query<{ fk: string; n: bigint }>(fks.join(' UNION ALL '), [a, b])).rows.filter(
    (x) => x.n !== 0n,
  );
  if (broken.length > 0)
    throw new Error(
      `bulk seed refused: rows without their referenced row: ${broken.map((x) => `${x.fk} ${x.n}`).join(', ')}`,
    );
  const hooks = await tx.query<{ t: string | null }>(`SELECT to_regclass('webhook_endpoints')::text AS t`);
  if (hooks.rows[0]?.t != null) {
    const wanting = await tx.query<{ n: bigint }>(
      `SELECT count(*)::bigint AS n FROM webhook_endpoints WHERE deleted_at IS NULL AND 'balance.low' = ANY (events)`,
    );
    if (wanting.rows[0]!.n !== 0n)
      throw new Error('bulk seed refused: a webhook endpoint wants balance.low, which it does not emit');
  }
}
