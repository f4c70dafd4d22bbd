// npm run bench:edge [-- --docs N --requests N --concurrency 1,8 --cold N]
// The edge Worker (built as SST builds it, test/edge/build.ts) in workerd via miniflare against a
// real PostgreSQL 15 server, beside the Node API on the same database: bundle size, cold start,
// and POST /v1/retrieve p50/p99 through each over HTTP on the State of the Union corpus. The Worker
// opens a database connection per request (as with Hyperdrive, whose pool sits on Cloudflare's side;
// locally miniflare connects straight through) and fetches each query vector from the Node API's
// /v1/embeddings, so its extra cost is shown as its own rows. Prints tables, writes bench/results/edge.json.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildEdgeWorker } from '../test/edge/build.ts';
import { startEdgeWorker } from '../test/edge/worker.ts';
import { createDatabase, postgresInstalled, startPostgres } from '../test/postgres-server.ts';
import { pgbouncerInstalled, startPgBouncer } from './lib/pgbouncer.ts';
import { loadSotu, loadSotuQuestions } from './corpora/sotu.ts';
import { spawnApiServer } from './lib/api-processes.ts';
import { BENCH_RATE_LIMITS, benchAccounts, jsonPoster } from './lib/http.ts';
import { drive, printTable, saveResults, summarize } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'string', default: '80' },
    requests: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '1,8' },
    cold: { type: 'string', default: '5' },
  },
});
if (!postgresInstalled()) throw new Error('bench:edge needs PostgreSQL 15 with pgvector: bash .ci/postgres.sh');
const concurrencies = args.concurrency.split(',').map(Number);
const requests = Number(args.requests);
const POOLED = 'edge through a transaction pool (PgBouncer, as Hyperdrive)';

const built = await buildEdgeWorker(join(mkdtempSync(join(tmpdir(), 'citepay-edge-')), 'worker'));
printTable('Edge Worker bundle (one ESM file, as SST uploads it)', [
  {
    'raw MB': built.bytes / 1e6,
    'gzip MB': built.gzipBytes / 1e6,
    'Cloudflare limit (gzip) MB': 10,
    'build ms': built.buildMs,
  },
]);

const pg = await startPostgres();
// Hyperdrive's stand-in with its pool (bench/lib/pgbouncer.ts); without PgBouncer, only miniflare's straight connection.
const pool = pgbouncerInstalled() ? await startPgBouncer(pg) : undefined;
if (!pool) console.log('PgBouncer not installed (apt-get install pgbouncer): the pooled edge row is skipped');
const adminKey = `cp_live_${randomBytes(18).toString('hex')}`;
const databaseUrl = await createDatabase(pg.url, 'citepay_bench_edge');
const api = await spawnApiServer({
  DATABASE_URL: databaseUrl,
  CITEPAY_ADMIN_KEY: adminKey,
  OBJECT_STORE_DIR: mkdtempSync(join(tmpdir(), 'citepay-bench-objects-')),
  CITEPAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'citepay-bench-edge-')),
});
try {
  const post = jsonPoster(api.base);
  const { contributorKey, datanetId, consumerKey } = await benchAccounts(post, adminKey);
  const operator = await post('/v1/admin/accounts', adminKey, {
    kind: 'consumer',
    name: 'edge operator',
    credits: '1000000000000',
  });
  const corpus = loadSotu().slice(0, Number(args.docs));
  let chunks = 0;
  for (const doc of corpus)
    chunks += (
      await post(`/v1/datanets/${datanetId}/documents`, contributorKey, {
        title: doc.title,
        content: doc.text,
        metadata: doc.metadata,
      })
    ).document.chunkCount;

  const edgeOptions = {
    bundle: built.file,
    databaseUrl,
    embedder: { url: `${api.base}/v1`, apiKey: operator.apiKey.key as string, model: 'use-lite-512', dimension: 512 },
    vars: { LOG_REQUESTS: 'false', ...BENCH_RATE_LIMITS },
  };
  const questions = loadSotuQuestions().map((q) => q.question);
  const retrieve = (base: string) => {
    const p = jsonPoster(base);
    return async (i: number) =>
      void (await p('/v1/retrieve', consumerKey, { query: questions[i % questions.length], topK: 5 }));
  };

  // Cold start: a new workerd process and isolate (script parse and top level), then the first request.
  const cold: { startMs: number; firstRequestMs: number }[] = [];
  for (let i = 0; i < Number(args.cold); i++) {
    const t0 = performance.now();
    const worker = await startEdgeWorker(edgeOptions);
    const t1 = performance.now();
    await retrieve(worker.url)(i);
    cold.push({ startMs: t1 - t0, firstRequestMs: performance.now() - t1 });
    await worker.dispose();
  }
  const coldStart = summarize(cold.map((c) => c.startMs));
  const coldFirst = summarize(cold.map((c) => c.firstRequestMs));
  printTable(`Cold start (${cold.length} fresh workerd processes)`, [
    { phase: 'workerd up, script loaded', 'p50 ms': coldStart.p50, 'p99 ms': coldStart.p99 },
    { phase: 'first POST /v1/retrieve', 'p50 ms': coldFirst.p50, 'p99 ms': coldFirst.p99 },
  ]);

  const worker = await startEdgeWorker(edgeOptions);
  // The same Worker with the query vector fetched only when the retrieve service asks for it (after
  // admission), as before functions/edge/query-prefetch.ts: what starting it on arrival gains.
  const lateVector = await startEdgeWorker({
    ...edgeOptions,
    vars: { ...edgeOptions.vars, EDGE_QUERY_PREFETCH: 'off' },
  });
  // Through a transaction pool, as deployed: Hyperdrive keeps origin connections open across requests.
  const pooled = pool
    ? await startEdgeWorker({ ...edgeOptions, databaseUrl: pool.through(databaseUrl), database: 'direct' })
    : undefined;
  const embeddings = jsonPoster(api.base);
  const embedOnly = async (i: number) =>
    void (await embeddings('/v1/embeddings', edgeOptions.embedder.apiKey, {
      model: 'use-lite-512',
      input: questions[i % questions.length],
    }));
  const targets = [
    { runtime: 'node (1 process)', call: retrieve(api.base) },
    { runtime: 'edge (workerd)', call: retrieve(worker.url) },
    { runtime: 'edge, vector fetched after admission', call: retrieve(lateVector.url) },
    ...(pooled ? [{ runtime: POOLED, call: retrieve(pooled.url) }] : []),
  ];
  for (const t of targets) await drive(30, 1, t.call); // warm-up: query plans, JIT
  const runs: ({ runtime: string; concurrency: number } & Awaited<ReturnType<typeof drive>>)[] = [];
  for (const concurrency of concurrencies)
    for (const t of targets)
      runs.push({ runtime: t.runtime, concurrency, ...(await drive(requests, concurrency, t.call)) });
  const hop = await drive(requests, 1, embedOnly);
  await worker.dispose();
  await lateVector.dispose();
  await pooled?.dispose();

  const node1 = runs.find((r) => r.runtime.startsWith('node') && r.concurrency === 1)!;
  const ratios = concurrencies.map((concurrency) => {
    const at = (runtime: string) => runs.find((r) => r.runtime === runtime && r.concurrency === concurrency)?.p50;
    return {
      concurrency,
      edgeOverNode: at('edge (workerd)')! / at('node (1 process)')!,
      lateVectorOverNode: at('edge, vector fetched after admission')! / at('node (1 process)')!,
      pooledEdgeOverNode: pooled ? at(POOLED)! / at('node (1 process)')! : null,
    };
  });
  const edge1 = runs.find((r) => r.runtime === 'edge (workerd)' && r.concurrency === 1)!;
  printTable(`POST /v1/retrieve over HTTP, PostgreSQL 15, ${chunks} chunks, topK 5`, [
    ...runs.map((r) => ({
      runtime: r.runtime,
      concurrency: r.concurrency,
      requests: r.n,
      'p50 ms': r.p50,
      'p99 ms': r.p99,
      'req/s': r.rps,
    })),
    {
      runtime: 'of it: query vector via /v1/embeddings',
      concurrency: 1,
      requests: hop.n,
      'p50 ms': hop.p50,
      'p99 ms': hop.p99,
      'req/s': hop.rps,
    },
  ]);
  for (const r of ratios)
    console.log(
      `edge / node p50 at concurrency ${r.concurrency}: ${r.edgeOverNode.toFixed(2)}× (vector fetched after admission: ${r.lateVectorOverNode.toFixed(2)}×${r.pooledEdgeOverNode ? `; through a pool as Hyperdrive: ${r.pooledEdgeOverNode.toFixed(2)}×` : ''})`,
    );

  const file = saveResults('edge', {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    corpus: { documents: corpus.length, chunks },
    bundle: { bytes: built.bytes, gzipBytes: built.gzipBytes, buildMs: built.buildMs },
    coldStart: { runs: cold, startMs: coldStart, firstRequestMs: coldFirst },
    retrieval: runs,
    embeddingHop: hop,
    edgeOverNodeP50AtConcurrency1: edge1.p50 / node1.p50,
    ratios,
    loadAverage: loadavg(),
  });
  console.log(`\nsaved ${file}`);
} finally {
  await api.stop();
  await pool?.stop();
  await pg.stop();
}
