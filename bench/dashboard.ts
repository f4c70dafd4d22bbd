// npm run bench:dashboard [-- --calls 100000 --runs 40]
// Server time per dashboard page over a year of traffic: seeds `--calls` paid calls (default
// 100,000; three sources each, one of them always the measured data owner's, a quarter of them
// answers) straight into the ledger and receipts tables in batches — every ledger transaction
// balances (the database's deferred trigger checks each one at commit) and receipts go through the
// same insert path and index trigger as live calls — then times each page through app.request
// (in process: the handler's time, no network). PGlite in a temporary folder by default;
// DATABASE_URL=postgres://… measures a real PostgreSQL server instead.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createApp } from '../functions/api/app.ts';
import { loadConfig } from '../shared/config.ts';
import { bpsOf, splitByWeights } from '../shared/core/money.ts';
import { canonicalReceipt, hashCanonical, RECEIPT_VERSION, type Receipt } from '../shared/core/receipts.ts';
import { createAccount } from '../shared/services/accounts.ts';
import { issueKey } from '../shared/services/api-keys.ts';
import { createServices } from '../shared/services/create.ts';
import { signInWithKey } from '../shared/services/dashboard-auth.ts';
import { PROTOCOL_ACCOUNT_ID } from '../shared/store/accounts.ts';
import { BENCH_RATE_LIMITS } from './lib/http.ts';
import { printTable, saveResults, summarize } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: { calls: { type: 'string', default: '100000' }, runs: { type: 'string', default: '40' } },
});
const CALLS = Number(args.calls);
const RUNS = Number(args.runs);
const CONTRIBUTORS = 20;
const DOCS_PER_DATANET = 50;
const CHUNKS_PER_DOC = 4;
const BATCH = 5_000;
const PRICE = 1_000n;
const TOKEN_CHARGE = 500n;
const YEAR_MS = 365 * 86_400_000;

const dir = mkdtempSync(join(tmpdir(), 'citepay-bench-dashboard-'));
const config = loadConfig({
  CITEPAY_DATA_DIR: dir,
  LOG_LEVEL: 'error',
  LOG_REQUESTS: 'false',
  ...BENCH_RATE_LIMITS,
  ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
});
// No embedding happens here: the pages only read.
const embedder = {
  modelId: 'use-lite-512',
  dimension: 512,
  embed: async () => {
    throw new Error('bench: no embedding');
  },
};
const services = await createServices(config, { embedder, jobQueue: undefined, chain: undefined });
const { db } = services;

try {
  const seedStarted = performance.now();
  const consumer = await createAccount(db, { kind: 'consumer', name: 'Bench consumer', credits: 10n ** 15n });
  const keyIds = [consumer.apiKey!.id];
  for (const name of ['staging', 'batch jobs', 'mobile'])
    keyIds.push((await issueKey(db, { accountId: consumer.account.id, role: 'consumer', name })).record.id);
  const contributors: { id: string; key: string; wallet: string; datanet: string }[] = [];
  for (let c = 0; c < CONTRIBUTORS; c++) {
    const wallet = privateKeyToAccount(generatePrivateKey()).address;
    const a = await createAccount(db, { kind: 'contributor', name: `Owner ${c}`, wallet });
    const datanet = `dn_bench${c}`;
    await db.query(
      `INSERT INTO datanets (id, owner_account_id, name, price_per_source, embedding_model, embedding_dim) VALUES ($1, $2, $3, $4, 'use-lite-512', 512)`,
      [datanet, a.account.id, `Datanet ${c}`, PRICE],
    );
    await db.query(
      `INSERT INTO documents (id, datanet_id, title, content_type, content_hash, object_key, byte_length, text_length, chunk_count)
       SELECT 'doc_b' || $2::int || '_' || i, $1, 'Document ' || i || ' of datanet ' || $2::int, 'text/plain', md5($1 || i), 'bench/' || i, 1000, 1000, $3::int
         FROM generate_series(0, $4::int - 1) i`,
      [datanet, c, CHUNKS_PER_DOC, DOCS_PER_DATANET],
    );
    await db.query(
      `INSERT INTO chunks (id, document_id, datanet_id, ordinal, start_char, end_char, text, tsv)
       SELECT 'chk_b' || $2::int || '_' || i || '_' || o, 'doc_b' || $2::int || '_' || i, $1, o, o * 250, o * 250 + 250,
              'Passage ' || o || ' of document ' || i || ': a paragraph of text that a paid call was shown.', ''::tsvector
         FROM generate_series(0, $3::int - 1) i, generate_series(0, $4::int - 1) o`,
      [datanet, c, DOCS_PER_DATANET, CHUNKS_PER_DOC],
    );
    contributors.push({ id: a.account.id, key: a.apiKey!.key, wallet, datanet });
  }

  // Deterministic pseudo-random choices.
  let seed = 42;
  const rand = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed % n);
  const now = Date.now();
  const weights = [500_000n, 300_000n, 200_000n];
  for (let start = 0; start < CALLS; start += BATCH) {
    const tx = {
      id: [] as string[],
      kind: [] as string[],
      req: [] as string[],
      key: [] as string[],
      at: [] as string[],
    };
    const en = {
      tx: [] as string[],
      account: [] as string[],
      amount: [] as string[],
      dn: [] as (string | null)[],
      doc: [] as (string | null)[],
    };
    const rc = {
      id: [] as string[],
      req: [] as string[],
      kind: [] as string[],
      canonical: [] as string[],
      hash: [] as string[],
      at: [] as string[],
    };
    for (let i = start; i < Math.min(start + BATCH, CALLS); i++) {
      const createdAt = new Date(now - Math.floor(((CALLS - i) / CALLS) * YEAR_MS));
      const kind = i % 4 === 0 ? 'answer' : 'retrieve';
      const owners = [0, 1 + rand(CONTRIBUTORS - 1), 1 + rand(CONTRIBUTORS - 1)];
      const sources = owners.map((c) => {
        const d = rand(DOCS_PER_DATANET);
        return {
          c,
          datanet: contributors[c]!.datanet,
          doc: `doc_b${c}_${d}`,
          chunk: `chk_b${c}_${d}_${rand(CHUNKS_PER_DOC)}`,
        };
      });
      const dataFee = PRICE * BigInt(sources.length);
      const dataProtocolFee = bpsOf(dataFee, config.protocolFeeBps);
      const credits = splitByWeights(dataFee - dataProtocolFee, weights);
      const tokens = kind === 'answer' ? TOKEN_CHARGE : 0n;
      const total = dataFee + tokens;
      const protocolFee = dataProtocolFee + tokens;
      const txId = `txn_b${i}`;
      const requestId = `req_b${i}`;
      tx.id.push(txId);
      tx.kind.push(kind);
      tx.req.push(requestId);
      tx.key.push(keyIds[i % keyIds.length]!);
      tx.at.push(createdAt.toISOString());
      const entry = (account: string, amount: bigint, dn: string | null = null, doc: string | null = null) => {
        en.tx.push(txId);
        en.account.push(account);
        en.amount.push(amount.toString());
        en.dn.push(dn);
        en.doc.push(doc);
      };
      entry(consumer.account.id, -total);
      entry(PROTOCOL_ACCOUNT_ID, protocolFee);
      sources.forEach((s, k) => entry(contributors[s.c]!.id, credits[k]!, s.datanet, s.doc));
      const cited = kind === 'answer';
      const receipt: Receipt = {
        version: RECEIPT_VERSION,
        id: `rcpt_b${i}`,
        requestId,
        kind,
        createdAt: createdAt.toISOString(),
        formulaVersion: cited ? 'answer-v1' : 'retrieval-v1',
        charged: total.toString(),
        dataFee: (kind === 'answer' ? dataFee : dataFee - dataProtocolFee).toString(),
        protocolFee: protocolFee.toString(),
        sources: sources.map((s, k) => ({
          sourceId: s.chunk,
          documentId: s.doc,
          datanetId: s.datanet,
          wallet: contributors[s.c]!.wallet,
          weightPpm: Number(weights[k]!),
          amount: credits[k]!.toString(),
          signals: {
            retrieval: 1 / 3,
            citation: cited ? (k < 2 ? 0.5 : 0) : null,
            unsupported: cited && k === 2 && i % 8 === 0,
            causal: null,
            duplicateOf: null,
          },
        })),
        adapter: null,
      };
      const canonical = canonicalReceipt(receipt);
      rc.id.push(receipt.id);
      rc.req.push(requestId);
      rc.kind.push(kind);
      rc.canonical.push(canonical);
      rc.hash.push(hashCanonical(canonical));
      rc.at.push(receipt.createdAt);
    }
    await db.transaction(async (q) => {
      await q.query(
        `INSERT INTO ledger_transactions (id, kind, request_id, key_id, created_at, livemode) SELECT *, true FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])`,
        [tx.id, tx.kind, tx.req, tx.key, tx.at],
      );
      await q.query(
        `INSERT INTO ledger_entries (transaction_id, account_id, amount, datanet_id, document_id, livemode) SELECT *, true FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[])`,
        [en.tx, en.account, en.amount, en.dn, en.doc],
      );
      await q.query(
        `INSERT INTO receipts (id, request_id, kind, account_id, canonical, hash, created_at, livemode) SELECT r.id, r.req, r.kind, $7, r.canonical, r.hash, r.at, true
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS r(id, req, kind, canonical, hash, at)`,
        [rc.id, rc.req, rc.kind, rc.canonical, rc.hash, rc.at, consumer.account.id],
      );
    });
    process.stdout.write(
      `\r  seeded ${Math.min(start + BATCH, CALLS).toLocaleString('en-US')} / ${CALLS.toLocaleString('en-US')} paid calls`,
    );
  }
  const rollupStarted = performance.now();
  await db.query(`SELECT dashboard_rollup()`); // what the first page view after a quiet year would do
  const rollupSeconds = (performance.now() - rollupStarted) / 1000;
  await db.exec('ANALYZE');
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  const unbalanced = await db.query<{ n: bigint }>(
    `SELECT count(*)::bigint AS n FROM (SELECT transaction_id FROM ledger_entries GROUP BY 1 HAVING sum(amount) <> 0) x`,
  );
  if (unbalanced.rows[0]!.n !== 0n) throw new Error('an unbalanced ledger transaction was seeded');
  const counts = (
    await db.query<{ calls: bigint; sources: bigint; entries: bigint }>(
      `SELECT (SELECT count(*) FROM receipt_calls)::bigint AS calls, (SELECT count(*) FROM receipt_sources)::bigint AS sources, (SELECT count(*) FROM ledger_entries)::bigint AS entries`,
    )
  ).rows[0]!;
  console.log(`\n  rolled a year up in ${rollupSeconds.toFixed(1)} s (once; later only each closed day)`);
  console.log(
    `  seeded in ${seedSeconds.toFixed(1)} s: ${counts.calls} receipts, ${counts.sources} receipt sources, ${counts.entries} ledger entries (${db.kind})`,
  );

  const app = createApp(services);
  const owner = contributors[0]!;
  const ownerSession = (await signInWithKey(db, owner.key)).token;
  const consumerSession = (await signInWithKey(db, consumer.apiKey!.key)).token;
  const pages: { name: string; path: string; cookie?: string; key?: string }[] = [
    { name: 'consumer: usage and keys', path: '/dashboard/consumer', cookie: consumerSession },
    { name: 'owner: overview (datanets)', path: '/dashboard/owner', cookie: ownerSession },
    {
      name: 'owner: documents of a datanet',
      path: `/dashboard/owner?level=document&parent=${owner.datanet}&sort=retrieved`,
      cookie: ownerSession,
    },
    {
      name: 'owner: passages of a document',
      path: `/dashboard/owner?level=passage&parent=doc_b0_7`,
      cookie: ownerSession,
    },
    {
      name: 'owner: calls, six months back',
      path: `/dashboard/owner?after=${encodeURIComponent(`${new Date(Date.now() - YEAR_MS / 2).toISOString()}~rcpt_zzz~0`)}`,
      cookie: ownerSession,
    },
    { name: 'owner: receipt', path: `/dashboard/owner/receipts/rcpt_b${CALLS - 10}`, cookie: ownerSession },
    { name: 'owner: statement CSV', path: '/dashboard/owner/statement.csv', cookie: ownerSession },
    { name: 'API: GET /v1/usage', path: '/v1/usage', key: consumer.apiKey!.key },
    { name: 'API: GET /v1/earnings', path: '/v1/earnings', key: owner.key },
  ];
  const rows: Record<string, string | number>[] = [];
  for (const p of pages) {
    const headers: Record<string, string> = p.cookie
      ? { cookie: `cp_session=${p.cookie}` }
      : { authorization: `Bearer ${p.key}` };
    const samples: number[] = [];
    for (let r = 0; r < RUNS + 3; r++) {
      const t = performance.now();
      const res = await app.request(`http://localhost${p.path}`, { headers });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${p.path}: ${res.status}`);
      if (r >= 3) samples.push(performance.now() - t);
    }
    const s = summarize(samples);
    rows.push({ page: p.name, p50_ms: s.p50, p99_ms: s.p99, mean_ms: s.mean, runs: s.n });
  }
  printTable(
    `Dashboard server time per page, ${CALLS.toLocaleString('en-US')} paid calls over a year (${db.kind})`,
    rows,
  );
  console.log(
    `  results: ${saveResults('dashboard', { calls: CALLS, runs: RUNS, database: db.kind, seedSeconds, rollupSeconds, counts, pages: rows })}`,
  );
} finally {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
