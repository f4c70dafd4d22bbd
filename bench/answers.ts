// npm run bench:answers [-- --docs N --requests N]
// End-to-end answers through the real pipeline: API → SQS (fauxqs) → gpu-worker process
// (extractive backend) → results queue → finalisation and billing. Compares with
// /v1/retrieve measured in the same run, and reports the queue overhead (enqueue → worker start).
import { serve } from '@hono/node-server';
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from '../functions/api/app.ts';
import { startLocalQueues } from '../functions/local/queue-server.ts';
import { superviseWorker } from '../functions/local/worker-process.ts';
import { startResultsConsumer } from '../functions/queue/results-consumer.ts';
import { loadConfig } from '../shared/config.ts';
import { createSqsClient, createSqsQueue } from '../shared/job-queue/sqs.ts';
import { bootstrapOnce } from '../shared/services/bootstrap.ts';
import { createServices } from '../shared/services/create.ts';
import { loadSotu, loadSotuQuestions, SOTU_TEST_YEARS } from './corpora/sotu.ts';
import { BENCH_RATE_LIMITS, benchAccounts, jsonPoster } from './lib/http.ts';
import { drive, printTable, saveResults, summarize } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: { docs: { type: 'string', default: '8' }, requests: { type: 'string', default: '60' } },
});

const local = await startLocalQueues(
  loadConfig({
    CITEPAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'citepay-bench-answers-')),
    LOG_LEVEL: 'error',
    LOG_REQUESTS: 'false',
    ...BENCH_RATE_LIMITS,
  }),
);
const config = local.config;
const services = await createServices(config);
const results = startResultsConsumer(services, createSqsQueue(createSqsClient(config.queue), config.queue.resultsUrl!));
const worker = superviseWorker(config, services.log);
const keys = (await bootstrapOnce(services))!;
const server = serve({ fetch: createApp(services).fetch, port: 0, hostname: '127.0.0.1' });
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

const post = jsonPoster(base);
const { contributorKey, datanetId, consumerKey } = await benchAccounts(post, keys.adminKey);
const corpus = loadSotu(SOTU_TEST_YEARS).slice(-Number(args.docs));
for (const doc of corpus)
  await post(`/v1/datanets/${datanetId}/documents`, contributorKey, {
    title: doc.title,
    content: doc.text,
    metadata: doc.metadata,
  });

const questions = loadSotuQuestions().map((q) => q.question);
const n = Number(args.requests);
const ask = (i: number) => post('/v1/answers', consumerKey, { query: questions[i % questions.length], topK: 5 });
for (let i = 0; i < 5; i++) await ask(i); // warm-up: worker model load, JIT

const retrieveRun = await drive(
  n,
  1,
  async (i) => void (await post('/v1/retrieve', consumerKey, { query: questions[i % questions.length], topK: 5 })),
);
const runs = [];
for (const concurrency of [1, 8]) {
  const queued: number[] = [];
  const generate: number[] = [];
  const r = await drive(n, concurrency, async (i) => {
    const a = await ask(i);
    if (a.status !== 'succeeded') throw new Error(`answer ${a.id} ${a.status}`);
    queued.push(a.timings?.queuedMs ?? NaN);
    generate.push(a.timings?.generateMs ?? NaN);
  });
  runs.push({ concurrency, ...r, queueOverhead: summarize(queued), generation: summarize(generate) });
}

printTable(`POST /v1/answers (extractive backend via SQS and the gpu-worker process), ${corpus.length} documents`, [
  {
    run: 'retrieve only (baseline)',
    concurrency: 1,
    'p50 ms': retrieveRun.p50,
    'p99 ms': retrieveRun.p99,
    'req/s': retrieveRun.rps,
    'queue p50 ms': '-',
    'generate p50 ms': '-',
  },
  ...runs.map((r) => ({
    run: 'answer',
    concurrency: r.concurrency,
    'p50 ms': r.p50,
    'p99 ms': r.p99,
    'req/s': r.rps,
    'queue p50 ms': r.queueOverhead.p50,
    'generate p50 ms': r.generation.p50,
  })),
]);
console.log(`answer p50 / retrieve p50 at concurrency 1: ${(runs[0]!.p50 / retrieveRun.p50).toFixed(1)}×`);

const file = saveResults('answers', {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  backend: 'extractive',
  documents: corpus.length,
  retrieveBaseline: retrieveRun,
  answers: runs,
});
console.log(`saved ${file}`);
server.close();
await worker.stop();
await results.stop();
await local.stop();
await services.db.close();
