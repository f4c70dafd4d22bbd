import type { SettlementChain } from '../shared/chain/distributor.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { Db } from '../shared/db/index.ts';
import type { Services } from '../shared/services/container.ts';
import { createSqsClient, createSqsQueue, ensureQueues } from '../shared/job-queue/sqs.ts';
import { workerEnv } from '../functions/local/worker-process.ts';
import { startResultsConsumer } from '../functions/queue/results-consumer.ts';
import { createTestServices } from './services.ts';

// The answer pipeline as deployed, on local servers: fresh SQS queues (fauxqs), the API's
// results consumer in this process, and the GPU worker as a separate process.
export async function createGenerationServices(
  env: Record<string, string> = {},
  opts: { visibilitySeconds?: number; maxReceives?: number; db?: Db; chain?: SettlementChain } = {},
) {
  const endpoint = inject('awsEndpoint');
  const suffix = randomBytes(4).toString('hex');
  const client = createSqsClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  const urls = await ensureQueues(
    client,
    { jobs: `jobs-${suffix}`, results: `results-${suffix}` },
    { visibilitySeconds: opts.visibilitySeconds ?? 30, maxReceives: opts.maxReceives ?? 5 },
  );
  const services = await createTestServices(
    { JOB_QUEUE_URL: urls.jobsUrl, RESULT_QUEUE_URL: urls.resultsUrl, SQS_ENDPOINT: endpoint, ...env },
    { ...(opts.db ? { db: opts.db } : {}), ...(opts.chain ? { chain: opts.chain } : {}) },
  );
  const consumer = startResultsConsumer(services, createSqsQueue(client, urls.resultsUrl), { sweepMs: 500 });
  return { services, urls, client, consumer, deadLetters: createSqsQueue(client, urls.deadLetterUrl) };
}

export interface WorkerHandle {
  child: ChildProcess;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** Starts `gpu-worker/main.ts` against the services' queues and object store; resolves when ready. */
export function startWorker(services: Services, env: Record<string, string> = {}): Promise<WorkerHandle> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gpu-worker/main.ts'], {
    env: { ...workerEnv(services.config), LOG_LEVEL: 'info', METRICS_INTERVAL_SECONDS: '3600', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const handle: WorkerHandle = {
    child,
    output: () => out,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill(signal);
      return exited;
    },
  };
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('gpu-worker ready')) resolve(handle);
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`worker exited with ${code}:\n${out}`)));
  });
}
