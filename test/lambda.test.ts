import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { parseJob, runJob, type RunnerContext } from '../gpu-worker/job-runner.ts';
import { createExtractiveGenerator } from '../gpu-worker/generators/extractive.ts';
import { createGeneratorRegistry } from '../gpu-worker/generators/index.ts';
import { s3Store, unique } from './worker-kit.ts';
import type { Db } from '../shared/db/index.ts';
import { openPg } from '../shared/db/pg.ts';
import { createSqsClient, createSqsQueue, ensureQueues } from '../shared/job-queue/sqs.ts';
import { createLogger } from '../shared/logger.ts';
import { ensureUseLiteOnnx } from '../shared/embedder/use-lite-onnx.ts';
import { LAMBDA_UNZIPPED_LIMIT_BYTES, LAMBDAS, type LambdaName } from '../stacks/lambda-settings.ts';
import { deployTestChain, type TestChain } from './chain.ts';
import { startFakePinecone } from './fake-pinecone.ts';
import { DOCS } from './fixtures.ts';
import { TEST_BUCKET } from './global-setup.ts';
import { buildLambda, installScripts, mb, onnxBindings, type BuiltLambda } from './lambda/build.ts';
import {
  functionUrlEvent,
  parseUrlResponse,
  scheduledEvent,
  sqsEvent,
  startLambda,
  type RunningLambda,
  type UrlResponse,
} from './lambda/functions.ts';
import type { PaymentPassesReport } from '../functions/payments/cron.ts';
import { WALLETS } from './http.ts';
import { sharedEmbedder, testDatabaseUrl } from './services.ts';

// Every Lambda built as `sst deploy` builds it (test/lambda/build.ts, from stacks/lambda-settings.ts),
// then started under lambda-local in a process of its own with the environment the stack gives
// it, and sent the events AWS would send: Function URL requests to the API, an SQS batch to the
// results consumer, scheduled events to the crons. Against the real PostgreSQL server (a fresh
// database), fauxqs for SQS and S3, and anvil with the contracts deployed.

const ADMIN_KEY = 'cp_live_lambdaBootstrapAdminKey000000';
const credentials = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };

const built = {} as Record<LambdaName, BuiltLambda>;
const running: RunningLambda[] = [];
const timings: { name: string; coldMs: number; warmMs: number[] }[] = [];
let db: Db;
let chain: TestChain;
let env: Record<string, string>;
let jobsUrl: string;
let resultsUrl: string;

async function start(name: LambdaName, extra: Record<string, string> = {}) {
  const fn = await startLambda(built[name], { ...env, ...extra });
  running.push(fn);
  return fn;
}

function timed(name: string) {
  const entry = { name, coldMs: NaN, warmMs: [] as number[] };
  timings.push(entry);
  return (ms: number) => (Number.isNaN(entry.coldMs) ? (entry.coldMs = ms) : entry.warmMs.push(ms));
}

describe.skipIf(!inject('postgresUrl'))('Lambda bundles under lambda-local', () => {
  beforeAll(async () => {
    const out = await mkdtemp(join(tmpdir(), 'citepay-lambda-'));
    // `npm run build:onnx`, as before a deploy: the functions ship the converted model (on a fresh
    // clone nothing else may have converted it yet when this file starts).
    await ensureUseLiteOnnx();
    // one at a time: each runs npm install, and CI has two cores
    for (const name of Object.keys(LAMBDAS) as LambdaName[]) built[name] = await buildLambda(name, out);

    const databaseUrl = await testDatabaseUrl();
    db = await openPg(databaseUrl, { max: 2 });
    chain = await deployTestChain();
    const endpoint = inject('awsEndpoint');
    const sqs = createSqsClient({
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const name = unique('lambda');
    ({ jobsUrl, resultsUrl } = await ensureQueues(
      sqs,
      { jobs: name, results: `${name}-results` },
      { visibilitySeconds: 30, maxReceives: 5 },
    ));
    // What stacks/api.ts gives every function (runtimeEnv), with the local servers' addresses.
    env = {
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      OBJECT_STORE: 's3',
      S3_BUCKET: TEST_BUCKET,
      S3_ENDPOINT: endpoint,
      SQS_ENDPOINT: endpoint,
      ...credentials,
      JOB_QUEUE_URL: jobsUrl,
      RESULT_QUEUE_URL: resultsUrl,
      VECTOR_INDEX: 'pgvector',
      ENGINE_MODELS: '[]',
      SETTLEMENT_MIN_PAYOUT: '1',
      CHAIN_RPC_URL: chain.rpcUrl,
      DISTRIBUTOR_ADDRESS: chain.distributor,
      TOKEN_ADDRESS: chain.token,
      SETTLER_PRIVATE_KEY: chain.settlerKey,
      LOG_LEVEL: 'error',
    };
  });

  afterAll(async () => {
    await Promise.all(running.map((f) => f.stop()));
    await db?.close();
    if (timings.length) {
      console.log(
        '\nLambda start times (lambda-local, one process per function)\n  function      cold ms   warm ms (median)',
      );
      for (const t of timings) {
        const warm = [...t.warmMs].sort((a, b) => a - b)[Math.floor(t.warmMs.length / 2)];
        console.log(
          `  ${t.name.padEnd(12)} ${t.coldMs.toFixed(0).padStart(8)}  ${warm === undefined ? '       -' : warm.toFixed(0).padStart(8)}`,
        );
      }
    }
  });

  it('ships every function under 250 MB unzipped, with only the linux-x64 onnxruntime where it embeds', async () => {
    console.log('\nLambda folders (unzipped)');
    for (const fn of Object.values(built))
      console.log(
        `  ${fn.name.padEnd(11)} ${mb(fn.bytes).padStart(7)} MB  (built in ${(fn.buildMs / 1000).toFixed(1)} s)`,
      );
    for (const fn of Object.values(built)) expect(fn.bytes, fn.name).toBeLessThan(LAMBDA_UNZIPPED_LIMIT_BYTES);
    for (const name of ['api', 'results', 'reembed'] as const) {
      expect(await onnxBindings(built[name].dir), name).toEqual([
        'node_modules/onnxruntime-node/bin/napi-v6/linux/x64',
      ]);
      // the converted model ships, so no cold start converts the TF.js graph
      expect(
        (await readdir(join(built[name].dir, 'node_modules/.cache/citepay'))).filter((f) => f.endsWith('.onnx')),
      ).toHaveLength(1);
    }
    expect(await onnxBindings(built.settlement.dir)).toEqual([]);
    expect(await onnxBindings(built.webhooks.dir)).toEqual([]);
    expect(await onnxBindings(built.payments.dir)).toEqual([]);
    // The only install script npm meets is protobufjs' (it checks its CLI's dependencies, offline):
    // onnxruntime-node's (downloads CUDA libraries) and @scarf/scarf's (reports the install) are
    // never run, since those packages are copied instead of installed.
    for (const fn of Object.values(built)) {
      const copied = LAMBDAS[fn.name].copyFiles.map((c) => c.to);
      expect(await installScripts(fn.dir, copied).catch(() => []), fn.name).toEqual(
        LAMBDAS[fn.name].install.length ? ['protobufjs'] : [],
      );
    }
  });

  let api: RunningLambda;
  const apiTime = timed('api');
  const call = async (
    method: string,
    path: string,
    opts: Parameters<typeof functionUrlEvent>[2] = {},
  ): Promise<UrlResponse> => {
    const r = await api.invoke(functionUrlEvent(method, path, opts));
    apiTime(r.ms);
    return parseUrlResponse(r.result);
  };
  const world = {} as { consumer: string; contributor: string; datanet: string };

  it('API: concurrent cold starts on a fresh database make one admin from CITEPAY_ADMIN_KEY', async () => {
    const other = await start('api', { CITEPAY_ADMIN_KEY: ADMIN_KEY });
    api = await start('api', { CITEPAY_ADMIN_KEY: ADMIN_KEY });
    const health = functionUrlEvent('GET', '/healthz');
    const [a, b] = await Promise.all([api.invoke(health), other.invoke(health)]);
    apiTime(a.ms);
    expect(parseUrlResponse(a.result).statusCode).toBe(200);
    expect(parseUrlResponse(b.result).statusCode).toBe(200);
    const admins = await db.query<{ n: bigint }>(`SELECT count(*)::int8 AS n FROM accounts WHERE kind = 'admin'`);
    expect(admins.rows[0]!.n).toBe(1n);
    await other.stop();

    const stranger = await call('POST', '/v1/admin/accounts', {
      key: 'cp_live_notTheAdminKey00000000000000',
      json: { kind: 'consumer', name: 'Eve' },
    });
    expect(stranger.statusCode).toBe(401);
    const consumer = await call('POST', '/v1/admin/accounts', {
      key: ADMIN_KEY,
      json: { kind: 'consumer', name: 'Acme', credits: '1000000' },
    });
    expect(consumer.statusCode, JSON.stringify(consumer.body)).toBe(201);
    const contributor = await call('POST', '/v1/admin/accounts', {
      key: ADMIN_KEY,
      json: { kind: 'contributor', name: 'Ada', wallet: WALLETS.ada },
    });
    expect(contributor.statusCode).toBe(201);
    world.consumer = consumer.body.apiKey.key;
    world.contributor = contributor.body.apiKey.key;
  });

  it('API: a contributor uploads a document and a paid retrieve returns it as a source, charged once', async () => {
    const dn = await call('POST', '/v1/datanets', {
      key: world.contributor,
      json: { name: 'Ada notes', pricePerSource: '1000' },
    });
    expect(dn.statusCode).toBe(201);
    world.datanet = dn.body.id;
    for (const doc of [DOCS.tides, DOCS.bikes]) {
      const up = await call('POST', `/v1/datanets/${world.datanet}/documents`, { key: world.contributor, json: doc });
      expect(up.statusCode, JSON.stringify(up.body)).toBe(201);
    }
    const r = await call('POST', '/v1/retrieve', {
      key: world.consumer,
      json: { query: 'how do I mend a punctured inner tube on my bike?', topK: 1 },
    });
    expect(r.statusCode, JSON.stringify(r.body)).toBe(200);
    expect(r.body.sources[0]).toMatchObject({ title: DOCS.bikes.title, contributor: { wallet: WALLETS.ada } });
    expect(r.body.usage).toMatchObject({ charged: '1000', balance: '999000' });
    expect(r.body.attribution.receiptId).toMatch(/^rcpt_/);
    // /docs serves swagger-ui-dist's files from the function folder
    const css = await call('GET', '/docs/assets/swagger-ui.css');
    expect(css.statusCode).toBe(200);
    expect(String(css.body)).toContain('.swagger-ui');
  });

  it('API: MCP over the Function URL (official SDK client): tools listed, search billed once, bad arguments a tool error', async () => {
    // each MCP POST becomes one Function URL event, as a client's requests reach the Lambda
    const lambdaFetch = async (url: string | URL, init?: RequestInit) => {
      const headers = Object.fromEntries(new Headers(init?.headers).entries());
      const event = functionUrlEvent(init?.method ?? 'GET', new URL(String(url)).pathname, { headers });
      const withBody = init?.body ? { ...event, body: String(init.body), isBase64Encoded: false } : event;
      const r = await api.invoke(withBody);
      apiTime(r.ms);
      const raw = r.result as {
        statusCode: number;
        headers?: Record<string, string>;
        body?: string;
        isBase64Encoded?: boolean;
      };
      const text = raw.isBase64Encoded ? Buffer.from(raw.body ?? '', 'base64').toString('utf8') : (raw.body ?? '');
      return new Response(raw.statusCode === 204 || raw.statusCode === 202 ? null : text, {
        status: raw.statusCode,
        headers: raw.headers ?? {},
      });
    };
    const mcp = new McpClient({ name: 'citepay-lambda-test', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL('https://abcdefgh.lambda-url.us-east-1.on.aws/mcp'), {
        fetch: lambdaFetch,
        requestInit: { headers: { authorization: `Bearer ${world.consumer}` } },
      }),
    );
    try {
      expect((await mcp.listTools()).tools.map((t) => t.name).sort()).toEqual(
        ['answer', 'get_receipt', 'list_datanets', 'search'].sort(),
      );
      const before = await call('GET', '/v1/usage', { key: world.consumer });
      const r = await mcp.callTool({
        name: 'search',
        arguments: { query: 'how do I mend a punctured inner tube on my bike?', topK: 1 },
      });
      expect(r.isError).toBeFalsy();
      const body = r.structuredContent as any;
      expect(body.sources[0]).toMatchObject({ title: DOCS.bikes.title });
      const after = await call('GET', '/v1/usage', { key: world.consumer });
      expect(BigInt(before.body.balance) - BigInt(after.body.balance)).toBe(BigInt(body.usage.charged));
      const receipt = await mcp.callTool({ name: 'get_receipt', arguments: { id: body.attribution.receiptId } });
      expect(receipt.isError).toBeFalsy();
      const bad = await mcp.callTool({ name: 'search', arguments: { query: '', topK: 0 } });
      expect(bad.isError).toBe(true);
    } finally {
      await mcp.close();
    }
  });

  it('API with VECTOR_INDEX=pinecone: the bundled Pinecone client upserts and queries (a fake data-plane server)', async () => {
    const pinecone = await startFakePinecone({ dimension: 512 });
    try {
      const own = await start('api', {
        DATABASE_URL: await testDatabaseUrl(),
        CITEPAY_ADMIN_KEY: ADMIN_KEY,
        VECTOR_INDEX: 'pinecone',
        PINECONE_API_KEY: pinecone.apiKey,
        PINECONE_INDEX_HOST: pinecone.host,
      });
      const ask = async (method: string, path: string, opts: Parameters<typeof functionUrlEvent>[2] = {}) =>
        parseUrlResponse((await own.invoke(functionUrlEvent(method, path, opts))).result);
      const consumer = await ask('POST', '/v1/admin/accounts', {
        key: ADMIN_KEY,
        json: { kind: 'consumer', name: 'Acme', credits: '100000' },
      });
      const ada = await ask('POST', '/v1/admin/accounts', {
        key: ADMIN_KEY,
        json: { kind: 'contributor', name: 'Ada', wallet: WALLETS.ada },
      });
      const dn = await ask('POST', '/v1/datanets', {
        key: ada.body.apiKey.key,
        json: { name: 'Ada notes', pricePerSource: '1000' },
      });
      for (const doc of [DOCS.tides, DOCS.bikes])
        expect(
          (await ask('POST', `/v1/datanets/${dn.body.id}/documents`, { key: ada.body.apiKey.key, json: doc }))
            .statusCode,
        ).toBe(201);
      const r = await ask('POST', '/v1/retrieve', {
        key: consumer.body.apiKey.key,
        json: { query: 'how do I mend a punctured inner tube on my bike?', topK: 1 },
      });
      expect(r.statusCode, JSON.stringify(r.body)).toBe(200);
      expect(r.body.sources[0]).toMatchObject({ title: DOCS.bikes.title });
      const paths = new Set(pinecone.requests.map((q) => q.path));
      expect(paths.has('/vectors/upsert') && paths.has('/query')).toBe(true);
      await own.stop();
    } finally {
      await pinecone.close();
    }
  });

  it('results consumer: an SQS batch of the worker’s events finishes and bills an answer the API accepted', async () => {
    const accepted = await call('POST', '/v1/answers', {
      key: world.consumer,
      json: { query: 'What causes the tides?', topK: 2, mode: 'async' },
    });
    expect(accepted.statusCode, JSON.stringify(accepted.body)).toBe(202);

    // The GPU worker's own job runner takes the job off the queue and reports on the results queue.
    const jobs = createSqsQueue(
      createSqsClient({
        region: 'us-east-1',
        endpoint: inject('awsEndpoint'),
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      }),
      jobsUrl,
    );
    const results = createSqsQueue(
      createSqsClient({
        region: 'us-east-1',
        endpoint: inject('awsEndpoint'),
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      }),
      resultsUrl,
    );
    const [message] = await jobs.receive({ maxMessages: 1, waitSeconds: 5 });
    expect(message).toBeDefined();
    const parsed = parseJob(message!.body);
    if (!('job' in parsed)) throw new Error(parsed.problem);
    const ctx: RunnerContext = {
      jobs,
      results,
      store: s3Store(),
      logger: createLogger('error'),
      now: Date.now,
      workerId: 'lambda-test',
      deltaIntervalMs: 50,
      generators: createGeneratorRegistry({
        extractive: createExtractiveGenerator(await sharedEmbedder()),
        engine: null,
      }),
    };
    expect(await runJob(ctx, parsed.job, message!, new AbortController().signal)).toBe('generated');
    const events: { messageId: string; body: string; receiveCount: number }[] = [];
    const deadline = Date.now() + 20_000;
    while (!events.some((e) => JSON.parse(e.body).type === 'completed')) {
      if (Date.now() > deadline) throw new Error(`no completed event: ${JSON.stringify(events)}`);
      for (const m of await results.receive({ maxMessages: 10, waitSeconds: 1 })) {
        events.push(m);
        await results.delete(m.receiptHandle); // Lambda's event source mapping deletes a batch that succeeds
      }
    }

    const consumer = await start('results');
    const time = timed('results');
    const batch = await consumer.invoke<{ batchItemFailures: unknown[] }>(
      sqsEvent('arn:aws:sqs:us-east-1:000000000000:results', events),
    );
    time(batch.ms);
    expect(batch.result).toEqual({ batchItemFailures: [] });
    // redelivered (SQS is at-least-once): nothing changes, nothing fails, still billed once
    const again = await consumer.invoke<{ batchItemFailures: unknown[] }>(
      sqsEvent('arn:aws:sqs:us-east-1:000000000000:results', events),
    );
    time(again.ms);
    expect(again.result).toEqual({ batchItemFailures: [] });

    const answer = await call('GET', `/v1/answers/${accepted.body.id}`, { key: world.consumer });
    expect(answer.body).toMatchObject({ status: 'succeeded' });
    expect(answer.body.citations.length).toBeGreaterThan(0);
    const charges = await db.query(`SELECT 1 FROM ledger_transactions WHERE request_id = $1`, [
      accepted.body.requestId,
    ]);
    expect(charges.rows).toHaveLength(1);
  });

  it('API streams (Function URL RESPONSE_STREAM): an SSE answer starts before the job runs, and the deltas the results Lambda applies reach it in order', async () => {
    const aws = {
      region: 'us-east-1',
      endpoint: inject('awsEndpoint'),
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    };
    const jobs = createSqsQueue(createSqsClient(aws), jobsUrl);
    const results = createSqsQueue(createSqsClient(aws), resultsUrl);
    let received = '';
    const streaming = api.invoke<{
      statusCode: number;
      headers: Record<string, string>;
      body: string;
      streamed?: boolean;
    }>(
      functionUrlEvent('POST', '/v1/answers', {
        key: world.consumer,
        json: { query: 'Why are there two high tides a day?', topK: 2, mode: 'stream' },
      }),
      120_000,
      (text) => (received += text),
    );
    // The response is under way (status, headers, first event) while the job still waits on the queue.
    await vi.waitFor(() => expect(received).toContain('event: answer.created'), { timeout: 60_000, interval: 50 });

    const [message] = await jobs.receive({ maxMessages: 1, waitSeconds: 5 });
    const parsed = parseJob(message!.body);
    if (!('job' in parsed)) throw new Error(parsed.problem);
    const ctx: RunnerContext = {
      jobs,
      results,
      store: s3Store(),
      logger: createLogger('error'),
      now: Date.now,
      workerId: 'lambda-stream-test',
      deltaIntervalMs: 0,
      generators: createGeneratorRegistry({
        extractive: createExtractiveGenerator(await sharedEmbedder()),
        engine: null,
      }),
    };
    expect(await runJob(ctx, parsed.job, message!, new AbortController().signal)).toBe('generated');
    const events: { messageId: string; body: string; receiveCount: number }[] = [];
    await vi.waitFor(
      async () => {
        for (const m of await results.receive({ maxMessages: 10, waitSeconds: 1 })) {
          events.push(m);
          await results.delete(m.receiptHandle);
        }
        expect(events.some((e) => JSON.parse(e.body).type === 'completed')).toBe(true);
      },
      { timeout: 30_000, interval: 0 },
    );
    expect(events.filter((e) => JSON.parse(e.body).type === 'delta').length).toBeGreaterThan(0);
    // The results Lambda, another process, applies them: the API Lambda hears it through the database.
    const consumer = await start('results');
    expect((await consumer.invoke(sqsEvent('arn:aws:sqs:us-east-1:000000000000:results', events))).result).toEqual({
      batchItemFailures: [],
    });

    const { result } = await streaming;
    expect(result).toMatchObject({ statusCode: 200, streamed: true, headers: { 'content-type': 'text/event-stream' } });
    expect(result.body).toBe(received);
    const sse = [...result.body.matchAll(/event: (\S+)\ndata: (.*)\n/g)].map((m) => ({
      event: m[1]!,
      data: JSON.parse(m[2]!),
    }));
    expect(sse.map((e) => e.event).filter((n) => n !== 'delta')).toEqual(['answer.created', 'citations', 'done']);
    const streamed = sse
      .filter((e) => e.event === 'delta')
      .map((e) => e.data.text as string)
      .join('');
    const final = sse.find((e) => e.event === 'citations')!.data;
    expect(streamed.replace(/\s+/g, ' ').trim()).toBe(final.text.replace(/\s+/g, ' ').trim());
    expect(BigInt(sse.at(-1)!.data.usage.charged)).toBeGreaterThan(0n);
  });

  it('settlement cron: a scheduled event publishes the epoch on the chain; the API then serves the payout proof', async () => {
    const cron = await start('settlement', { SETTLEMENT_INTERVAL_SECONDS: '0' });
    const time = timed('settlement');
    let outcome: { status: string; amount?: string } = { status: 'none' };
    // a pass closes and publishes; one that finds its epoch waiting for the receipt is run again
    for (let i = 0; i < 5 && outcome.status !== 'confirmed'; i++) {
      const r = await cron.invoke<typeof outcome>(scheduledEvent('Settlement'), 300_000);
      time(r.ms);
      outcome = r.result;
    }
    expect(outcome).toMatchObject({ status: 'confirmed', payees: 1 });
    const payout = await call('GET', `/v1/payouts/${WALLETS.ada}`);
    expect(payout.statusCode, JSON.stringify(payout.body)).toBe(200);
    expect(payout.body.cumulative).toBe(outcome.amount);
    expect(payout.body.proof).toBeInstanceOf(Array);
    const idle = await cron.invoke<{ status: string }>(scheduledEvent('Settlement'));
    time(idle.ms);
    expect(idle.result.status).toBe('idle');
  });

  it('payments cron: a scheduled event runs the top-up watcher on the chain and the x402 passes and voucher claims (off without a facilitator)', async () => {
    const cron = await start('payments');
    const time = timed('payments');
    for (let i = 0; i < 2; i++) {
      const r = await cron.invoke<PaymentPassesReport>(scheduledEvent('Payments'), 300_000);
      time(r.ms);
      expect(r.result).toMatchObject({
        x402: { status: 'off' },
        topUps: { status: 'done', seen: 0 },
        channels: { claimTransactions: 0, vouchers: 0 },
      });
    }
    // the watcher's cursor is in the database: a later tick (or npm start) carries on from it
    const cursor = await db.query(`SELECT 1 FROM deployment_settings WHERE name = 'top-ups.cursor'`);
    expect(cursor.rows).toHaveLength(1);
  });

  it('re-embed cron: a scheduled event starts with the embedder and reports no running job', async () => {
    const cron = await start('reembed');
    const time = timed('reembed');
    for (let i = 0; i < 3; i++) {
      const r = await cron.invoke<{ running: unknown[] }>(scheduledEvent('Reembed'), 300_000);
      time(r.ms);
      expect(r.result).toEqual({ running: [] });
    }
  });
});
