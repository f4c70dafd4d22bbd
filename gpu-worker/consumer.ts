import { setTimeout as sleep } from 'node:timers/promises';
import type { JobQueue, ReceivedMessage } from '../shared/job-queue/index.ts';
import type { Logger } from '../shared/logger.ts';
import type { ObjectStore } from '../shared/object-store/index.ts';
import type { GeneratorRegistry } from './generators/index.ts';
import { parseJob, rejectPoison, runJob, type RunnerContext } from './job-runner.ts';
import { createMetrics, embeddedMetricFormat, type WorkerMetrics } from './metrics.ts';

// Long-running SQS consumer in the manner of bbc/sqs-consumer: long polls for as many
// messages as it has free slots, runs up to `concurrency` jobs at once, keeps each
// message invisible with a heartbeat while its job runs, and stops gracefully.
export interface ConsumerDeps {
  jobs: JobQueue;
  results: JobQueue;
  store: ObjectStore;
  generators: GeneratorRegistry;
  logger: Logger;
  workerId: string;
  now?: () => number;
}

export interface ConsumerSettings {
  concurrency: number;
  visibilitySeconds: number;
  heartbeatSeconds: number;
  metricsIntervalSeconds: number;
  /** Long-poll wait; SQS allows at most 20. */
  waitSeconds?: number;
  /** At most about one delta message per this many ms per job. */
  deltaIntervalMs?: number;
}

export interface Consumer {
  start(): void;
  /** Stops polling and resolves once every job in flight has finished; `abort` cuts them short and hands their messages back. */
  stop(options?: { abort?: boolean }): Promise<void>;
  metrics(): WorkerMetrics;
}

export function createConsumer(deps: ConsumerDeps, settings: ConsumerSettings): Consumer {
  assertSettings(settings);
  const { jobs, logger } = deps;
  const now = deps.now ?? Date.now;
  const ctx: RunnerContext = { ...deps, now, deltaIntervalMs: settings.deltaIntervalMs ?? 50 };
  const metrics = createMetrics(now);
  const inFlight = new Set<Promise<void>>();
  /** jobId → its run, so a duplicate delivery waits for it and then replays its result. */
  const running = new Map<string, Promise<unknown>>();
  const polling = new AbortController();
  const jobsAbort = new AbortController();
  let loop: Promise<void> | undefined;
  let metricsTimer: NodeJS.Timeout | undefined;
  let stopped: Promise<void> | undefined;

  async function handle(message: ReceivedMessage): Promise<void> {
    const receivedAt = now();
    metrics.jobStarted();
    const heartbeat = setInterval(() => {
      jobs
        .extendVisibility(message.receiptHandle, settings.visibilitySeconds)
        .catch((err: unknown) =>
          logger.warn('visibility heartbeat failed', { messageId: message.messageId, error: String(err) }),
        );
    }, settings.heartbeatSeconds * 1000);
    let generated = false;
    try {
      const parsed = parseJob(message.body);
      if (!('job' in parsed)) return await rejectPoison(ctx, message, parsed);
      const { jobId } = parsed.job;
      const run = (running.get(jobId) ?? Promise.resolve()).then(() =>
        runJob(ctx, parsed.job, message, jobsAbort.signal),
      );
      running.set(jobId, run);
      generated = (await run) === 'generated';
      if (running.get(jobId) === run) running.delete(jobId);
    } catch (err) {
      logger.error('message handling failed', { messageId: message.messageId, error: String(err) });
    } finally {
      clearInterval(heartbeat);
      metrics.jobFinished(generated ? (now() - receivedAt) / 1000 : null);
    }
  }

  async function poll(): Promise<void> {
    let failures = 0;
    while (!polling.signal.aborted) {
      const free = settings.concurrency - inFlight.size;
      if (free <= 0) {
        await Promise.race(inFlight);
        continue;
      }
      let messages: ReceivedMessage[];
      try {
        messages = await jobs.receive({
          maxMessages: Math.min(10, free),
          waitSeconds: settings.waitSeconds ?? 20,
          visibilitySeconds: settings.visibilitySeconds,
          signal: polling.signal,
        });
        failures = 0;
      } catch (err) {
        if (polling.signal.aborted) break;
        failures++;
        logger.warn('receive failed; backing off', { error: String(err), failures });
        await sleep(Math.min(20_000, 500 * 2 ** failures), undefined, { signal: polling.signal }).catch(() => {});
        continue;
      }
      for (const m of messages) {
        const p = handle(m).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    }
  }

  return {
    start() {
      if (loop) return;
      loop = poll();
      metricsTimer = setInterval(
        () => logger.info('metrics', embeddedMetricFormat(metrics.roll(), deps.workerId, now())),
        settings.metricsIntervalSeconds * 1000,
      );
      metricsTimer.unref(); // never the reason the process stays up
    },
    stop(options = {}) {
      if (options.abort) jobsAbort.abort();
      stopped ??= (async () => {
        polling.abort();
        await loop;
        await Promise.all(inFlight);
        clearInterval(metricsTimer);
      })();
      return stopped;
    },
    metrics: () => metrics.snapshot(),
  };
}

/** Fail at construction, not at the first job (bbc/sqs-consumer validates the same way). */
function assertSettings(s: ConsumerSettings): void {
  if (!Number.isInteger(s.concurrency) || s.concurrency < 1)
    throw new RangeError('concurrency must be a positive integer');
  if (!(s.heartbeatSeconds > 0 && s.heartbeatSeconds < s.visibilitySeconds))
    throw new RangeError(
      'heartbeatSeconds must be positive and less than visibilitySeconds, or messages reappear mid-job',
    );
  if ((s.waitSeconds ?? 20) > 20) throw new RangeError('waitSeconds is at most 20 (the SQS long-poll limit)');
}
