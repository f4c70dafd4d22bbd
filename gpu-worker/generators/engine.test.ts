import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAnswer } from '../../shared/core/citations.ts';
import { FAKE_BASE_MODEL, startFakeEngine, type FakeEngine, type FakeEngineOptions } from '../../test/fake-engine.ts';
import { openAdapterCache } from '../adapter-cache.ts';
import { capturingLogger, makeJob, s3Store, unique } from '../../test/worker-kit.ts';
import { createEngineGenerator } from './engine.ts';
import { EngineBadRequestError, EngineUnavailableError } from './index.ts';

// The relay against a local FAKE OpenAI-compatible engine (test/fake-engine.ts) over real HTTP.
const engines: FakeEngine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
});

async function setup(options: FakeEngineOptions = {}) {
  const engine = await startFakeEngine(options);
  engines.push(engine);
  const store = s3Store();
  const adapters = await openAdapterCache({
    dir: mkdtempSync(join(tmpdir(), 'citepay-adapters-')),
    maxBytes: 1e6,
    store,
    engineUrl: engine.url,
    logger: capturingLogger(),
  });
  return { engine, store, generator: createEngineGenerator({ url: engine.url, adapters }) };
}

describe('engine generator', () => {
  it('relays the prompt, streams the deltas, and reports usage and the mean logprob', async () => {
    const { engine, generator } = await setup();
    const job = makeJob({ model: FAKE_BASE_MODEL, logprobs: true, maxTokens: 200, temperature: 0.3 });
    const deltas: string[] = [];
    const g = await generator.generate(job, (d) => deltas.push(d));

    const [request] = engine.requests['/v1/chat/completions'];
    expect(request).toMatchObject({
      model: FAKE_BASE_MODEL,
      messages: job.messages,
      max_tokens: 200,
      temperature: 0.3,
      stream: true,
      stream_options: { include_usage: true },
      logprobs: true,
    });
    expect(deltas.length).toBeGreaterThan(5); // one per token from the fake engine
    expect(deltas.join('')).toBe(g.text);
    expect(parseAnswer(g.text, job.sources.length).citations.map((c) => c.sourceNumbers)).toEqual([[1], [2]]);
    const tokens = g.text.match(/\s*\S+/g)!.length;
    expect(g.usage.completionTokens).toBe(tokens);
    expect(g.usage.promptTokens).toBeGreaterThan(50);
    // The fake engine's logprobs cycle -0.05, -0.10, -0.15, -0.20.
    const expected = Array.from({ length: tokens }, (_, i) => -0.05 * ((i % 4) + 1)).reduce((a, b) => a + b) / tokens;
    expect(g.meanLogprob).toBeCloseTo(expected, 10);
    expect(g).toMatchObject({ finishReason: 'stop', model: FAKE_BASE_MODEL });
  });

  it('loads the adapter and names it as the model, and loads it again when the engine has forgotten it', async () => {
    const { engine, generator, store } = await setup();
    const bytes = randomBytes(256);
    const adapter = {
      id: unique('ad_engine'),
      baseModel: FAKE_BASE_MODEL,
      objectKey: `adapters/${unique('engine')}`,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
    await store.put(adapter.objectKey, bytes, 'application/octet-stream');
    const job = makeJob({ model: FAKE_BASE_MODEL, adapter });
    expect((await generator.generate(job, () => {})).model).toBe(adapter.id);
    engine.loaded.clear(); // the engine restarted
    expect((await generator.generate(job, () => {})).model).toBe(adapter.id);
    expect(engine.requests['/v1/load_lora_adapter'].map((r) => r.lora_name)).toEqual([adapter.id, adapter.id]);
    expect(engine.requests['/v1/chat/completions'].map((r) => r.model)).toEqual([adapter.id, adapter.id, adapter.id]);
  });

  it('scores prompts with vLLM prompt_logprobs, naming the adapter as the model', async () => {
    const { engine, generator, store } = await setup();
    const bytes = randomBytes(64);
    const adapter = {
      id: unique('ad_score'),
      baseModel: FAKE_BASE_MODEL,
      objectKey: `adapters/${unique('score')}`,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
    await store.put(adapter.objectKey, bytes, 'application/octet-stream');
    const job = makeJob({ model: FAKE_BASE_MODEL, adapter });
    const shorter = [...job.messages.slice(0, -1), { role: 'user' as const, content: 'Sources: none.' }];
    const scores = await generator.score!(job, [job.messages, shorter], 'Tides are caused by cheese.');

    expect(engine.requests['/v1/chat/completions'].map((r) => r.model)).toEqual([adapter.id, adapter.id]);
    expect(scores).toHaveLength(2);
    for (const s of scores) expect(s.tokenLogprobs).toHaveLength(s.promptTokens - 1); // the first token has none
    expect(scores[0]!.promptTokens).toBeGreaterThan(scores[1]!.promptTokens);
    // The fake: "Tides are caused by" occur in the full prompt (source 1), "cheese." nowhere.
    expect(scores[0]!.tokenLogprobs.slice(-5)).toEqual([-0.1, -0.1, -0.1, -0.1, -4]);
    expect(scores[1]!.tokenLogprobs.slice(-5)).toEqual([-4, -0.1, -4, -4, -4]); // only "are" is in the system prompt
  });

  it('reports no logprob when none was asked for, and finishReason length at max_tokens', async () => {
    const { generator } = await setup();
    const g = await generator.generate(makeJob({ model: FAKE_BASE_MODEL, logprobs: false, maxTokens: 3 }), () => {});
    expect(g.meanLogprob).toBeNull();
    expect(g.finishReason).toBe('length');
    expect(g.usage.completionTokens).toBe(3);
  });

  it('turns a 4xx into EngineBadRequestError carrying the engine message', async () => {
    const { generator } = await setup();
    const err = await generator.generate(makeJob({ model: 'no-such-model' }), () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineBadRequestError);
    expect((err as EngineBadRequestError).status).toBe(404);
    expect((err as Error).message).toMatch(/404.*`no-such-model` does not exist/);
  });

  it('turns a 5xx, a refused connection and a failing engine into EngineUnavailableError', async () => {
    const down = await setup();
    down.engine.setDown(true);
    await expect(down.generator.generate(makeJob({ model: FAKE_BASE_MODEL }), () => {})).rejects.toBeInstanceOf(
      EngineUnavailableError,
    );
    await down.engine.stop();
    await expect(down.generator.generate(makeJob({ model: FAKE_BASE_MODEL }), () => {})).rejects.toBeInstanceOf(
      EngineUnavailableError,
    );
    const failing = await setup({ failWith: 500 });
    await expect(failing.generator.generate(makeJob({ model: FAKE_BASE_MODEL }), () => {})).rejects.toBeInstanceOf(
      EngineUnavailableError,
    );
  });

  it('stops on abort with the abort itself, not as an engine failure', async () => {
    const { generator } = await setup({ delayMsPerToken: 100 });
    const abort = new AbortController();
    const deltas: string[] = [];
    const run = generator.generate(
      makeJob({ model: FAKE_BASE_MODEL }),
      (d) => {
        deltas.push(d);
        if (deltas.length === 2) abort.abort();
      },
      abort.signal,
    );
    const err = await run.catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(err).not.toBeInstanceOf(EngineUnavailableError);
  });
});
