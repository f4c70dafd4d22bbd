// npm run bench:retrieve [-- --docs N --requests N --concurrency 1,8,32 --no-postgres]
// Ingests the State of the Union corpus through POST /v1/datanets/{id}/documents, then drives
// POST /v1/retrieve over HTTP at each concurrency: on embedded PGlite (this process), then on a real
// PostgreSQL 15 server (started here, when installed) behind 1 and then 3 API processes, requests
// spread round-robin. Prints tables and writes JSON to bench/results/.
import { serve } from '@hono/node-server';
import { mkdtempSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from '../functions/api/app.ts';
import { loadConfig } from '../shared/config.ts';
import type { Embedder } from '../shared/embedder/index.ts';
import { bootstrapOnce } from '../shared/services/bootstrap.ts';
import type { Db } from '../shared/db/index.ts';
import { createServices, openDatabase, openEmbedder } from '../shared/services/create.ts';
import { loadSotu, loadSotuQuestions } from './corpora/sotu.ts';
import { BENCH_RATE_LIMITS, benchAccounts, jsonPoster } from './lib/http.ts';
import { drive, printTable, saveResults } from './lib/stats.ts';
import { spawnApiServer } from './lib/api-processes.ts';
import { openPg } from '../shared/db/pg.ts';
import { createDatabase, postgresInstalled, startPostgres } from '../test/postgres-server.ts';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'string', default: '150' },
    requests: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '1,8,32' },
    'no-postgres': { type: 'boolean', default: false },
  },
});
const concurrencies = args.concurrency.split(',').map(Number);

/** A stopwatch that adds up the time spent inside the calls it wraps. */
function stopwatch() {
  const t = { ms: 0 };
  const time = async <T>(call: () => Promise<T>): Promise<T> => {
    const s = performance.now();
    try {
      return await call();
    } finally {
      t.ms += performance.now() - s;
    }
  };
  return { t, time };
}

/** Wraps the embedder to measure the share of ingestion spent inside it. */
function timed(inner: Embedder) {
  const { t, time } = stopwatch();
  const embedder: Embedder = {
    modelId: inner.modelId,
    dimension: inner.dimension,
    embed: (texts) => time(() => inner.embed(texts)),
  };
  return { embedder, t };
}

/** Wraps the database to measure the time inside write transactions (ingestion's one transaction per document). */
function timedTransactions(inner: Db) {
  const { t, time } = stopwatch();
  const db: Db = {
    kind: inner.kind,
    query: (sql, params) => inner.query(sql, params),
    exec: (sql) => inner.exec(sql),
    close: () => inner.close(),
    transaction: (fn) => time(() => inner.transaction(fn)),
  };
  return { db, t };
}

const { embedder, t: embedTime } = timed(await openEmbedder());
const config = loadConfig({
  CITEPAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'citepay-bench-')),
  LOG_LEVEL: 'error',
  LOG_REQUESTS: 'false',
  ...BENCH_RATE_LIMITS,
});
const { db, t: txTime } = timedTransactions(await openDatabase(config));
const services = await createServices(config, { embedder, db });
const keys = (await bootstrapOnce(services))!;
const server = serve({ fetch: createApp(services).fetch, port: 0, hostname: '127.0.0.1' });
await new Promise((r) => server.once('listening', r));
const address = server.address();
const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

const post = jsonPoster(base);
const { contributorKey, datanetId, consumerKey } = await benchAccounts(post, keys.adminKey);

const corpus = loadSotu().slice(0, Number(args.docs));
let chunks = 0;
txTime.ms = 0;
const ingestStart = performance.now();
for (const doc of corpus) {
  const r = await post(`/v1/datanets/${datanetId}/documents`, contributorKey, {
    title: doc.title,
    content: doc.text,
    metadata: doc.metadata,
  });
  chunks += r.document.chunkCount;
}
const ingestMs = performance.now() - ingestStart;
const ingestion = {
  documents: corpus.length,
  chunks,
  seconds: ingestMs / 1000,
  chunksPerSecond: chunks / (ingestMs / 1000),
  embedderShare: embedTime.ms / ingestMs,
  overheadShare: 1 - embedTime.ms / ingestMs,
  /** inside the document's one write transaction: chunks, BM25 postings and statistics, HNSW and document vectors */
  databaseWriteShare: txTime.ms / ingestMs,
  /** the rest: HTTP, parsing, hashing, chunking, the object store, look-ups */
  pipelineRestShare: 1 - (embedTime.ms + txTime.ms) / ingestMs,
};
printTable('Ingestion (HTTP upload → chunk → embed → one DB transaction)', [
  {
    documents: ingestion.documents,
    chunks,
    seconds: ingestion.seconds,
    'chunks/s': ingestion.chunksPerSecond,
    'embedder %': ingestion.embedderShare * 100,
    'overhead %': ingestion.overheadShare * 100,
    'of it: DB writes %': ingestion.databaseWriteShare * 100,
    'other %': ingestion.pipelineRestShare * 100,
  },
]);

const questions = loadSotuQuestions().map((q) => q.question);
const requests = Number(args.requests);
/** POST /v1/retrieve at each concurrency, spread round-robin over `bases` (one per API process). */
async function retrievalRuns(bases: readonly string[], consumer: string) {
  const posts = bases.map((b) => jsonPoster(b));
  const call = (i: number) =>
    posts[i % posts.length]!('/v1/retrieve', consumer, { query: questions[i % questions.length], topK: 5 });
  await drive(20 * bases.length, bases.length, call); // warm-up: every process, every query plan
  const out = [];
  for (const concurrency of concurrencies) out.push({ concurrency, ...(await drive(requests, concurrency, call)) });
  return out;
}
const runs = await retrievalRuns([base], consumerKey);
// Query embedding alone, to show where retrieval time goes.
const embedOnly = await drive(
  requests,
  1,
  async (i) => void (await embedder.embed([questions[i % questions.length]!])),
);
printTable(`POST /v1/retrieve over HTTP, PGlite in this process, ${chunks} chunks, topK 5`, [
  ...runs.map((r) => ({
    concurrency: r.concurrency,
    requests: r.n,
    'p50 ms': r.p50,
    'p90 ms': r.p90,
    'p99 ms': r.p99,
    'req/s': r.rps,
  })),
  {
    concurrency: 'embed query only',
    requests: embedOnly.n,
    'p50 ms': embedOnly.p50,
    'p90 ms': embedOnly.p90,
    'p99 ms': embedOnly.p99,
    'req/s': embedOnly.rps,
  },
]);
server.close();
await services.db.close();

const postgres = !args['no-postgres'] && postgresInstalled() ? await postgresRuns() : null;
if (postgres) {
  printTable(
    `POST /v1/retrieve over HTTP, ${chunks} chunks, topK 5: PGlite (1 process) vs PostgreSQL 15 (1 and 3 API processes)`,
    [
      ...runs.map((r) => ({
        database: 'pglite',
        processes: 1,
        concurrency: r.concurrency,
        'p50 ms': r.p50,
        'p99 ms': r.p99,
        'req/s': r.rps,
      })),
      ...postgres.runs.map((r) => ({
        database: 'postgres',
        processes: r.processes,
        concurrency: r.concurrency,
        'p50 ms': r.p50,
        'p99 ms': r.p99,
        'req/s': r.rps,
      })),
    ],
  );
}

/** The same corpus and requests on a real PostgreSQL server, through separate API processes. */
async function postgresRuns() {
  const pg = await startPostgres();
  const servers: Awaited<ReturnType<typeof spawnApiServer>>[] = [];
  try {
    const env = {
      DATABASE_URL: await createDatabase(pg.url, 'citepay_bench'),
      CITEPAY_ADMIN_KEY: keys.adminKey,
      OBJECT_STORE_DIR: mkdtempSync(join(tmpdir(), 'citepay-bench-objects-')),
      CITEPAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'citepay-bench-pg-')),
    };
    servers.push(await spawnApiServer(env));
    const pgPost = jsonPoster(servers[0]!.base);
    const accounts = await benchAccounts(pgPost, keys.adminKey);
    const started = performance.now();
    let pgChunks = 0;
    for (const doc of corpus)
      pgChunks += (
        await pgPost(`/v1/datanets/${accounts.datanetId}/documents`, accounts.contributorKey, {
          title: doc.title,
          content: doc.text,
          metadata: doc.metadata,
        })
      ).document.chunkCount;
    const ingestSeconds = (performance.now() - started) / 1000;
    printTable('Ingestion on PostgreSQL 15 (one API process)', [
      { documents: corpus.length, chunks: pgChunks, seconds: ingestSeconds, 'chunks/s': pgChunks / ingestSeconds },
    ]);
    const analyze = openPg(env.DATABASE_URL, { max: 1 });
    await analyze.exec('ANALYZE'); // as autovacuum would soon; PGlite gets the same at start
    await analyze.close();
    const out: ({ processes: number; concurrency: number } & Awaited<ReturnType<typeof drive>>)[] = [];
    for (const processes of [1, 3]) {
      while (servers.length < processes) servers.push(await spawnApiServer(env));
      for (const r of await retrievalRuns(
        servers.map((s) => s.base),
        accounts.consumerKey,
      ))
        out.push({ processes, ...r });
    }
    return {
      ingestion: {
        documents: corpus.length,
        chunks: pgChunks,
        seconds: ingestSeconds,
        chunksPerSecond: pgChunks / ingestSeconds,
      },
      runs: out,
    };
  } finally {
    for (const s of servers) await s.stop();
    await pg.stop();
  }
}

const file = saveResults('retrieve', {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  embedder: embedder.modelId,
  database: services.db.kind,
  ingestion,
  retrieval: runs,
  queryEmbeddingOnly: embedOnly,
  postgres,
  targets: { p50AtConcurrency1Ms: 40, overheadShareMax: 0.15 },
});
console.log(`\nsaved ${file}`);
