import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAnswer } from '../shared/core/citations.ts';
import type { Embedder } from '../shared/embedder/index.ts';
import type { GenerationEvent } from '../shared/generation/messages.ts';
import { FAKE_BASE_MODEL, startFakeEngine, type FakeEngine, type FakeEngineOptions } from '../test/fake-engine.ts';
import { sharedEmbedder } from '../test/services.ts';
import { openAdapterCache } from './adapter-cache.ts';
import { createConsumer, type Consumer, type ConsumerSettings } from './consumer.ts';
import { createEngineGenerator } from './generators/engine.ts';
import { createExtractiveGenerator } from './generators/extractive.ts';
import { createGeneratorRegistry, type Generator } from './generators/index.ts';
import {
  capturingLogger,
  collectEvents,
  count,
  drained,
  makeJob,
  readResult,
  s3Store,
  testQueues,
} from '../test/worker-kit.ts';

// The consumer against real local servers: SQS and S3 via fauxqs (real AWS SDK clients),
// the real USE-lite embedder, and a FAKE OpenAI-compatible engine over HTTP.
let embedder: Embedder;
beforeAll(async () => {
  embedder = await sharedEmbedder();
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface WorldOptions {
  settings?: Partial<ConsumerSettings>;
  engine?: FakeEngineOptions | 'none';
  /** Replaces the registry's extractive generator. */
  extractive?: Generator;
  queueVisibilitySeconds?: number;
}

async function world(options: WorldOptions = {}) {
  const queues = await testQueues('consumer', { visibilitySeconds: options.queueVisibilitySeconds ?? 30 });
  const store = s3Store();
  const logger = capturingLogger();
  let engine: FakeEngine | undefined;
  if (options.engine !== 'none') {
    engine = await startFakeEngine(options.engine === undefined ? {} : options.engine);
    cleanups.push(() => engine!.stop());
  }
  const adapters = engine
    ? await openAdapterCache({
        dir: mkdtempSync(join(tmpdir(), 'citepay-adapters-')),
        maxBytes: 1e6,
        store,
        engineUrl: engine.url,
        logger,
      })
    : null;
  const generators = createGeneratorRegistry({
    extractive: options.extractive ?? createExtractiveGenerator(embedder),
    engine: engine && adapters ? createEngineGenerator({ url: engine.url, adapters }) : null,
  });
  const consumer: Consumer = createConsumer(
    { jobs: queues.jobs, results: queues.results, store, generators, logger, workerId: 'worker-test' },
    {
      concurrency: 2,
      visibilitySeconds: 30,
      heartbeatSeconds: 10,
      metricsIntervalSeconds: 60,
      waitSeconds: 1,
      ...options.settings,
    },
  );
  cleanups.push(() => consumer.stop());
  return { ...queues, store, logger, engine, consumer };
}

const completed =
  (jobId: string, n = 1) =>
  (events: GenerationEvent[]) =>
    count(events, 'completed', jobId) >= n;

describe('generation consumer', () => {
  it('runs an extractive job: started, deltas, result stored in S3, completed, message deleted', async () => {
    const w = await world({ engine: 'none' });
    const job = makeJob();
    await w.jobs.send(JSON.stringify(job));
    w.consumer.start();
    const events = await collectEvents(w.results, completed(job.jobId));

    expect(events[0]).toMatchObject({ type: 'started', jobId: job.jobId, workerId: 'worker-test' });
    expect((events[0] as { queuedMs: number }).queuedMs).toBeGreaterThanOrEqual(0);
    const deltas = events.filter((e) => e.type === 'delta');
    expect(deltas.length).toBeGreaterThan(0);
    expect(deltas.map((d) => d.seq).sort((a, b) => a - b)).toEqual(deltas.map((_, i) => i));
    expect(events.at(-1)).toEqual({ type: 'completed', jobId: job.jobId, resultKey: `results/${job.jobId}.json` });

    const result = (await readResult(w.store, job.jobId))!;
    expect(result).toMatchObject({
      jobId: job.jobId,
      model: 'extractive',
      workerId: 'worker-test',
      finishReason: 'stop',
    });
    const ordered = [...deltas].sort((a, b) => a.seq - b.seq);
    expect(ordered.map((d) => d.text).join('')).toBe(result.text);
    const parsed = parseAnswer(result.text, job.sources.length);
    expect(parsed.invalid).toEqual([]);
    expect(parsed.citations[0]!.sourceNumbers).toEqual([1]);
    expect(await drained(w.jobs)).toBe(true);
    await vi.waitFor(() => expect(w.consumer.metrics()).toMatchObject({ jobsCompleted: 1, inFlight: 0 }), {
      timeout: 10_000,
    });
    expect(w.consumer.metrics().meanJobSeconds).toBeGreaterThan(0);
  });

  it('is idempotent by job id: a duplicate delivery replays the stored result instead of generating again', async () => {
    let generations = 0;
    const inner = createExtractiveGenerator(embedder);
    const counting: Generator = {
      generate: (job, onDelta, signal) => (generations++, inner.generate(job, onDelta, signal)),
    };
    const w = await world({ engine: 'none', extractive: counting });
    const job = makeJob();
    await w.jobs.sendBatch([JSON.stringify(job), JSON.stringify(job)]); // both may arrive in one receive
    w.consumer.start();
    const events = await collectEvents(w.results, completed(job.jobId, 2));
    expect(generations).toBe(1);
    expect(count(events, 'started')).toBe(1);
    expect(count(events, 'completed')).toBe(2);
    const first = await readResult(w.store, job.jobId);

    // Delivered again later (a crash after storing, before deleting): replayed, not regenerated.
    await w.jobs.send(JSON.stringify(job));
    await collectEvents(w.results, completed(job.jobId, 3), events);
    expect(generations).toBe(1);
    expect(await readResult(w.store, job.jobId)).toEqual(first);
    expect(await drained(w.jobs)).toBe(true);
  });

  it('relays an adapter job to the engine: adapter loaded and used as the model, logprobs asked for, deltas forwarded', async () => {
    const w = await world({ settings: { deltaIntervalMs: 0 } });
    const bytes = randomBytes(2048);
    const adapter = {
      id: `ad_${randomBytes(6).toString('hex')}`,
      baseModel: FAKE_BASE_MODEL,
      objectKey: `adapters/test/${randomBytes(6).toString('hex')}`,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
    await w.store.put(adapter.objectKey, bytes, 'application/octet-stream');
    const job = makeJob({ model: FAKE_BASE_MODEL, adapter, logprobs: true, maxTokens: 300 });
    await w.jobs.send(JSON.stringify(job));
    w.consumer.start();
    const events = await collectEvents(w.results, completed(job.jobId));

    const [load] = w.engine!.requests['/v1/load_lora_adapter'];
    expect(load.lora_name).toBe(adapter.id);
    expect(load.lora_path).toMatch(new RegExp(`/${adapter.id}$`));
    const [chat] = w.engine!.requests['/v1/chat/completions'];
    expect(chat).toMatchObject({
      model: adapter.id,
      messages: job.messages,
      max_tokens: 300,
      logprobs: true,
      stream: true,
    });
    const result = (await readResult(w.store, job.jobId))!;
    expect(result.model).toBe(adapter.id);
    expect(result.meanLogprob).toBeLessThan(0);
    const deltas = events.filter((e) => e.type === 'delta').sort((a, b) => a.seq - b.seq);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((d) => d.text).join('')).toBe(result.text);
    expect(parseAnswer(result.text, job.sources.length).citations.map((c) => c.sourceNumbers)).toEqual([[1], [2]]);
  });

  it('fails terminally when the engine is down, absent, or refuses the request, and deletes those messages', async () => {
    const w = await world();
    w.engine!.setDown(true);
    const down = makeJob({ model: FAKE_BASE_MODEL });
    const unknown = makeJob({ model: 'not-served-here' });
    await w.jobs.sendBatch([JSON.stringify(down), JSON.stringify(unknown)]);
    w.consumer.start();
    const events = await collectEvents(w.results, (e) => count(e, 'failed') === 2);
    expect(events.find((e) => e.type === 'failed' && e.jobId === down.jobId)).toMatchObject({
      code: 'engine_unavailable',
    });
    // The engine is down for this one too: a 503 before any check of the model.
    expect(events.find((e) => e.type === 'failed' && e.jobId === unknown.jobId)).toMatchObject({
      code: 'engine_unavailable',
    });
    w.engine!.setDown(false);
    const refused = makeJob({ model: 'not-served-here' });
    await w.jobs.send(JSON.stringify(refused));
    await collectEvents(w.results, (e) => count(e, 'failed', refused.jobId) === 1, events);
    expect(events.find((e) => e.type === 'failed' && e.jobId === refused.jobId)).toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/does not exist/),
    });
    expect(count(events, 'completed')).toBe(0);
    expect(await readResult(w.store, down.jobId)).toBeNull();
    expect(await drained(w.jobs)).toBe(true);

    const noEngine = await world({ engine: 'none' });
    const job = makeJob({ model: FAKE_BASE_MODEL });
    await noEngine.jobs.send(JSON.stringify(job));
    noEngine.consumer.start();
    const [failed] = await collectEvents(noEngine.results, (e) => e.length > 0);
    expect(failed).toMatchObject({ type: 'failed', code: 'engine_unavailable' });
    expect(await drained(noEngine.jobs)).toBe(true);
  });

  it('leaves a job that hit an unexpected error on the queue and retries it soon', async () => {
    let calls = 0;
    const inner = createExtractiveGenerator(embedder);
    const flaky: Generator = {
      generate(job, onDelta, signal) {
        if (++calls === 1) throw new Error('transient: disk full');
        return inner.generate(job, onDelta, signal);
      },
    };
    const w = await world({ engine: 'none', extractive: flaky });
    const job = makeJob();
    await w.jobs.send(JSON.stringify(job));
    w.consumer.start();
    const events = await collectEvents(w.results, completed(job.jobId));
    expect(calls).toBe(2);
    expect(count(events, 'started')).toBe(2);
    expect(count(events, 'failed')).toBe(0);
    expect(
      w.logger.lines.some((l) => l.level === 'error' && l.msg.includes('retried') && l.fields.receiveCount === 1),
    ).toBe(true);
    expect(await drained(w.jobs)).toBe(true);
  });

  it('keeps a job invisible with heartbeats while it runs longer than the visibility timeout', async () => {
    // 50 tokens × 200 ms ≥ 10 s of generation against an 8 s visibility timeout. A heartbeat every
    // second leaves 7 s of margin: on a loaded machine an event-loop stall of 2 s (the margin a 3 s
    // timeout left) let the message reappear and the test fail without a bug.
    const visibilitySeconds = 8;
    const w = await world({
      engine: { delayMsPerToken: 200, reply: () => 'tick '.repeat(50) },
      queueVisibilitySeconds: visibilitySeconds,
      settings: { visibilitySeconds, heartbeatSeconds: 1 },
    });
    const job = makeJob({ model: FAKE_BASE_MODEL });
    await w.jobs.send(JSON.stringify(job));
    w.consumer.start();
    const events = await collectEvents(w.results, (e) => count(e, 'started') === 1);
    const startedAt = Date.now();
    // A second consumer polling all along must never be handed the job.
    const stolen: string[] = [];
    while (count(events, 'completed') === 0) {
      for (const m of await w.jobs.receive({ maxMessages: 10, waitSeconds: 1, visibilitySeconds: 60 }))
        stolen.push(m.body);
      for (const m of await w.results.receive({ maxMessages: 10, waitSeconds: 0 })) {
        events.push(JSON.parse(m.body) as GenerationEvent);
        await w.results.delete(m.receiptHandle);
      }
    }
    // The premise: the job outlived its visibility timeout (so only heartbeats kept it hidden).
    expect(Date.now() - startedAt).toBeGreaterThan(visibilitySeconds * 1000);
    expect(stolen).toEqual([]);
    expect(w.logger.lines.filter((l) => l.msg === 'visibility heartbeat failed')).toEqual([]);
    expect(await drained(w.jobs)).toBe(true);
  });

  it('stops gracefully: no new jobs, and stop() resolves only after the job in flight is stored and deleted', async () => {
    const w = await world({ engine: { delayMsPerToken: 100, reply: () => 'slow answer [1] '.repeat(8) } });
    // Count the consumer's polls (it calls jobs.receive on this object): a stopped consumer has none
    // pending and starts none, which the test checks from these counts instead of sleeping.
    const receive = w.jobs.receive.bind(w.jobs);
    const polls = { started: 0, pending: 0 };
    w.jobs.receive = async (options) => {
      polls.started++;
      polls.pending++;
      try {
        return await receive(options);
      } finally {
        polls.pending--;
      }
    };
    const job = makeJob({ model: FAKE_BASE_MODEL });
    await w.jobs.send(JSON.stringify(job));
    w.consumer.start();
    await collectEvents(w.results, (e) => count(e, 'started') === 1);
    await w.consumer.stop();
    expect(await readResult(w.store, job.jobId)).not.toBeNull();
    expect(w.consumer.metrics().inFlight).toBe(0);
    expect(await w.jobs.depth()).toEqual({ visible: 0, inFlight: 0 });
    expect(polls.pending).toBe(0); // no long poll left running that could take the next job
    const pollsAtStop = polls.started;
    const later = makeJob({ model: FAKE_BASE_MODEL });
    await w.jobs.send(JSON.stringify(later));
    const [left] = await receive({ maxMessages: 1, waitSeconds: 5 });
    expect(left?.body).toBe(JSON.stringify(later));
    expect(left!.receiveCount).toBe(1); // nobody took it before
    expect(polls.started).toBe(pollsAtStop);
    expect(w.engine!.requests['/v1/chat/completions']).toHaveLength(1);
  });

  it('on an urgent stop, cuts the job short and leaves its message for another worker', async () => {
    // Short visibility: a long poll aborted by stop() may still be handed the released
    // message server-side (SQS does this too); it must then reappear soon, not be lost.
    const w = await world({
      engine: { delayMsPerToken: 500, reply: () => 'tick '.repeat(100) },
      settings: { visibilitySeconds: 3, heartbeatSeconds: 1 },
    });
    const job = makeJob({ model: FAKE_BASE_MODEL });
    await w.jobs.send(JSON.stringify(job));
    w.consumer.start();
    const events = await collectEvents(w.results, (e) => count(e, 'started') === 1);
    await w.consumer.stop({ abort: true });
    const [again] = await w.jobs.receive({ maxMessages: 1, waitSeconds: 10 });
    expect(again?.body).toBe(JSON.stringify(job));
    expect(again!.receiveCount).toBeGreaterThanOrEqual(2);
    expect(await readResult(w.store, job.jobId)).toBeNull();
    await collectEvents(w.results, () => true, events);
    expect(count(events, 'completed') + count(events, 'failed')).toBe(0);
  });

  it('deletes a message that can never be a job, telling the API when it names one', async () => {
    const w = await world({ engine: 'none' });
    await w.jobs.sendBatch(['not json at all', JSON.stringify({ jobId: 'ans_broken', model: 42 })]);
    w.consumer.start();
    const events = await collectEvents(w.results, (e) => e.length > 0);
    expect(events).toEqual([
      { type: 'failed', jobId: 'ans_broken', code: 'internal', message: 'the generation job was malformed' },
    ]);
    expect(await drained(w.jobs)).toBe(true);
    expect(w.logger.lines.filter((l) => l.msg === 'invalid job message deleted')).toHaveLength(2);
  });

  it('publishes throughput as CloudWatch Embedded Metric Format lines', async () => {
    const w = await world({ engine: 'none', settings: { metricsIntervalSeconds: 1 } });
    const job = makeJob();
    await w.jobs.send(JSON.stringify(job));
    w.consumer.start();
    await collectEvents(w.results, completed(job.jobId));
    await vi.waitFor(
      () =>
        expect(w.logger.lines.some((l) => l.msg === 'metrics' && (l.fields.JobsPerSecond as number) > 0)).toBe(true),
      { timeout: 30_000 },
    );
    const line = w.logger.lines.find((l) => l.msg === 'metrics' && (l.fields.JobsPerSecond as number) > 0)!;
    expect(line.fields).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: 'citepay/gpu-worker',
            Dimensions: [['WorkerId']],
            Metrics: expect.arrayContaining([expect.objectContaining({ Name: 'MeanJobSeconds' })]),
          },
        ],
      },
      WorkerId: 'worker-test',
      InFlight: expect.any(Number),
    });
    expect(line.fields.MeanJobSeconds).toBeGreaterThan(0);
  });
});
