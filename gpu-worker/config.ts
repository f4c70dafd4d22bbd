import { hostname } from 'node:os';
import { z } from 'zod';

// The worker's only reader of process.env: validated once at start, with a message
// naming the variable when something is wrong.
const EnvSchema = z
  .object({
    JOB_QUEUE_URL: z.string().url(),
    RESULT_QUEUE_URL: z.string().url(),
    SQS_ENDPOINT: z.string().url().optional(),
    AWS_REGION: z.string().default('us-east-1'),
    AWS_ACCESS_KEY_ID: z.string().optional(),
    AWS_SECRET_ACCESS_KEY: z.string().optional(),
    OBJECT_STORE: z.enum(['fs', 's3']).default('fs'),
    CITEPAY_DATA_DIR: z.string().default('.data'),
    /** the API's object store folder (npm start passes it: a joining process shares the first one's) */
    OBJECT_STORE_DIR: z.string().min(1).optional(),
    S3_BUCKET: z.string().default('citepay-local'),
    S3_ENDPOINT: z.string().url().optional(),
    GENERATOR_ENGINE_URL: z.string().url().optional(),
    ADAPTER_CACHE_DIR: z.string().optional(),
    ADAPTER_CACHE_MAX_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(2 * 1024 ** 3),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    VISIBILITY_TIMEOUT_SECONDS: z.coerce.number().int().min(2).max(43_200).default(60),
    HEARTBEAT_SECONDS: z.coerce.number().int().positive().default(20),
    WORKER_ID: z.string().min(1).default(`${hostname()}-${process.pid}`),
    METRICS_INTERVAL_SECONDS: z.coerce.number().int().positive().default(60),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  })
  .refine((e) => e.HEARTBEAT_SECONDS < e.VISIBILITY_TIMEOUT_SECONDS, {
    path: ['HEARTBEAT_SECONDS'],
    message: 'must be less than VISIBILITY_TIMEOUT_SECONDS, or a job reappears on the queue while it runs',
  });

export type AwsCredentials = { accessKeyId: string; secretAccessKey: string };

export interface WorkerConfig {
  workerId: string;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  queue: {
    jobsUrl: string;
    resultsUrl: string;
    region: string;
    endpoint: string | undefined;
    credentials: AwsCredentials | undefined;
  };
  objectStore:
    | { kind: 'fs'; root: string }
    | {
        kind: 's3';
        bucket: string;
        region: string;
        endpoint: string | undefined;
        credentials: AwsCredentials | undefined;
      };
  /** OpenAI-compatible engine base URL (no trailing slash); none: extractive jobs only. */
  engineUrl: string | undefined;
  adapterCache: { dir: string; maxBytes: number };
  concurrency: number;
  visibilitySeconds: number;
  heartbeatSeconds: number;
  metricsIntervalSeconds: number;
}

export class WorkerConfigError extends Error {}

export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new WorkerConfigError(`Invalid gpu-worker environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  // Keys only for an explicit local endpoint (which accepts any); against AWS the SDK's
  // provider chain supplies the task role's credentials.
  const local = (endpoint: string | undefined) =>
    endpoint
      ? { accessKeyId: e.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: e.AWS_SECRET_ACCESS_KEY ?? 'local' }
      : undefined;
  return {
    workerId: e.WORKER_ID,
    logLevel: e.LOG_LEVEL,
    queue: {
      jobsUrl: e.JOB_QUEUE_URL,
      resultsUrl: e.RESULT_QUEUE_URL,
      region: e.AWS_REGION,
      endpoint: e.SQS_ENDPOINT,
      credentials: local(e.SQS_ENDPOINT),
    },
    objectStore:
      e.OBJECT_STORE === 's3'
        ? {
            kind: 's3',
            bucket: e.S3_BUCKET,
            region: e.AWS_REGION,
            endpoint: e.S3_ENDPOINT,
            credentials: local(e.S3_ENDPOINT),
          }
        : { kind: 'fs', root: e.OBJECT_STORE_DIR ?? `${e.CITEPAY_DATA_DIR}/objects` },
    engineUrl: e.GENERATOR_ENGINE_URL?.replace(/\/+$/, ''),
    adapterCache: {
      dir: e.ADAPTER_CACHE_DIR ?? `${e.CITEPAY_DATA_DIR}/adapter-cache`,
      maxBytes: e.ADAPTER_CACHE_MAX_BYTES,
    },
    concurrency: e.WORKER_CONCURRENCY,
    visibilitySeconds: e.VISIBILITY_TIMEOUT_SECONDS,
    heartbeatSeconds: e.HEARTBEAT_SECONDS,
    metricsIntervalSeconds: e.METRICS_INTERVAL_SECONDS,
  };
}
