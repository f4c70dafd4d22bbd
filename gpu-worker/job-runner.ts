import {
  GenerationJobSchema,
  GenerationResultSchema,
  resultKey,
  type GenerationEvent,
  type GenerationJob,
  type GenerationResult,
} from '../shared/generation/messages.ts';
import type { JobQueue, ReceivedMessage } from '../shared/job-queue/index.ts';
import type { Logger } from '../shared/logger.ts';
import type { ObjectStore } from '../shared/object-store/index.ts';
import { causalSignal } from './causal.ts';
import { createDeltaBatcher } from './delta-batcher.ts';
import { TerminalJobError, type GeneratorRegistry } from './generators/index.ts';

// One job, start to finish. The order is the contract with the API: the result is
// durably stored before `completed` is sent, and the message is deleted only after
// both, so a crash at any point leaves the message for redelivery, and the redelivery
// finds the stored result instead of generating again.
export interface RunnerContext {
  jobs: JobQueue;
  results: JobQueue;
  store: ObjectStore;
  generators: GeneratorRegistry;
  logger: Logger;
  now: () => number;
  workerId: string;
  deltaIntervalMs: number;
}

export type Outcome = 'generated' | 'replayed' | 'failed' | 'retry' | 'released';

/** Soon, not at once: a failure caused by something transient gets a moment to clear. */
const RETRY_VISIBILITY_SECONDS = 5;

export function parseJob(body: string): { job: GenerationJob } | { jobId: string | null; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { jobId: null, problem: 'not JSON' };
  }
  const parsed = GenerationJobSchema.safeParse(json);
  if (parsed.success) return { job: parsed.data };
  const jobId = (json as { jobId?: unknown } | null)?.jobId;
  return {
    jobId: typeof jobId === 'string' ? jobId : null,
    problem: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
  };
}

/** A message that can never succeed: say so if it names its job, so the API closes it now, then drop it. */
export async function rejectPoison(
  ctx: RunnerContext,
  message: ReceivedMessage,
  bad: { jobId: string | null; problem: string },
) {
  ctx.logger.error('invalid job message deleted', {
    messageId: message.messageId,
    jobId: bad.jobId,
    problem: bad.problem.slice(0, 500),
  });
  if (bad.jobId)
    await send(ctx, {
      type: 'failed',
      jobId: bad.jobId,
      code: 'internal',
      message: 'the generation job was malformed',
    });
  await ctx.jobs.delete(message.receiptHandle);
}

/** Never rejects: every failure is turned into an outcome for the message. */
export async function runJob(
  ctx: RunnerContext,
  job: GenerationJob,
  message: ReceivedMessage,
  signal: AbortSignal,
): Promise<Outcome> {
  const { jobId } = job;
  const key = resultKey(jobId);
  const deltas = createDeltaBatcher((seq, text) => send(ctx, { type: 'delta', jobId, seq, text }), {
    intervalMs: ctx.deltaIntervalMs,
    now: ctx.now,
  });
  try {
    if (await ctx.store.get(key)) {
      // Stored by an earlier delivery that died before deleting the message.
      await send(ctx, { type: 'completed', jobId, resultKey: key });
      await ctx.jobs.delete(message.receiptHandle);
      ctx.logger.info('job replayed from stored result', { jobId, receiveCount: message.receiveCount });
      return 'replayed';
    }
    const generator = ctx.generators.forJob(job); // no backend for this model: fail before "started"
    const queuedMs = Math.max(0, ctx.now() - job.enqueuedAt);
    await send(ctx, { type: 'started', jobId, workerId: ctx.workerId, queuedMs });
    const began = ctx.now();
    const g = await generator.generate(job, deltas.push, signal);
    await deltas.close();
    const generateMs = ctx.now() - began;
    const causal = job.causal
      ? await causalSignal(generator, job, g, { logger: ctx.logger, now: ctx.now, signal })
      : null;
    const result: GenerationResult = GenerationResultSchema.parse({
      jobId,
      text: g.text,
      model: g.model,
      usage: g.usage,
      finishReason: g.finishReason,
      meanLogprob: g.meanLogprob,
      workerId: ctx.workerId,
      timings: { queuedMs, generateMs },
      causal,
    });
    await ctx.store.put(key, new TextEncoder().encode(JSON.stringify(result)), 'application/json');
    await send(ctx, { type: 'completed', jobId, resultKey: key });
    await ctx.jobs.delete(message.receiptHandle);
    ctx.logger.info('job completed', {
      jobId,
      model: result.model,
      queuedMs,
      generateMs,
      completionTokens: result.usage.completionTokens,
      finishReason: result.finishReason,
      ...(causal && { causalMs: causal.ms, causalPromptTokens: causal.promptTokens }),
    });
    return 'generated';
  } catch (err) {
    deltas.discard();
    if (err instanceof TerminalJobError && !signal.aborted) {
      ctx.logger.warn('job failed', { jobId, code: err.code, error: err.message, cause: describe(err.cause) });
      try {
        await send(ctx, { type: 'failed', jobId, code: err.code, message: err.message });
        await ctx.jobs.delete(message.receiptHandle);
        return 'failed';
      } catch (sendErr) {
        err = sendErr; // could not report it: retry the job like any other failure
      }
    }
    // Stopping in a hurry: hand the job straight to another worker.
    const released = signal.aborted;
    if (!released)
      ctx.logger.error('job error; it will be retried', {
        jobId,
        receiveCount: message.receiveCount,
        error: describe(err),
      });
    await ctx.jobs
      .extendVisibility(message.receiptHandle, released ? 0 : RETRY_VISIBILITY_SECONDS)
      .catch((e: unknown) => ctx.logger.warn('could not change job visibility', { jobId, error: describe(e) }));
    return released ? 'released' : 'retry';
  }
}

function send(ctx: RunnerContext, event: GenerationEvent): Promise<void> {
  return ctx.results.send(JSON.stringify(event));
}

function describe(err: unknown): string | undefined {
  if (err === undefined) return undefined;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
