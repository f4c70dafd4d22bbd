// npm run bench:lambda — cold and warm start of every Lambda, built as `sst deploy` builds it
// (test/lambda/build.ts) and run under lambda-local, one fresh process per cold start, against a
// real PostgreSQL 15 server, fauxqs (SQS + S3) and anvil, all started here.
//   cold: the first invocation of a new process — module load, config, database pool, migrations
//         (already applied: a check), the embedder session from the shipped .onnx, the handler;
//   warm: the same process afterwards.
// Needs PostgreSQL 15 with pgvector (sudo bash .ci/postgres.sh). LAMBDA_COLD_RUNS / LAMBDA_WARM_RUNS.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFauxqs } from 'fauxqs';
import { createTestClient, http, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { startAnvil } from '../shared/chain/anvil.ts';
import { deployLocalContracts } from '../shared/chain/deploy.ts';
import { createSqsClient, ensureQueues } from '../shared/job-queue/sqs.ts';
import { LAMBDAS, type LambdaName } from '../stacks/lambda-settings.ts';
import { buildLambda, mb, type BuiltLambda } from '../test/lambda/build.ts';
import { functionUrlEvent, parseUrlResponse, scheduledEvent, startLambda } from '../test/lambda/functions.ts';
import { createDatabase, startPostgres } from '../test/postgres-server.ts';
import { printTable, saveResults, summarize } from './lib/stats.ts';

const COLD_RUNS = Number(process.env.LAMBDA_COLD_RUNS ?? 3);
const WARM_RUNS = Number(process.env.LAMBDA_WARM_RUNS ?? 10);
const ADMIN_KEY = 'cp_live_benchLambdaAdminKey0000000000';
const BUCKET = 'citepay-bench-lambda';

const work = await mkdtemp(join(tmpdir(), 'citepay-bench-lambda-'));
process.env.TMPDIR = work;
const postgres = await startPostgres();
const fauxqs = await startFauxqs({ port: 0, logger: false });
fauxqs.createBucket(BUCKET);
const anvil = await startAnvil({ port: 0, silent: true });

try {
  const settlerKey = generatePrivateKey();
  await createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).setBalance({
    address: privateKeyToAccount(settlerKey).address,
    value: parseEther('1000'),
  });
  const contracts = await deployLocalContracts({
    rpcUrl: anvil.rpcUrl,
    deployerKey: settlerKey,
    settlerKey,
    treasuryFunding: 10n ** 12n,
  });
  const sqs = createSqsClient({
    region: 'us-east-1',
    endpoint: fauxqs.address,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const queues = await ensureQueues(
    sqs,
    { jobs: 'bench-jobs', results: 'bench-results' },
    { visibilitySeconds: 30, maxReceives: 5 },
  );
  const env = {
    NODE_ENV: 'production',
    DATABASE_URL: await createDatabase(postgres.url, 'citepay_bench'),
    OBJECT_STORE: 's3',
    S3_BUCKET: BUCKET,
    S3_ENDPOINT: fauxqs.address,
    SQS_ENDPOINT: fauxqs.address,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    JOB_QUEUE_URL: queues.jobsUrl,
    RESULT_QUEUE_URL: queues.resultsUrl,
    VECTOR_INDEX: 'pgvector',
    ENGINE_MODELS: '[]',
    SETTLEMENT_MIN_PAYOUT: '1',
    CHAIN_RPC_URL: anvil.rpcUrl,
    DISTRIBUTOR_ADDRESS: contracts.distributor,
    TOKEN_ADDRESS: contracts.token,
    SETTLER_PRIVATE_KEY: settlerKey,
    CITEPAY_ADMIN_KEY: ADMIN_KEY,
    SETTLEMENT_INTERVAL_SECONDS: '0',
    LOG_LEVEL: 'error',
  };

  // What each function is sent: a Function URL request, an (empty) SQS batch, a schedule tick.
  const events: Record<LambdaName, () => unknown> = {
    api: () => functionUrlEvent('GET', '/healthz'),
    results: () => ({ Records: [] }),
    settlement: () => scheduledEvent('Settlement'),
    reembed: () => scheduledEvent('Reembed'),
    webhooks: () => scheduledEvent('Webhooks'),
    payments: () => scheduledEvent('Payments'),
  };

  const rows: Record<string, string | number>[] = [];
  const results: Record<string, unknown> = {};
  for (const name of Object.keys(LAMBDAS) as LambdaName[]) {
    const built: BuiltLambda = await buildLambda(name, join(work, 'build'));
    const cold: number[] = [];
    const warm: number[] = [];
    for (let run = 0; run < COLD_RUNS; run++) {
      const fn = await startLambda(built, env);
      try {
        for (let i = 0; i <= WARM_RUNS; i++) {
          const r = await fn.invoke(events[name](), 300_000);
          if (name === 'api' && parseUrlResponse(r.result as never).statusCode !== 200)
            throw new Error(`api answered ${JSON.stringify(r.result)}`);
          (i === 0 ? cold : warm).push(r.ms);
        }
      } finally {
        await fn.stop();
      }
    }
    // the paid path on a warm API: retrieve with a query embedding, search and the ledger write
    let retrieve: ReturnType<typeof summarize> | null = null;
    if (name === 'api') retrieve = await benchRetrieve(built, env);
    const c = summarize(cold);
    const w = summarize(warm);
    rows.push({
      function: name,
      'size MB': Number(mb(built.bytes)),
      'cold p50 ms': c.p50,
      'cold max ms': Math.max(...cold),
      'warm p50 ms': w.p50,
      'warm p90 ms': w.p90,
      ...(retrieve ? { 'warm retrieve p50 ms': retrieve.p50 } : {}),
    });
    results[name] = {
      bytes: built.bytes,
      buildMs: built.buildMs,
      cold,
      warm: w,
      ...(retrieve ? { warmRetrieve: retrieve } : {}),
    };
  }
  printTable(
    `Lambda cold/warm starts (${COLD_RUNS} fresh processes × ${WARM_RUNS} warm invocations, lambda-local, ${process.env.CI ? 'CI' : 'this machine'})`,
    rows,
  );
  console.log(`saved ${saveResults('lambda', { coldRuns: COLD_RUNS, warmRuns: WARM_RUNS, functions: results })}`);
} finally {
  await anvil.stop();
  await fauxqs.stop();
  await postgres.stop();
  await rm(work, { recursive: true, force: true });
}

async function benchRetrieve(built: BuiltLambda, env: Record<string, string>) {
  const fn = await startLambda(built, env);
  try {
    const call = async (method: string, path: string, opts: Parameters<typeof functionUrlEvent>[2] = {}) => {
      const r = await fn.invoke(functionUrlEvent(method, path, opts));
      return { ...parseUrlResponse(r.result as never), ms: r.ms };
    };
    const consumer = await call('POST', '/v1/admin/accounts', {
      key: ADMIN_KEY,
      json: { kind: 'consumer', name: 'Bench', credits: '100000000' },
    });
    const contributor = await call('POST', '/v1/admin/accounts', {
      key: ADMIN_KEY,
      json: { kind: 'contributor', name: 'Ada', wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' },
    });
    const dn = await call('POST', '/v1/datanets', {
      key: contributor.body.apiKey.key,
      json: { name: 'notes', pricePerSource: '1000' },
    });
    for (const [title, content] of [
      [
        'Tides',
        'Tides are caused mainly by the gravitational pull of the Moon on the oceans, with a smaller pull from the Sun.',
      ],
      [
        'Bikes',
        'To mend a punctured inner tube, find the hole, roughen the rubber, apply glue and press a patch over it.',
      ],
    ])
      await call('POST', `/v1/datanets/${dn.body.id}/documents`, {
        key: contributor.body.apiKey.key,
        json: { title, contentType: 'text/plain', content },
      });
    const ms: number[] = [];
    for (let i = 0; i < WARM_RUNS; i++) {
      const r = await call('POST', '/v1/retrieve', {
        key: consumer.body.apiKey.key,
        json: { query: 'how do I fix a flat tyre?', topK: 1 },
      });
      if (r.statusCode !== 200) throw new Error(`retrieve answered ${r.statusCode}: ${JSON.stringify(r.body)}`);
      ms.push(r.ms);
    }
    return summarize(ms);
  } finally {
    await fn.stop();
  }
}
