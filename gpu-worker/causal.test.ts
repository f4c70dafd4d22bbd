import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GenerationJob } from '../shared/generation/messages.ts';
import { FAKE_BASE_MODEL, startFakeEngine, type FakeEngineOptions } from '../test/fake-engine.ts';
import { sharedEmbedder } from '../test/services.ts';
import { openAdapterCache } from './adapter-cache.ts';
import { answerTokenCount } from './causal.ts';
import { createConsumer } from './consumer.ts';
import { createEngineGenerator } from './generators/engine.ts';
import { createExtractiveGenerator } from './generators/extractive.ts';
import { createGeneratorRegistry, type Generation } from './generators/index.ts';
import {
  SOURCES,
  capturingLogger,
  collectEvents,
  count,
  makeJob,
  readResult,
  s3Store,
  testQueues,
} from '../test/worker-kit.ts';

// The causal signal end to end: jobs through the consumer (SQS and S3 on fauxqs), answered
// and then scored leave-one-out by the FAKE engine (test/fake-engine.ts) over HTTP. The fake
// gives an answer word -0.1 when an earlier message contains it and -4 when none does.
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world(engineOptions: FakeEngineOptions = {}) {
  const queues = await testQueues('causal');
  const store = s3Store();
  const logger = capturingLogger();
  const engine = await startFakeEngine(engineOptions);
  cleanups.push(() => engine.stop());
  const adapters = await openAdapterCache({
    dir: mkdtempSync(join(tmpdir(), 'citepay-adapters-')),
    maxBytes: 1e6,
    store,
    engineUrl: engine.url,
    logger,
  });
  const generators = createGeneratorRegistry({
    extractive: createExtractiveGenerator(await sharedEmbedder()),
    engine: createEngineGenerator({ url: engine.url, adapters }),
  });
  const consumer = createConsumer(
    { jobs: queues.jobs, results: queues.results, store, generators, logger, workerId: 'worker-causal' },
    { concurrency: 2, visibilitySeconds: 30, heartbeatSeconds: 10, metricsIntervalSeconds: 60, waitSeconds: 1 },
  );
  consumer.start();
  cleanups.push(() => consumer.stop());
  /** Sends the job and returns its stored result once `completed` arrives. */
  const answer = async (job: GenerationJob) => {
    await queues.jobs.send(JSON.stringify(job));
    await collectEvents(queues.results, (e) => count(e, 'completed', job.jobId) === 1);
    return (await readResult(store, job.jobId))!;
  };
  const chats = () => engine.requests['/v1/chat/completions'];
  const scoring = () => chats().filter((r) => r.prompt_logprobs !== undefined);
  return { engine, logger, answer, chats, scoring };
}

/** The first sentence of source 2, cited: an answer that copies source 2 and nothing else. */
const COPIES_SOURCE_2 = `${SOURCES[1]!.text.split('. ')[0]}. [2]`;
const words = (text: string) => text.match(/\S+/g)?.length ?? 0;

describe('causal signal (leave-one-out)', () => {
  it('scores the answer under all sources and with each left out: the source it copies matters, the other does not', async () => {
    const w = await world({ reply: () => COPIES_SOURCE_2, scoringDelayMs: 100 });
    const job = makeJob({ model: FAKE_BASE_MODEL, logprobs: true, causal: true });
    const result = await w.answer(job);

    expect(result.text).toBe(COPIES_SOURCE_2);
    const causal = result.causal!;
    expect(causal.method).toBe('leave-one-out');
    // Every answer word is in the full prompt: exactly the answer's tokens are summed, each -0.1.
    expect(causal.answerLogprob).toBeCloseTo(-0.1 * words(COPIES_SOURCE_2), 9);
    expect(causal.withoutSource).toHaveLength(2);
    expect(causal.withoutSource[1]).toBeLessThan(causal.answerLogprob - 10); // ~10 words only source 2 has
    expect(causal.withoutSource[0]).toBeCloseTo(causal.answerLogprob, 9); // source 1 is not used
    expect(causal.ms).toBeGreaterThanOrEqual(0);

    // n + 1 = 3 scoring requests in vLLM's form, sent together (all in flight at once).
    const scoring = w.scoring();
    expect(scoring).toHaveLength(3);
    expect(w.engine.chat.peakInFlight).toBe(3);
    for (const r of scoring) {
      expect(r).toMatchObject({
        model: FAKE_BASE_MODEL,
        max_tokens: 1,
        stream: false,
        prompt_logprobs: 0,
        add_generation_prompt: false,
        continue_final_message: true,
        echo: false,
      });
      expect(r.messages.at(-1)).toEqual({ role: 'assistant', content: COPIES_SOURCE_2 });
      expect(r.messages.slice(0, -2)).toEqual(job.messages.slice(0, -1)); // only the sources message differs
    }
    const userOf = (r: { messages: { content: string }[] }) => r.messages.at(-2)!.content;
    expect(userOf(scoring[0])).toBe(job.messages.at(-1)!.content);
    const without = scoring.slice(1).map(userOf);
    expect(without[0]).not.toContain('[1] ');
    expect(without[0]).toContain(`[2] ${SOURCES[1]!.title}`);
    expect(without[1]).toContain(`[1] ${SOURCES[0]!.title}`);
    expect(without[1]).not.toContain('[2] ');
    // The engine's prompt tokens for all three (the fake counts words).
    const promptWords = scoring.reduce(
      (n, r) => n + r.messages.reduce((m: number, x: { content: string }) => m + words(x.content), 0),
      0,
    );
    expect(causal.promptTokens).toBe(promptWords);
  });

  it('gives null and sends no scoring request when the job does not ask for it (a job without the field means no)', async () => {
    const w = await world();
    const job = makeJob({ model: FAKE_BASE_MODEL, logprobs: true });
    expect(job).not.toHaveProperty('causal'); // as jobs queued before the field existed
    const result = await w.answer(job);
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.causal).toBeNull();
    expect(w.chats()).toHaveLength(1);
    expect(w.scoring()).toEqual([]);
  });

  it('gives null from the extractive backend, which has no log-probabilities', async () => {
    const w = await world();
    const result = await w.answer(makeJob({ model: 'extractive', causal: true }));
    expect(result.model).toBe('extractive');
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.causal).toBeNull();
    expect(w.chats()).toEqual([]);
    expect(w.logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('completes the answer without the signal when scoring fails, and says why in a warning', async () => {
    const w = await world({ failScoringWith: 500 });
    const job = makeJob({ model: FAKE_BASE_MODEL, logprobs: true, causal: true });
    const result = await w.answer(job);
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.finishReason).toBe('stop');
    expect(result.causal).toBeNull();
    expect(w.scoring().length).toBeGreaterThanOrEqual(1);
    const warning = w.logger.lines.find((l) => l.msg === 'causal signal failed; the answer goes without it');
    expect(warning).toMatchObject({ level: 'warn', fields: { jobId: job.jobId, error: expect.stringMatching(/500/) } });
  });
});

describe('answerTokenCount', () => {
  const generation = (over: Partial<Generation> = {}): Generation => ({
    text: 'x',
    usage: { promptTokens: 100, completionTokens: 21 },
    usageFromEngine: true,
    finishReason: 'stop',
    meanLogprob: null,
    model: 'm',
    ...over,
  });

  it('is the tokens the answer added to the generation prompt, as the engine counted them', () => {
    expect(answerTokenCount(generation(), 120)).toBe(20); // 21 completion tokens counted the end-of-sequence token
  });

  it('never exceeds the completion tokens (a template that wraps the final message adds tokens)', () => {
    expect(answerTokenCount(generation(), 125)).toBe(21);
  });

  it('falls back to the completion tokens when the prompt count was an estimate or makes no sense', () => {
    expect(answerTokenCount(generation({ usageFromEngine: false }), 120)).toBe(21);
    expect(answerTokenCount(generation(), 90)).toBe(21);
    expect(() => answerTokenCount(generation({ usage: { promptTokens: 100, completionTokens: 0 } }), 100)).toThrow(
      /no tokens/,
    );
  });
});
