import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { buildPrompt } from '../shared/core/prompt.ts';
import {
  GenerationEventSchema,
  GenerationResultSchema,
  resultKey,
  type GenerationEvent,
  type GenerationJob,
  type GenerationResult,
} from '../shared/generation/messages.ts';
import type { JobQueue } from '../shared/job-queue/index.ts';
import { createSqsClient, createSqsQueue, ensureQueues } from '../shared/job-queue/sqs.ts';
import type { Logger } from '../shared/logger.ts';
import type { ObjectStore } from '../shared/object-store/index.ts';
import { createS3ObjectStore } from '../shared/object-store/s3.ts';
import { TEST_BUCKET } from './global-setup.ts';

// Helpers for the worker's tests: real SQS and S3 clients against the fauxqs server
// that vitest's globalSetup starts, queues named per test, and a job as the API builds it.
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export function s3Store(): ObjectStore {
  return createS3ObjectStore({
    bucket: TEST_BUCKET,
    region: 'us-east-1',
    endpoint: inject('awsEndpoint'),
    credentials,
  });
}

export const unique = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

export async function testQueues(label: string, opts: { visibilitySeconds?: number; maxReceives?: number } = {}) {
  const client = createSqsClient({ region: 'us-east-1', endpoint: inject('awsEndpoint'), credentials });
  const name = unique(`gpuw-${label}`);
  const urls = await ensureQueues(
    client,
    { jobs: name, results: `${name}-results` },
    { visibilitySeconds: opts.visibilitySeconds ?? 30, maxReceives: opts.maxReceives ?? 5 },
  );
  return { client, urls, jobs: createSqsQueue(client, urls.jobsUrl), results: createSqsQueue(client, urls.resultsUrl) };
}

export const SOURCES = [
  {
    title: 'Why the sea has tides',
    text:
      'Tides are caused mainly by the gravitational pull of the Moon on the oceans, with a smaller contribution from the Sun. ' +
      'When the Sun and Moon line up, their pulls add together and produce spring tides with the largest range. ' +
      'Most coasts see two high tides and two low tides every lunar day.',
  },
  {
    title: 'Baking sourdough bread',
    text:
      'A sourdough starter is flour and water fermented by wild yeast and lactic acid bacteria. ' +
      'Feed the starter every day with equal weights of flour and water so the yeast stays active. ' +
      'Bake the loaf in a preheated Dutch oven at 250 °C; remove the lid after twenty minutes for a dark crust.',
  },
];

/** A job as the API enqueues it: the real prompt builder numbers the sources. */
export function makeJob(
  overrides: Partial<GenerationJob> = {},
  question = 'What causes the tides in the sea?',
): GenerationJob {
  const prompt = buildPrompt({ question, sources: SOURCES, contextTokens: 8192, maxOutputTokens: 512 });
  return {
    jobId: unique('ans_test'),
    enqueuedAt: Date.now(),
    model: 'extractive',
    adapter: null,
    messages: prompt.messages,
    question,
    sources: prompt.sources,
    maxTokens: 512,
    temperature: 0.2,
    logprobs: false,
    ...overrides,
  };
}

/** Reads (and deletes) events from the results queue until `done` says so; fails instead of hanging. */
export async function collectEvents(
  results: JobQueue,
  done: (events: GenerationEvent[]) => boolean,
  into: GenerationEvent[] = [],
): Promise<GenerationEvent[]> {
  const giveUp = Date.now() + 90_000;
  while (!done(into)) {
    if (Date.now() > giveUp) throw new Error(`events never arrived; got ${JSON.stringify(into)}`);
    for (const m of await results.receive({ maxMessages: 10, waitSeconds: 1 })) {
      into.push(GenerationEventSchema.parse(JSON.parse(m.body)));
      await results.delete(m.receiptHandle);
    }
  }
  return into;
}

export const count = (events: GenerationEvent[], type: GenerationEvent['type'], jobId?: string) =>
  events.filter((e) => e.type === type && (jobId === undefined || e.jobId === jobId)).length;

export async function readResult(store: ObjectStore, jobId: string): Promise<GenerationResult | null> {
  const bytes = await store.get(resultKey(jobId));
  return bytes ? GenerationResultSchema.parse(JSON.parse(new TextDecoder().decode(bytes))) : null;
}

/** Polls until the queue holds nothing, visible or in flight. */
export async function drained(queue: JobQueue): Promise<boolean> {
  for (let i = 0; i < 60; i++) {
    const d = await queue.depth();
    if (d.visible === 0 && d.inFlight === 0) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

export interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps its lines for assertions instead of printing them. */
export function capturingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (msg: string, fields: Record<string, unknown> = {}) =>
      void lines.push({ level, msg, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
