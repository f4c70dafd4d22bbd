// Generation jobs flow API → SQS → gpu-worker; results flow back on a second queue.

// Longer than the slowest generation incl. a cold LoRA adapter load, so a job is not
// handed to a second worker while the first is still on it. Workers that need longer
// extend it with ChangeMessageVisibility.
export const JOB_VISIBILITY_TIMEOUT = '120 seconds';
// A job that fails 5 receives is poison: park it in the DLQ instead of burning GPU time.
export const JOB_MAX_RECEIVE_COUNT = 5;
// DLQ keeps messages for the SQS maximum so failures can be inspected and redriven.
const DLQ_RETENTION_SECONDS = 14 * 24 * 60 * 60;

export function queues() {
  const jobsDlq = new sst.aws.Queue('GenerationJobsDlq', {
    transform: { queue: { messageRetentionSeconds: DLQ_RETENTION_SECONDS } },
  });
  const jobs = new sst.aws.Queue('GenerationJobs', {
    visibilityTimeout: JOB_VISIBILITY_TIMEOUT,
    dlq: { queue: jobsDlq.arn, retry: JOB_MAX_RECEIVE_COUNT },
  });

  // Worker → API results (tokens, text, ablation scores). Lets async jobs (202 + GET)
  // be finalized (citations, attribution, one ledger transaction) by whoever consumes
  // it, without the worker touching the ledger. Same DLQ discipline as jobs.
  const resultsDlq = new sst.aws.Queue('GenerationResultsDlq', {
    transform: { queue: { messageRetentionSeconds: DLQ_RETENTION_SECONDS } },
  });
  const results = new sst.aws.Queue('GenerationResults', {
    visibilityTimeout: '60 seconds',
    dlq: { queue: resultsDlq.arn, retry: JOB_MAX_RECEIVE_COUNT },
  });

  return { jobs, jobsDlq, results, resultsDlq };
}

export type Queues = ReturnType<typeof queues>;
