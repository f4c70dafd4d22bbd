// The Hono API on Lambda, and the Lambda that finalises answers from the results queue.
import type { Storage } from './storage.ts';
import type { Queues } from './queue.ts';
import { existsSync } from 'node:fs';
import { CONVERTED_MODEL_DIR, LAMBDAS, NODEJS_BUILD, type LambdaSettings } from './lambda-settings.ts';

/**
 * The build settings of one function, from stacks/lambda-settings.ts: the same data the Lambda
 * test builds from (test/lambda/build.ts), so what the test runs is what `sst deploy` ships.
 */
function build(settings: LambdaSettings) {
  if (settings.copyFiles.some((c) => c.from === CONVERTED_MODEL_DIR) && !existsSync(CONVERTED_MODEL_DIR))
    throw new Error(
      `${CONVERTED_MODEL_DIR} is missing: run \`npm run build:onnx\` before deploying (the Lambdas ship the converted model)`,
    );
  return {
    handler: settings.handler,
    nodejs: { install: settings.install, esbuild: { external: settings.external }, ...NODEJS_BUILD },
    copyFiles: settings.copyFiles,
    memory: settings.memory,
    timeout: settings.timeout,
  };
}

/** Env the runtime config module reads (functions/ and shared/ never read Resource). */
function runtimeEnv(store: Storage, q: Queues) {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: store.databaseUrl,
    OBJECT_STORE: 's3',
    S3_BUCKET: store.bucket.name,
    JOB_QUEUE_URL: q.jobs.url,
    RESULT_QUEUE_URL: q.results.url,
    VECTOR_INDEX: store.vectorIndex,
    PINECONE_API_KEY: store.secrets.pineconeApiKey.value,
    ...(store.vectorIndex === 'pinecone' ? { PINECONE_INDEX_HOST: store.pineconeIndexHost } : {}),
    // Models served by the engine beside each GPU worker (see gpu-fleet.ts), as JSON.
    ENGINE_MODELS: process.env.ENGINE_MODELS ?? '[]',
    SETTLEMENT_MIN_PAYOUT: process.env.SETTLEMENT_MIN_PAYOUT ?? '10000',
    // The origin browsers use (a custom domain or the CloudFront URL): wallet sign-in and the
    // dashboard's Origin check compare with it, never with the Host header. Unset: wallet sign-in is off.
    ...(process.env.PUBLIC_URL ? { PUBLIC_URL: process.env.PUBLIC_URL } : {}),
    ...(process.env.CHAIN_ID ? { CHAIN_ID: process.env.CHAIN_ID } : {}),
    // The L2 (OP Stack) and the distributor deployed there (contracts/), given at deploy time.
    ...(process.env.CHAIN_RPC_URL
      ? {
          CHAIN_RPC_URL: process.env.CHAIN_RPC_URL,
          DISTRIBUTOR_ADDRESS: process.env.DISTRIBUTOR_ADDRESS ?? '',
          TOKEN_ADDRESS: process.env.TOKEN_ADDRESS ?? '',
          SETTLER_PRIVATE_KEY: store.secrets.settlerPrivateKey.value,
        }
      : {}),
    ...x402Env(),
  };
}

/**
 * x402 pay-per-call (issue 20): a hosted facilitator (/verify, /settle, /supported) and the chain
 * payments are made on, given at deploy time. Both unset: the paid routes take API keys only.
 * The treasury defaults to the settler's address; X402_PAY_TO names another. The edge Worker
 * takes the same values (stacks/edge.ts).
 */
export function x402Env(): Record<string, string> {
  const url = process.env.X402_FACILITATOR_URL;
  const chainId = process.env.X402_CHAIN_ID ?? process.env.CHAIN_ID;
  if (!url || !chainId) return {};
  return {
    X402_FACILITATOR_URL: url,
    X402_CHAIN_ID: chainId,
    ...(process.env.X402_PAY_TO ? { X402_PAY_TO: process.env.X402_PAY_TO } : {}),
    ...(process.env.X402_ASSET_NAME ? { X402_ASSET_NAME: process.env.X402_ASSET_NAME } : {}),
    ...(process.env.X402_ASSET_VERSION ? { X402_ASSET_VERSION: process.env.X402_ASSET_VERSION } : {}),
    ...(process.env.TOPUP_CONFIRMATIONS ? { TOPUP_CONFIRMATIONS: process.env.TOPUP_CONFIRMATIONS } : {}),
  };
}

export function api(store: Storage, q: Queues) {
  const env = runtimeEnv(store, q);
  // link grants IAM (s3:*, sqs:*, rds) and exposes Resource.* for `sst shell`/scripts.
  const link = [store.bucket, store.database, q.jobs, q.results, store.secrets.pineconeApiKey];
  const shared = {
    runtime: 'nodejs22.x',
    architecture: 'x86_64', // the onnxruntime binary shipped is linux-x64 (lambda-settings.ts)
    vpc: store.vpc, // Aurora is only reachable inside the VPC
  } as const;

  const fn = new sst.aws.Function('Api', {
    ...shared,
    ...build(LAMBDAS.api),
    // Function URL: no API Gateway 29 s cap or per-request fee. RESPONSE_STREAM mode, with
    // hono/aws-lambda `streamHandle` (functions/api/lambda.ts): SSE answers stream as generated.
    url: true,
    streaming: true,
    link: [...link, store.secrets.adminBootstrapKey],
    environment: {
      ...env,
      CITEPAY_ADMIN_KEY: store.secrets.adminBootstrapKey.value,
    },
  });

  // Worker events (started, deltas, completed, failed) → finalise and bill answers.
  // Partial batch responses: one bad event is retried alone, then parked in the DLQ.
  q.results.subscribe(
    {
      ...shared,
      ...build(LAMBDAS.results),
      link,
      environment: env,
    },
    { batch: { size: 10, partialResponses: true } },
  );

  // Settlement: one pass per schedule tick (close the epoch, publish on the L2, confirm).
  // The API and results Lambdas only read the chain and relay claims; they never settle.
  new sst.aws.Cron('Settlement', {
    schedule: (process.env.SETTLEMENT_SCHEDULE ?? 'rate(1 hour)') as `rate(${string})` | `cron(${string})`,
    function: {
      ...shared,
      ...build(LAMBDAS.settlement),
      link: [...link, store.secrets.settlerPrivateKey],
      environment: { ...env, SETTLEMENT_INTERVAL_SECONDS: '0' },
    },
  });

  // Re-embedding jobs (POST /v1/datanets/{id}/reembed, or a new default EMBEDDER) in slices:
  // each invocation stops a minute before its timeout and the next one carries on.
  new sst.aws.Cron('Reembed', {
    schedule: 'rate(5 minutes)',
    function: {
      ...shared,
      ...build(LAMBDAS.reembed),
      link,
      environment: env,
    },
  });

  // Webhooks: every minute, send each due delivery from the outbox (retries with backoff are
  // rows with a later due time). Deliveries are leased in the database, so a tick that overlaps
  // the previous one never sends a delivery twice at once; the handler drains a backlog until
  // 20 s before its timeout.
  new sst.aws.Cron('Webhooks', {
    schedule: (process.env.WEBHOOKS_SCHEDULE ?? 'rate(1 minute)') as `rate(${string})` | `cron(${string})`,
    function: {
      ...shared,
      ...build(LAMBDAS.webhooks),
      link,
      environment: env,
    },
  });

  // Money coming in (issue 20): each tick sweeps x402 payments a process left pending when it
  // ended, settles those left unsettled (reading the chain first: never twice), and credits
  // confirmed stablecoin top-ups once. The passes hold advisory locks, so overlapping ticks are
  // safe. Only where x402 or a chain is configured; the chain reconciler runs with Settlement.
  if (process.env.CHAIN_RPC_URL || process.env.X402_FACILITATOR_URL)
    new sst.aws.Cron('Payments', {
      schedule: (process.env.PAYMENTS_SCHEDULE ?? 'rate(1 minute)') as `rate(${string})` | `cron(${string})`,
      function: {
        ...shared,
        ...build(LAMBDAS.payments),
        link: [...link, store.secrets.settlerPrivateKey],
        environment: env,
      },
    });

  return { fn, url: fn.url };
}
