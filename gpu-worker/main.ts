import { createUseLiteEmbedder } from '../shared/embedder/use-lite.ts';
import { createSqsClient, createSqsQueue } from '../shared/job-queue/sqs.ts';
import { createLogger } from '../shared/logger.ts';
import { createFsObjectStore } from '../shared/object-store/fs.ts';
import type { ObjectStore } from '../shared/object-store/index.ts';
import { createS3ObjectStore } from '../shared/object-store/s3.ts';
import { openAdapterCache } from './adapter-cache.ts';
import { WorkerConfigError, loadWorkerConfig, type WorkerConfig } from './config.ts';
import { createConsumer } from './consumer.ts';
import { createEngineGenerator } from './generators/engine.ts';
import { createExtractiveGenerator } from './generators/extractive.ts';
import { createGeneratorRegistry } from './generators/index.ts';

// Composition root of the GPU worker: config → adapters → generators → consumer.
// SIGTERM (ECS scale-in, deploys) finishes the jobs in flight, then exits 0; a second
// signal cuts them short and hands their messages back to the queue.
async function main() {
  const config = loadWorkerConfig();
  const logger = createLogger(config.logLevel, { service: 'gpu-worker', workerId: config.workerId });
  const sqs = createSqsClient(config.queue);
  const store = objectStore(config);
  // Loaded up front (about a second) so the first extractive job pays nothing extra.
  const extractive = createExtractiveGenerator(await createUseLiteEmbedder());
  const engine = config.engineUrl
    ? createEngineGenerator({
        url: config.engineUrl,
        adapters: await openAdapterCache({ ...config.adapterCache, store, engineUrl: config.engineUrl, logger }),
      })
    : null;
  const consumer = createConsumer(
    {
      jobs: createSqsQueue(sqs, config.queue.jobsUrl),
      results: createSqsQueue(sqs, config.queue.resultsUrl),
      store,
      generators: createGeneratorRegistry({ extractive, engine }),
      logger,
      workerId: config.workerId,
    },
    config,
  );
  consumer.start();
  logger.info('gpu-worker ready', {
    engine: config.engineUrl ?? null,
    concurrency: config.concurrency,
    objectStore: config.objectStore.kind,
  });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    logger.info(signals === 1 ? 'stopping: finishing jobs in flight' : 'stopping now: releasing jobs in flight', {
      signal,
      inFlight: consumer.metrics().inFlight,
    });
    if (signals > 1) return void consumer.stop({ abort: true });
    void consumer.stop().then(() => {
      logger.info('gpu-worker stopped', { jobsCompleted: consumer.metrics().jobsCompleted });
      process.exit(0);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // From now on a parent's death finishes the jobs in flight first, as SIGTERM does.
  onParentGone = () => onSignal('SIGTERM');
  if (process.send && !process.connected) onParentGone();
}

// Started by `npm start` (functions/local/worker-process.ts) over an IPC channel: when that parent
// dies, even by SIGKILL, the channel closes. Heard from the first line on (loading the embedder takes
// seconds), so a parent that dies while this worker starts does not leave it running, orphaned.
let onParentGone: () => void = () => process.exit(0);
if (process.send) process.on('disconnect', () => onParentGone());

function objectStore(config: WorkerConfig): ObjectStore {
  const s = config.objectStore;
  return s.kind === 's3' ? createS3ObjectStore(s) : createFsObjectStore(s.root);
}

main().catch((err) => {
  process.stderr.write(
    `${err instanceof WorkerConfigError ? err.message : err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exit(1);
});
