// Prior calls for `npm run bench:scale` (issue 18): one consumer's paid calls, each paying one owner
// for one source and the protocol its fee, spread over the year before today. Two ways that must
// leave the same database (seed-history.test.ts compares them on both databases):
//  - 'triggers': bulk INSERTs with every trigger on, so each row goes through the ledger's per-row
//    rules (the deferred balance check, the key-mode check, the receipts index). ~1 ms per call on
//    PostgreSQL at load 2, ~4.6 ms at load 30–45: 1M calls do not fit a run.
//  - 'bulk': the same INSERTs with those three per-row triggers disabled for the seeding transaction
//    only, their effects applied set-based in the same transaction (the receipts index by one
//    INSERT … SELECT per table, written from receipt_index() of migration 0014), and their checks
//    run once over the batch (each transaction sums to zero; a live key writes live money) before
//    the triggers are enabled again and the transaction commits. Foreign keys, CHECKs and the
//    statement-level triggers (the running balances of 0040, balance.low of 0110 where the tree has
//    them) stay on. Works on any tree from 0014 on (the baseline 861568f included): it touches only
//    the tables and triggers both have.
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

/** the per-row triggers the bulk seed replaces, as `table: trigger` (all in both trees) */
const PER_ROW_TRIGGERS: [table: string, trigger: string][] = [
  ['ledger_transactions', 'ledger_transactions_key_mode'],
  ['ledger_entries', 'ledger_entries_balanced'],
  ['receipts', 'receipts_index'],
];

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
        for (const [table, trigger] of PER_ROW_TRIGGERS) await tx.exec(`ALTER TABLE ${table} DISABLE TRIGGER ${trigger}`);
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
        await checkBatch(tx, a, b);
        lap('balance and key-mode checks (set-based)');
        for (const [table, trigger] of PER_ROW_TRIGGERS) await tx.exec(`ALTER TABLE ${table} ENABLE TRIGGER ${trigger}`);
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

/** The checks the two disabled checking triggers make per row, over the batch at once; throws (rolling back) on any offender. */
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
    throw new Error(`bulk seed refused: ${unbalanced} unbalanced transactions, ${wrong_mode} in the wrong mode for their key`);
}
