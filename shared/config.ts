import { z } from 'zod';
import type { Limits } from './core/rate-limit.ts';
import { EngineModelsSchema, buildCatalogue, type ModelSpec } from './generation/models.ts';

// The only place that reads process.env. Each process calls loadConfig() once
// in its composition root and passes the result down.
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  // The origin browsers use (behind a proxy: the proxy's). Sign-in with Ethereum and the dashboard's
  // Origin checks compare against it, never against the request's Host header.
  PUBLIC_URL: z
    .string()
    .url()
    .refine(
      (u) => /^https?:$/.test(new URL(u).protocol) && new URL(u).pathname === '/' && !new URL(u).search,
      'an http(s) origin such as https://citepay.example.com (no path)',
    )
    .transform((u) => new URL(u).origin)
    .optional(),
  CITEPAY_DATA_DIR: z.string().default('.data'),
  CITEPAY_ADMIN_KEY: z
    .string()
    .regex(/^cp_(live|test)_[A-Za-z0-9]{24,}$/, 'must look like cp_live_<24+ letters/digits>')
    .optional(),
  CITEPAY_DEMO_CREDITS: z.string().regex(/^\d+$/).default('10000000'),
  DATABASE_URL: z.string().url().optional(),
  DATABASE_POOL_MAX: z.coerce
    .number()
    .int()
    .min(2, 'at least 2: a settlement pass holds one connection for its lock while it works on another')
    .max(500)
    .default(10),
  OBJECT_STORE: z.enum(['fs', 's3']).default('fs'),
  VECTOR_INDEX: z.enum(['pgvector', 'pinecone']).default('pgvector'),
  PINECONE_API_KEY: z.string().min(1).optional(),
  // As the Pinecone console shows it (a bare host) or as a URL; http:// only for a local test server.
  PINECONE_INDEX_HOST: z
    .string()
    .regex(
      /^(https?:\/\/)?[A-Za-z0-9.-]+(:\d+)?\/?$/,
      'the index host, e.g. my-index-abc123.svc.aped-4627-b74a.pinecone.io',
    )
    .transform((host) => (/^https?:\/\//.test(host) ? host : `https://${host}`))
    .optional(),
  OBJECT_STORE_DIR: z.string().min(1).optional(),
  S3_BUCKET: z.string().default('citepay-local'),
  S3_ENDPOINT: z.string().url().optional(),
  AWS_REGION: z.string().default('us-east-1'),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  PROTOCOL_FEE_BPS: z.coerce.number().int().min(0).max(10_000).default(1000),
  EMBEDDING_PRICE_PER_MILLION: z
    .string()
    .regex(/^\d{1,15}$/, 'micro-USD per million tokens, a whole number')
    .default('20000'),
  MAX_DOCUMENT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(5 * 1024 * 1024),
  JOB_QUEUE_URL: z.string().url().optional(),
  RESULT_QUEUE_URL: z.string().url().optional(),
  SQS_ENDPOINT: z.string().url().optional(),
  LOCAL_QUEUE_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  START_WORKER: bool.default(true),
  START_RESULTS_CONSUMER: bool.default(true),
  ENGINE_MODELS: z
    .string()
    .default('[]')
    .transform((text, ctx) => {
      try {
        return EngineModelsSchema.parse(JSON.parse(text));
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a JSON array of models: ${(err as Error).message.slice(0, 200)}`,
        });
        return z.NEVER;
      }
    }),
  ANSWER_WAIT_SECONDS: z.coerce.number().min(1).max(300).default(30),
  ANSWER_DEADLINE_SECONDS: z.coerce.number().min(5).max(3600).default(120),
  CHAIN_RPC_URL: z.string().url().optional(),
  CHAIN_PORT: z.coerce.number().int().min(0).max(65535).default(8545),
  // The settlement chain's id: what wallet sign-in messages must name, also while the chain is unreachable.
  CHAIN_ID: z.coerce.number().int().min(1).optional(),
  SETTLER_PRIVATE_KEY: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 0x-prefixed 32-byte hex key')
    .optional(),
  DISTRIBUTOR_ADDRESS: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/, 'must be an address')
    .optional(),
  TOKEN_ADDRESS: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/, 'must be an address')
    .optional(),
  // x402 pay-per-call (issue 20): a hosted facilitator by URL; without one, `npm start` runs a local one
  X402_FACILITATOR_URL: z.string().url().optional(),
  X402_FACILITATOR_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  X402_CHAIN_ID: z.coerce.number().int().positive().optional(),
  X402_PAY_TO: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/, 'must be an address')
    .optional(),
  X402_ASSET_NAME: z.string().min(1).default('Citepay Test USD'),
  X402_ASSET_VERSION: z.string().min(1).default('1'),
  // issue 20: settling x402 payments whose settle failed after the call; self-serve credits
  X402_SETTLE_RETRY_SECONDS: z.coerce.number().int().min(0).default(30),
  // x402 batch-settlement: how often the vouchers taken since the last claim are claimed on chain in one transaction
  X402_CLAIM_SECONDS: z.coerce.number().int().min(0).default(300),
  // a payment still pending after this long belongs to a process that ended mid-call: swept
  X402_PENDING_STALE_SECONDS: z.coerce.number().int().min(1).default(180),
  SIGNUP_TEST_CREDITS: z
    .string()
    .regex(/^\d{1,15}$/, 'micro-USD, a whole number')
    .default('5000000'),
  TOPUP_CONFIRMATIONS: z.coerce.number().int().min(1).max(10_000).default(1),
  TOPUP_POLL_SECONDS: z.coerce.number().int().min(0).default(5),
  SETTLEMENT_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(60),
  SETTLEMENT_MIN_PAYOUT: z
    .string()
    .regex(/^\d{1,18}$/, 'micro-USD, a whole number')
    .default('1000'),
  // When a published epoch counts as final: a number of confirmations (1 = its own block), or the
  // block tag an OP-Stack node serves (`safe`: derived from data posted to L1; `finalized`: that L1 block is final).
  SETTLEMENT_FINALITY: z
    .string()
    .regex(/^(safe|finalized|[1-9]\d{0,5})$/, 'a number of confirmations (1 or more), or safe, or finalized')
    .default('1'),
  CHAIN_RECONCILE_SECONDS: z.coerce.number().int().min(0).default(60),
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  RATE_LIMIT_ACCOUNT_REQUESTS: z.coerce.number().int().min(0).default(1200),
  RATE_LIMIT_KEY_REQUESTS: z.coerce.number().int().min(0).default(600),
  RATE_LIMIT_ACCOUNT_ANSWERS: z.coerce.number().int().min(0).default(16),
  RATE_LIMIT_KEY_ANSWERS: z.coerce.number().int().min(0).default(8),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  LOG_REQUESTS: bool.default(true),
  EMBEDDER: z.enum(['use-lite', 'use-lite-tfjs', 'st', 'remote']).default('use-lite'),
  EMBEDDER_URL: z.string().url().optional(),
  EMBEDDER_API_KEY: z.string().min(1).optional(),
  EMBEDDER_MODEL: z
    .string()
    .regex(/^[A-Za-z0-9._:/-]{1,100}$/, 'a model id like text-embedding-3-small')
    .optional(),
  EMBEDDER_DIMENSION: z.coerce.number().int().min(1).max(16_000).optional(),
  EMBEDDER_MODEL_DIR: z.string().min(1).optional(),
  EMBEDDER_MODEL_KEY: z
    .string()
    .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'an object-store key prefix like models/all-MiniLM-L6-v2')
    .refine((key) => key.split('/').every((s) => s !== '.' && s !== '..'), 'no . or .. segments')
    .optional(),
  EMBEDDER_CACHE_DIR: z.string().min(1).optional(),
  EMBEDDER_THREADS: z.coerce.number().int().min(0).max(256).default(0),
});

export type Config = {
  port: number;
  host: string;
  /**
   * The origin browsers use (https://citepay.example.com): SIWE's domain and URI, the dashboard's
   * Origin check, Secure cookies and HSTS. `npm start` derives it from its listen address when unset;
   * elsewhere, unset means wallet sign-in is refused (the Host header is never trusted).
   */
  publicUrl: string | undefined;
  dataDir: string;
  adminKey: string | undefined;
  demoCredits: bigint;
  databaseUrl: string | undefined;
  /** connections per process to DATABASE_URL; processes × this must stay under the server's max_connections */
  databasePoolMax: number;
  objectStore:
    | {
        kind: 'fs';
        root: string /** OBJECT_STORE_DIR was given (else the data folder's objects/) */;
        explicit?: boolean;
      }
    | {
        kind: 's3';
        bucket: string;
        endpoint?: string | undefined;
        region: string;
        credentials?: AwsCredentials | undefined;
      };
  /** pgvector: vectors in the database; pinecone: a Pinecone index (lexical search stays in the database) */
  vectorIndex:
    | { kind: 'pgvector' }
    | { kind: 'pinecone'; indexHost: string /** secret: never logged */; apiKey: string };
  protocolFeeBps: number;
  /** POST /v1/embeddings: micro-USD per million input tokens (20000 = $0.02 / 1M) */
  embeddingPricePerMillion: bigint;
  maxDocumentBytes: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  logRequests: boolean;
  queue: {
    jobsUrl: string | undefined;
    resultsUrl: string | undefined;
    /** explicit SQS endpoint (a local SQS-compatible server) */
    endpoint: string | undefined;
    region: string;
    credentials: AwsCredentials | undefined;
    /** local runs: port for the embedded queue server (0 = any free port) */
    localPort: number;
  };
  startWorker: boolean;
  /** `npm start` applies the worker's events from the results queue (false: another process does) */
  startResultsConsumer: boolean;
  models: Map<string, ModelSpec>;
  answerWaitSeconds: number;
  answerDeadlineSeconds: number;
  chain: {
    /** undefined: `npm start` runs a local anvil chain and deploys the contracts */
    rpcUrl: string | undefined;
    /** local runs: port for the local chain (0 = any free port) */
    localPort: number;
    /** CHAIN_ID, or the local chain's id (npm start): sign-in checks it even while the chain is down */
    chainId: number | undefined;
    /**
     * true only when `npm start` runs (or joins) its own local anvil and no SETTLER_PRIVATE_KEY was
     * configured: the sign-in page may then offer anvil's public development wallets.
     */
    devAccounts: boolean;
    /** secret: signs publishes and relayed claims; never logged */
    settlerKey: `0x${string}` | undefined;
    distributor: `0x${string}` | undefined;
    token: `0x${string}` | undefined;
    /** when a publish counts as final (settlement confirms an epoch only then) */
    finality: ChainFinality;
    /** how often the reconciler compares the chain with the database (0 = only at start) */
    reconcileSeconds: number;
    /** set by `npm start` for its local chain (not from env): where the chain's state is saved after each write */
    localStatePath?: string | undefined;
  };
  /** x402 pay-per-call; off until both a facilitator URL and the chain id are known */
  x402: {
    facilitatorUrl: string | undefined;
    /** local runs: port for the local facilitator (0 = any free port) */
    facilitatorPort: number;
    /** the chain payments are made on (CAIP-2 eip155:<chainId>) */
    chainId: number | undefined;
    /** the treasury; default: the settler's address */
    payTo: `0x${string}` | undefined;
    /** the stablecoin's EIP-712 domain (EIP-3009 signatures are made over it) */
    assetName: string;
    assetVersion: string;
    /** how often payments left unsettled after their call are settled again (0 = only at start) */
    settleRetrySeconds: number;
    /** how often `batch-settlement` vouchers are claimed on chain, many in one transaction (0 = only at start) */
    claimSeconds: number;
    /** a payment pending this long was left by a process that ended mid-call (longer than any call runs) */
    pendingStaleSeconds: number;
  };
  /** self-serve sign-up and top-ups (issue 20 §3) */
  selfServe: {
    /** test credits (micro-USD) a wallet's new consumer account gets at once */
    signupTestCredits: bigint;
    /** a top-up transfer is credited once its block has this many confirmations (1 = mined) */
    topUpConfirmations: number;
    /** how often the chain is read for top-ups (0 = only when asked) */
    topUpPollSeconds: number;
  };
  /** defaults for every consumer and contributor account (0 = no limit); admins may override per account */
  rateLimits: { windowSeconds: number; defaults: Limits };
  settlement: {
    /** 0 = only on demand (admin endpoint, `npm run settle`) */
    intervalSeconds: number;
    minPayout: bigint;
  };
  embedder: {
    /**
     * use-lite: USE-lite on onnxruntime; use-lite-tfjs: the same model on TF.js; st: a
     * sentence-transformers ONNX export; remote: any OpenAI-compatible embeddings endpoint
     */
    engine: 'use-lite' | 'use-lite-tfjs' | 'st' | 'remote';
    /** remote: the endpoint, its key (secret: never logged), the model id and its dimension */
    remote?: { url: string; apiKey: string; model: string; dimension: number } | undefined;
    /** st: the model folder on disk */
    modelDir: string | undefined;
    /** st: the model folder in the object store (key prefix), copied into the cache dir at start */
    modelKey: string | undefined;
    /** built and downloaded models; undefined = node_modules/.cache/citepay, else the OS temp dir */
    cacheDir: string | undefined;
    /** onnxruntime intra-op threads; 0 = one per core */
    threads: number;
  };
};

/** N confirmations (1 = the receipt's own block), or an OP-Stack block tag. */
export type ChainFinality =
  | { kind: 'confirmations'; confirmations: number }
  | { kind: 'tag'; tag: 'safe' | 'finalized' };

export type AwsCredentials = { accessKeyId: string; secretAccessKey: string };

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable (`DATABASE_URL= npm start`, a blank line in a .env) means unset, as in most tools.
  const parsed = EnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (Boolean(e.JOB_QUEUE_URL) !== Boolean(e.RESULT_QUEUE_URL))
    throw new ConfigError(
      'Invalid environment:\n  JOB_QUEUE_URL and RESULT_QUEUE_URL: set both (or neither, to run local queues)',
    );
  if (e.EMBEDDER === 'st' && !e.EMBEDDER_MODEL_DIR === !e.EMBEDDER_MODEL_KEY)
    throw new ConfigError(
      'Invalid environment:\n  EMBEDDER_MODEL_DIR or EMBEDDER_MODEL_KEY: EMBEDDER=st needs exactly one of them (the model folder on disk, or in the object store)',
    );
  if (e.EMBEDDER === 'remote' && !(e.EMBEDDER_URL && e.EMBEDDER_API_KEY && e.EMBEDDER_MODEL && e.EMBEDDER_DIMENSION))
    throw new ConfigError(
      'Invalid environment:\n  EMBEDDER=remote: set EMBEDDER_URL (an OpenAI-compatible base URL, e.g. https://api.openai.com/v1), EMBEDDER_API_KEY, EMBEDDER_MODEL and EMBEDDER_DIMENSION',
    );
  if (e.VECTOR_INDEX === 'pinecone' && !(e.PINECONE_API_KEY && e.PINECONE_INDEX_HOST))
    throw new ConfigError(
      'Invalid environment:\n  VECTOR_INDEX=pinecone: set PINECONE_API_KEY and PINECONE_INDEX_HOST (the index host from the Pinecone console or describeIndex)',
    );
  if (e.CHAIN_RPC_URL && !(e.DISTRIBUTOR_ADDRESS && e.TOKEN_ADDRESS && e.SETTLER_PRIVATE_KEY))
    throw new ConfigError(
      'Invalid environment:\n  CHAIN_RPC_URL: also set DISTRIBUTOR_ADDRESS, TOKEN_ADDRESS and SETTLER_PRIVATE_KEY (or none of them, to run a local chain)',
    );
  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL,
    dataDir: e.CITEPAY_DATA_DIR,
    adminKey: e.CITEPAY_ADMIN_KEY,
    demoCredits: BigInt(e.CITEPAY_DEMO_CREDITS),
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    objectStore:
      e.OBJECT_STORE === 's3'
        ? {
            kind: 's3',
            bucket: e.S3_BUCKET,
            endpoint: e.S3_ENDPOINT,
            region: e.AWS_REGION,
            credentials: localCredentials(e, e.S3_ENDPOINT),
          }
        : {
            kind: 'fs',
            root: e.OBJECT_STORE_DIR ?? `${e.CITEPAY_DATA_DIR}/objects`,
            explicit: e.OBJECT_STORE_DIR !== undefined,
          },
    vectorIndex:
      e.VECTOR_INDEX === 'pinecone'
        ? { kind: 'pinecone', indexHost: e.PINECONE_INDEX_HOST!, apiKey: e.PINECONE_API_KEY! }
        : { kind: 'pgvector' },
    protocolFeeBps: e.PROTOCOL_FEE_BPS,
    embeddingPricePerMillion: BigInt(e.EMBEDDING_PRICE_PER_MILLION),
    maxDocumentBytes: e.MAX_DOCUMENT_BYTES,
    logLevel: e.LOG_LEVEL,
    logRequests: e.LOG_REQUESTS,
    queue: {
      jobsUrl: e.JOB_QUEUE_URL,
      resultsUrl: e.RESULT_QUEUE_URL,
      endpoint: e.SQS_ENDPOINT,
      region: e.AWS_REGION,
      credentials: localCredentials(e, e.SQS_ENDPOINT),
      localPort: e.LOCAL_QUEUE_PORT,
    },
    startWorker: e.START_WORKER,
    startResultsConsumer: e.START_RESULTS_CONSUMER,
    models: buildCatalogue(e.ENGINE_MODELS),
    answerWaitSeconds: e.ANSWER_WAIT_SECONDS,
    answerDeadlineSeconds: e.ANSWER_DEADLINE_SECONDS,
    chain: {
      rpcUrl: e.CHAIN_RPC_URL,
      localPort: e.CHAIN_PORT,
      chainId: e.CHAIN_ID,
      devAccounts: false,
      settlerKey: e.SETTLER_PRIVATE_KEY as `0x${string}` | undefined,
      distributor: e.DISTRIBUTOR_ADDRESS as `0x${string}` | undefined,
      token: e.TOKEN_ADDRESS as `0x${string}` | undefined,
      finality: /^\d+$/.test(e.SETTLEMENT_FINALITY)
        ? { kind: 'confirmations', confirmations: Number(e.SETTLEMENT_FINALITY) }
        : { kind: 'tag', tag: e.SETTLEMENT_FINALITY as 'safe' | 'finalized' },
      reconcileSeconds: e.CHAIN_RECONCILE_SECONDS,
    },
    x402: {
      facilitatorUrl: e.X402_FACILITATOR_URL,
      facilitatorPort: e.X402_FACILITATOR_PORT,
      chainId: e.X402_CHAIN_ID,
      payTo: e.X402_PAY_TO as `0x${string}` | undefined,
      assetName: e.X402_ASSET_NAME,
      assetVersion: e.X402_ASSET_VERSION,
      settleRetrySeconds: e.X402_SETTLE_RETRY_SECONDS,
      claimSeconds: e.X402_CLAIM_SECONDS,
      pendingStaleSeconds: e.X402_PENDING_STALE_SECONDS,
    },
    selfServe: {
      signupTestCredits: BigInt(e.SIGNUP_TEST_CREDITS),
      topUpConfirmations: e.TOPUP_CONFIRMATIONS,
      topUpPollSeconds: e.TOPUP_POLL_SECONDS,
    },
    rateLimits: {
      windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS,
      defaults: {
        accountRequests: e.RATE_LIMIT_ACCOUNT_REQUESTS,
        keyRequests: e.RATE_LIMIT_KEY_REQUESTS,
        accountAnswers: e.RATE_LIMIT_ACCOUNT_ANSWERS,
        keyAnswers: e.RATE_LIMIT_KEY_ANSWERS,
      },
    },
    settlement: { intervalSeconds: e.SETTLEMENT_INTERVAL_SECONDS, minPayout: BigInt(e.SETTLEMENT_MIN_PAYOUT) },
    embedder: {
      engine: e.EMBEDDER,
      modelDir: e.EMBEDDER_MODEL_DIR,
      modelKey: e.EMBEDDER_MODEL_KEY,
      cacheDir: e.EMBEDDER_CACHE_DIR,
      threads: e.EMBEDDER_THREADS,
      ...(e.EMBEDDER === 'remote'
        ? {
            remote: {
              url: e.EMBEDDER_URL!,
              apiKey: e.EMBEDDER_API_KEY!,
              model: e.EMBEDDER_MODEL!,
              dimension: e.EMBEDDER_DIMENSION!,
            },
          }
        : {}),
    },
  };
}

/**
 * Only for an explicit (local, S3-compatible) endpoint, which accepts any keys. Against
 * real AWS the SDK's own provider chain is used, so Lambda role session tokens work.
 */
function localCredentials(e: z.infer<typeof EnvSchema>, endpoint: string | undefined): AwsCredentials | undefined {
  if (!endpoint) return undefined;
  return { accessKeyId: e.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: e.AWS_SECRET_ACCESS_KEY ?? 'local' };
}
