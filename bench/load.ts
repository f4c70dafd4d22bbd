// npm run bench:load [-- --seconds 15 --concurrency 2,8,24 --no-postgres]
// A mix of POST /v1/retrieve (60 %), /v1/answers (15 %, mode wait), /v1/chat/completions (15 %)
// and document uploads (10 %) at rising concurrency, each step for a bounded time, against real
// `npm start` processes (API, queue, gpu-worker with the extractive backend, results consumer,
// chain): first one process on embedded PGlite, then three processes sharing a PostgreSQL 15
// server (one runs the worker). p50/p99 per kind and errors per status for every step; afterwards
// the ledger checker (npm run check:ledger) runs over the whole database and must be green.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Db } from '../shared/db/index.ts';
import { openPg } from '../shared/db/pg.ts';
import { openPglite } from '../shared/db/pglite.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { http, startApiProcess, type ApiProcess } from '../test/api-process.ts';
import { createDatabase, postgresInstalled, startPostgres } from '../test/postgres-server.ts';
import { loadSotu, loadSotuQuestions } from './corpora/sotu.ts';
import { BENCH_RATE_LIMITS, benchAccounts, jsonPoster } from './lib/http.ts';
import { printTable, saveResults, summarize } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '2,8,24' },
    docs: { type: 'string', default: '20' },
    'no-postgres': { type: 'boolean', default: false },
  },
});
const stepSeconds = Number(args.seconds);
const steps = args.concurrency.split(',').map(Number);
const KINDS = ['retrieve', 'answer', 'chat', 'upload'] as const;
type Kind = (typeof KINDS)[number];
const pick = (i: number): Kind =>
  (
    [
      'retrieve',
      'retrieve',
      'retrieve',
      'retrieve',
      'retrieve',
      'retrieve',
      'answer',
      'chat',
      'upload',
      i % 2 ? 'answer' : 'chat',
    ] as const
  )[i % 10]!;

const corpus = loadSotu();
const questions = loadSotuQuestions().map((q) => q.question);
const paragraphs = corpus.flatMap((d) => d.text.split(/\n\s*\n/).filter((p) => p.length > 200 && p.length < 2000));

/** benchAccounts' contributor, datanet and consumer, and the first SOTU addresses in the datanet. */
async function setUp(base: string, admin: string) {
  const post = jsonPoster(base);
  const accounts = await benchAccounts(post, admin);
  for (const doc of corpus.slice(0, Number(args.docs)))
    await post(`/v1/datanets/${accounts.datanetId}/documents`, accounts.contributorKey, {
      title: doc.title,
      content: doc.text,
    });
  return accounts;
}

/** One step: `concurrency` callers for `stepSeconds`, round-robin over the processes. */
async function step(bases: readonly string[], accounts: Awaited<ReturnType<typeof setUp>>, concurrency: number) {
  const latencies: Record<Kind, number[]> = { retrieve: [], answer: [], chat: [], upload: [] };
  const errors: Record<string, number> = {};
  let next = 0;
  const deadline = performance.now() + stepSeconds * 1000;
  const call = async (i: number) => {
    const base = bases[i % bases.length]!;
    const kind = pick(i);
    const q = questions[i % questions.length]!;
    const t = performance.now();
    const r =
      kind === 'retrieve'
        ? await http(base, 'POST', '/v1/retrieve', { key: accounts.consumerKey, json: { query: q, topK: 5 } })
        : kind === 'answer'
          ? await http(base, 'POST', '/v1/answers', { key: accounts.consumerKey, json: { query: q } })
          : kind === 'chat'
            ? await http(base, 'POST', '/v1/chat/completions', {
                key: accounts.consumerKey,
                json: { model: 'extractive', messages: [{ role: 'user', content: q }] },
              })
            : await http(base, 'POST', `/v1/datanets/${accounts.datanetId}/documents`, {
                key: accounts.contributorKey,
                json: {
                  title: `note ${i}`,
                  content: `${paragraphs[i % paragraphs.length]} (${randomBytes(4).toString('hex')})`,
                },
              });
    if (r.status >= 200 && r.status < 300) latencies[kind].push(performance.now() - t);
    else errors[`${kind} ${r.status}`] = (errors[`${kind} ${r.status}`] ?? 0) + 1;
  };
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline)
        await call(next++).catch(
          (err: Error) =>
            void (errors[`network ${err.message.slice(0, 40)}`] =
              (errors[`network ${err.message.slice(0, 40)}`] ?? 0) + 1),
        );
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    concurrency,
    seconds,
    requests: next,
    rps: next / seconds,
    kinds: Object.fromEntries(KINDS.map((k) => [k, summarize(latencies[k])])),
    errors,
  };
}

async function run(label: string, processes: ApiProcess[], admin: string, openDb: () => Promise<Db>) {
  const bases = processes.map((p) => p.url);
  const accounts = await setUp(bases[0]!, admin);
  const results = [];
  for (const concurrency of steps) results.push(await step(bases, accounts, concurrency));
  for (const p of processes) await p.stop();
  const db = await openDb();
  const ledger = await checkLedger(db);
  await db.close();
  printTable(
    `${label}: ${stepSeconds} s per step (${corpus.length > 0 ? Number(args.docs) : 0} SOTU addresses seeded, uploads add more)`,
    results.flatMap((r) => [
      ...KINDS.map((k) => ({
        concurrency: r.concurrency,
        kind: k,
        ok: r.kinds[k]!.n,
        'p50 ms': r.kinds[k]!.p50,
        'p99 ms': r.kinds[k]!.p99,
      })),
      {
        concurrency: r.concurrency,
        kind: 'all',
        ok: r.requests - Object.values(r.errors).reduce((a, b) => a + b, 0),
        'p50 ms': NaN,
        'p99 ms': NaN,
        'req/s': r.rps,
        errors: JSON.stringify(r.errors),
      },
    ]),
  );
  const failed = ledger.filter((c) => !c.ok);
  console.log(
    `ledger check over the whole database: ${failed.length === 0 ? 'green' : `RED ${JSON.stringify(failed)}`}`,
  );
  return { label, processes: processes.length, steps: results, ledgerGreen: failed.length === 0, ledger };
}

const admin = `cp_live_${randomBytes(18).toString('hex')}`;
const common = { CITEPAY_ADMIN_KEY: admin, LOG_LEVEL: 'info', ...BENCH_RATE_LIMITS }; // info: startApiProcess waits for the "citepay listening" line
const runs = [];

const pgliteDir = mkdtempSync(join(tmpdir(), 'citepay-load-'));
runs.push(
  await run('PGlite, 1 process', [await startApiProcess({ ...common, CITEPAY_DATA_DIR: pgliteDir })], admin, () =>
    openPglite(join(pgliteDir, 'pglite')),
  ),
);

if (!args['no-postgres'] && postgresInstalled()) {
  const pg = await startPostgres();
  try {
    const url = await createDatabase(pg.url, 'citepay_load');
    const first = await startApiProcess({ ...common, DATABASE_URL: url });
    const others = [
      await startApiProcess({ ...common, DATABASE_URL: url, START_WORKER: 'false' }),
      await startApiProcess({ ...common, DATABASE_URL: url, START_WORKER: 'false' }),
    ];
    runs.push(await run('PostgreSQL 15, 3 processes', [first, ...others], admin, async () => openPg(url, { max: 2 })));
  } finally {
    await pg.stop();
  }
}

const file = saveResults('load', {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  stepSeconds,
  runs,
});
console.log(`\nsaved ${file}`);
if (runs.some((r) => !r.ledgerGreen)) process.exit(1);
