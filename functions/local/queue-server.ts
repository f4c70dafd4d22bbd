import { startFauxqs } from 'fauxqs';
import type { Config } from '../../shared/config.ts';
import { createSqsClient, ensureQueues } from '../../shared/job-queue/sqs.ts';

// Local runs: an SQS-compatible server (fauxqs) in this process, with the job queue,
// its dead-letter queue and the results queue, all reached through the real AWS SDK.
export const LOCAL_QUEUES = { jobs: 'citepay-generation-jobs', results: 'citepay-generation-results' };
export const JOB_VISIBILITY_SECONDS = 60;
export const MAX_RECEIVES = 5;

export async function startLocalQueues(config: Config) {
  // Host "localhost": fauxqs names queues http://sqs.<region>.<host>:<port>/…, and a dotted-IP host
  // would make that an invalid URL.
  const server = await startFauxqs({ port: config.queue.localPort, host: 'localhost', logger: false });
  const queue = {
    ...config.queue,
    endpoint: server.address,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const urls = await ensureQueues(createSqsClient(queue), LOCAL_QUEUES, {
    visibilitySeconds: JOB_VISIBILITY_SECONDS,
    maxReceives: MAX_RECEIVES,
  });
  return {
    config: { ...config, queue: { ...queue, jobsUrl: urls.jobsUrl, resultsUrl: urls.resultsUrl } } satisfies Config,
    deadLetterUrl: urls.deadLetterUrl,
    stop: () => server.stop(),
  };
}
