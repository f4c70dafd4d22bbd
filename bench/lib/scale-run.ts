// One side of `npm run bench:scale`: a single process that imports the API from a source tree
// (SCALE_ROOT: this checkout, or the baseline's), serves it over HTTP on its database
// (DATABASE_URL, or PGlite in a temporary folder), and for each history size in SCALE_SIZES seeds
// prior calls of one consumer and one owner, then times each route and counts its SQL statements.
// Prints one line `SCALE_RESULT {json}` at the end. Runs from either tree, so it uses only what
// both have: createApp, createServices, createAccount, issueKey, signInWithKey.
import { serve } from '@hono/node-server';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Db, Queryable } from '../../shared/db/index.ts';
import { loadSotu, loadSotuQuestions } from '../corpora/sotu.ts';
import { seedPriorCalls, type SeedMode } from './seed-history.ts';
import { summarize } from './stats.ts';

const root = process.env.SCALE_ROOT!;
const sizes = process.env.SCALE_SIZES!.split(',').map(Number);
const runs = Number(process.env.SCALE_RUNS ?? '40');
const docCount = Number(process.env.SCALE_DOCS ?? '20');
/** untimed calls per route and size first (plans, JIT); 1 where a route takes seconds (the baseline at 1M) */
const warmups = Number(process.env.SCALE_WARMUP ?? '5');
const from = <T>(path: string): Promise<T> => import(pathToFileURL(join(root, path)).href) as Promise<T>;

const { createApp } = await from<typeof import('../../functions/api/app.ts')>('functions/api/app.ts');
const { loadConfig } = await from<typeof import('../../shared/config.ts')>('shared/config.ts');
const { createServices, openDatabase } =
  await from<typeof import('../../shared/services/create.ts')>('shared/services/create.ts');
const { createAccount } = await from<typeof import('../../shared/services/accounts.ts')>('shared/services/accounts.ts');
const { signInWithKey } = await from<typeof import('../../shared/services/dashboard-auth.ts')>(
  'shared/services/dashboard-auth.ts',
);
const { PROTOCOL_ACCOUNT_ID } = await from<typeof import('../../shared/store/accounts.ts')>('shared/store/accounts.ts');
const { checkLedger } = await from<typeof import('../../shared/services/ledger-check.ts')>(
  'shared/services/ledger-check.ts',
);
const { BENCH_RATE_LIMITS } = await from<typeof import('./http.ts')>('bench/lib/http.ts').catch(
  () => import('./http.ts'),
);

/** Counts every statement sent (BEGIN and COMMIT of a transaction included: each is a round trip). */
function countingDb(inner: Db) {
  const counter = { n: 0, trace: null as string[] | null };
  const note = (sql: string) => (counter.n++, counter.trace?.push(sql.replace(/\s+/g, ' ').trim().slice(0, 90)));
  const wrap = (q: Queryable): Queryable => ({
    query: (sql, params) => (note(sql), q.query(sql, params)),
    exec: (sql) => (note(sql), q.exec(sql)),
  });
  const db: Db = {
    kind: inner.kind,
    ...wrap(inner),
    transaction: (fn) => (note('BEGIN'), note('COMMIT'), inner.transaction((tx) => fn(wrap(tx)))),
    close: () => inner.close(),
  };
  return { db, counter };
}

// Answers are accepted, never generated: the bench times acceptance (retrieve, hold, enqueue).
// A named fake for the queue: nothing consumes it here.
const discardingQueue = {
  url: 'bench://discard',
  send: async () => {},
  sendBatch: async () => {},
  receive: async () => [],
  delete: async () => {},
  extendVisibility: async () => {},
  depth: async () => ({ visible: 0, inFlight: 0, delayed: 0 }),
};

const dir = mkdtempSync(join(tmpdir(), 'citepay-bench-scale-'));
const config = loadConfig({
  CITEPAY_DATA_DIR: dir,
  LOG_LEVEL: 'error',
  LOG_REQUESTS: 'false',
  ...BENCH_RATE_LIMITS,
  ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
});
const { db, counter } = countingDb(await openDatabase(config));
const services = await createServices(config, { db, jobQueue: discardingQueue as never, chain: undefined });
const app = createApp(services);
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
await new Promise((r) => server.once('listening', r));
// Seeding pauses the traffic for minutes: keep the client's pooled connection open across it (else ECONNRESET).
(server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = 3_600_000;
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

async function call(
  method: string,
  path: string,
  auth: { key?: string; cookie?: string },
  body?: unknown,
): Promise<unknown> {
  const headers: Record<string, string> = auth.cookie
    ? { cookie: `cp_session=${auth.cookie}` }
    : { authorization: `Bearer ${auth.key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return text.startsWith('{') ? JSON.parse(text) : text;
}

try {
  const consumer = await createAccount(db, { kind: 'consumer', name: 'Scale consumer', credits: 10n ** 15n });
  const owner = await createAccount(db, {
    kind: 'contributor',
    name: 'Scale owner',
    wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  });
  const consumerKey = consumer.apiKey!.key;
  const ownerKey = owner.apiKey!.key;
  const datanet = (await call(
    'POST',
    '/v1/datanets',
    { key: ownerKey },
    { name: 'State of the Union', pricePerSource: '1000' },
  )) as { id: string };
  const corpus = loadSotu().slice(0, docCount);
  const ingestStarted = performance.now();
  for (const d of corpus)
    await call(
      'POST',
      `/v1/datanets/${datanet.id}/documents`,
      { key: ownerKey },
      { title: d.title, content: d.text, metadata: d.metadata },
    );
  const ingestSeconds = (performance.now() - ingestStarted) / 1000;
  const chunks = Number((await db.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM chunks`)).rows[0]!.n);
  const docs = (
    await db.query<{ id: string }>(`SELECT id FROM documents WHERE datanet_id = $1 ORDER BY id`, [datanet.id])
  ).rows.map((r) => r.id);
  const questions = loadSotuQuestions().map((q) => q.question);
  const consumerSession = ((await signInWithKey(db, consumerKey)) as { token: string }).token;
  const ownerSession = ((await signInWithKey(db, ownerKey)) as { token: string }).token;

  const routes: { name: string; run: (i: number) => Promise<unknown> }[] = [
    {
      name: 'POST /v1/retrieve',
      run: (i) =>
        call(
          'POST',
          '/v1/retrieve',
          { key: consumerKey },
          { query: questions[i % questions.length], topK: 5, datanets: [datanet.id] },
        ),
    },
    {
      name: 'POST /v1/answers (accept, async)',
      run: (i) =>
        call(
          'POST',
          '/v1/answers',
          { key: consumerKey },
          { query: questions[i % questions.length], topK: 3, datanets: [datanet.id], mode: 'async' },
        ),
    },
    { name: 'GET /v1/usage', run: () => call('GET', '/v1/usage', { key: consumerKey }) },
    { name: 'GET /v1/earnings', run: () => call('GET', '/v1/earnings', { key: ownerKey }) },
    {
      name: `GET /v1/payouts/{wallet}`,
      run: () => call('GET', `/v1/payouts/${owner.account.wallet}`, { key: ownerKey }),
    },
    {
      name: 'dashboard: consumer overview',
      run: () => call('GET', '/dashboard/consumer', { cookie: consumerSession }),
    },
    { name: 'dashboard: owner overview', run: () => call('GET', '/dashboard/owner', { cookie: ownerSession }) },
  ];

  let seeded = 0;
  let seedSeconds = 0;
  const seedSteps: Record<string, unknown>[] = [];
  const results: Record<string, unknown>[] = [];
  /** the statements of one call per route (BEGIN and COMMIT where a transaction runs) */
  const traces: Record<string, string[]> = {};
  for (const size of sizes) {
    const t = performance.now();
    await seedHistory(seeded, size);
    seedSeconds += (performance.now() - t) / 1000;
    seeded = size;
    process.stderr.write(
      `  [${db.kind} ${process.env.SCALE_LABEL}] ${size} prior calls seeded (${seedSeconds.toFixed(1)} s so far)\n`,
    );
    for (const r of routes) {
      for (let i = 0; i < warmups; i++) await r.run(i); // warm-up: plans, JIT
      if (size === sizes[0]) {
        counter.trace = [];
        await r.run(warmups);
        traces[r.name] = counter.trace;
        counter.trace = null;
      }
      const samples: number[] = [];
      const statements: number[] = [];
      for (let i = 0; i < runs; i++) {
        const before = counter.n;
        const started = performance.now();
        await r.run(i);
        samples.push(performance.now() - started);
        statements.push(counter.n - before);
      }
      const s = summarize(samples);
      results.push({
        history: size,
        route: r.name,
        p50: s.p50,
        p99: s.p99,
        mean: s.mean,
        runs: s.n,
        statements: summarize(statements).p50,
        statementsMax: Math.max(...statements),
      });
    }
  }
  process.stdout.write(
    `SCALE_RESULT ${JSON.stringify({ database: db.kind, chunks, documents: docs.length, ingestSeconds, seedSeconds, seedSteps, results, traces })}\n`,
  );

  /**
   * Prior calls `lo`..`hi` of the consumer, each paying the owner for one source (and the protocol
   * its fee), spread over the year before today (seed-history.ts; SCALE_SEED=bulk by default, or
   * triggers). Then the rollups are rebuilt over the whole history, the planner's statistics
   * refreshed, and the tree's own ledger check (check:ledger's invariants) must pass.
   */
  async function seedHistory(lo: number, hi: number) {
    const mode = (process.env.SCALE_SEED ?? 'bulk') as SeedMode;
    const parties = {
      consumerAccountId: consumer.account.id,
      consumerKeyId: consumer.apiKey!.id,
      ownerAccountId: owner.account.id,
      ownerWallet: owner.account.wallet!,
      protocolAccountId: PROTOCOL_ACCOUNT_ID,
      datanetId: datanet.id,
      documentIds: docs,
    };
    const started = performance.now();
    await seedPriorCalls(db, parties, lo, hi, {
      mode,
      batch: Number(process.env.SCALE_SEED_BATCH ?? '100000'),
      progress: (done) => {
        if (hi - lo > 0)
          process.stderr.write(`\r  seeded ${done.toLocaleString('en-US')} / ${hi.toLocaleString('en-US')}`);
      },
    });
    if (hi > lo) process.stderr.write('\n');
    const inserted = performance.now();
    // Rebuild the rollups over the whole history (seeding wrote behind their bound), as a quiet year's first page view would.
    await db.exec(`TRUNCATE rollup_ledger, rollup_sources, rollup_owner_days, rollup_payer_days, rollup_payer_datanets;
                   UPDATE dashboard_rollup_state SET upto = '-infinity'`);
    await db.query(`SELECT dashboard_rollup()`);
    await db.exec('ANALYZE');
    const rolled = performance.now();
    const checks = await checkLedger(db);
    const failed = checks.filter((c) => !c.ok);
    if (failed.length > 0)
      throw new Error(
        `ledger check failed after seeding: ${failed.map((c) => `${c.name}: ${c.offenders.join('; ')}`).join(' | ')}`,
      );
    seedSteps.push({
      size: hi,
      mode,
      calls: hi - lo,
      insertSeconds: (inserted - started) / 1000,
      rollupSeconds: (rolled - inserted) / 1000,
      checkSeconds: (performance.now() - rolled) / 1000,
      checks: checks.map((c) => `${c.name}: ${c.checked}`),
    });
    process.stderr.write(
      `  [${db.kind} ${process.env.SCALE_LABEL}] ${mode} seed of ${(hi - lo).toLocaleString('en-US')} calls: ${((inserted - started) / 1000).toFixed(1)} s, rollups ${((rolled - inserted) / 1000).toFixed(1)} s, check:ledger ${checks.length} checks passed in ${((performance.now() - rolled) / 1000).toFixed(1)} s\n`,
    );
  }
} finally {
  server.close();
  await services.db.close();
  rmSync(dir, { recursive: true, force: true });
}
