import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../../shared/services/container.ts';
import { createWorld, httpClient, type Client } from '../../../test/http.ts';
import { DOCS } from '../../../test/fixtures.ts';
import { startFakeEngine, type FakeEngine } from '../../../test/fake-engine.ts';
import { createGenerationServices, startWorker, type WorkerHandle } from '../../../test/generation.ts';

// Engine models through the worker's relay to a FAKE OpenAI-compatible engine (a real one
// needs a GPU), with a LoRA adapter registered, loaded on demand and paid.
let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;
let engine: FakeEngine;
let worker: WorkerHandle;
let stopConsumer: () => Promise<void>;
let adapterId: string;
const weights = new TextEncoder().encode('fake LoRA weights for tests');
const sha256 = createHash('sha256').update(weights).digest('hex');

beforeAll(async () => {
  engine = await startFakeEngine();
  const env = await createGenerationServices({
    ENGINE_MODELS: JSON.stringify([
      { id: 'fake-base', inputPricePerMillion: '1000000', outputPricePerMillion: '2000000' },
      { id: 'other-base' },
    ]),
  });
  services = env.services;
  stopConsumer = env.consumer.stop;
  client = httpClient(services);
  world = await createWorld(services, { credits: '1000000', price: '1000' });
  await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: DOCS.tides });
  await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
  await services.objectStore.put('adapters/ada-tides.safetensors', weights, 'application/octet-stream');
  worker = await startWorker(services, { GENERATOR_ENGINE_URL: engine.url });
});
afterAll(async () => {
  await worker?.stop();
  await stopConsumer?.();
  await engine?.stop();
  await services?.db.close();
});

const register = (json: Record<string, unknown>, key = world.ada.key) =>
  client.call('POST', '/v1/adapters', { key, json });

describe('LoRA adapters', () => {
  it('registers an adapter whose object and checksum are in the store', async () => {
    const r = await register({
      name: 'tides-expert',
      baseModel: 'fake-base',
      objectKey: 'adapters/ada-tides.safetensors',
      sha256,
      shareBps: 2500,
    });
    expect(r.status).toBe(201);
    expect(r.body.ownerWallet).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
    adapterId = r.body.id;
    const models = await client.call('GET', '/v1/models', { key: world.consumer.key });
    expect(models.body.data.find((m: { id: string }) => m.id === adapterId)).toMatchObject({ parent: 'fake-base' });
  });

  it.each([
    ['a wrong checksum', { sha256: '0'.repeat(64) }, /sha256/],
    ['a missing object', { objectKey: 'adapters/nothing' }, /no object/],
    ['a base model that takes no adapters', { baseModel: 'extractive' }, /does not take adapters/],
    ['an unknown base model', { baseModel: 'nope' }, /unknown model/],
  ])('refuses %s', async (_name, patch, message) => {
    const r = await register({
      name: 'x',
      baseModel: 'fake-base',
      objectKey: 'adapters/ada-tides.safetensors',
      sha256,
      shareBps: 100,
      ...patch,
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(message);
  });

  it('refuses consumers and other wallets', async () => {
    expect(
      (
        await register(
          { name: 'x', baseModel: 'fake-base', objectKey: 'adapters/ada-tides.safetensors', sha256, shareBps: 1 },
          world.consumer.key,
        )
      ).status,
    ).toBe(403);
    expect(
      (
        await register({
          name: 'x',
          ownerWallet: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
          baseModel: 'fake-base',
          objectKey: 'adapters/ada-tides.safetensors',
          sha256,
          shareBps: 1,
        })
      ).status,
    ).toBe(403);
  });
});

describe('answers from an engine model', () => {
  it('relays to the engine with the adapter as the model, loads it on demand, and pays its owner', async () => {
    const r = await client.call('POST', '/v1/answers', {
      key: world.consumer.key,
      json: { query: 'What causes the tides?', model: 'fake-base', adapter: adapterId },
    });
    expect(r.status).toBe(200);
    expect(r.body.model).toBe('fake-base');
    expect(r.body.adapter).toBe(adapterId);
    expect(r.body.citations.length).toBeGreaterThan(0);
    const relayed = engine.requests['/v1/chat/completions'].at(-1);
    expect(relayed).toMatchObject({ model: adapterId, stream: true, logprobs: true });
    expect(relayed.messages[0].role).toBe('system');
    expect(relayed.messages.at(-1).content).toContain('[1]');
    expect(engine.loaded.has(adapterId)).toBe(true);
    const fee = BigInt(r.body.usage.adapterFee);
    expect(fee).toBe((BigInt(r.body.usage.tokenCharge) * 2500n) / 10_000n);
    expect(fee).toBeGreaterThan(0n);
    const entries = await services.db.query<{ amount: bigint }>(
      `SELECT e.amount FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id WHERE t.request_id = $1 AND e.account_id = $2 AND e.document_id IS NULL`,
      [r.body.requestId, world.ada.id],
    );
    expect(entries.rows.map((e) => e.amount)).toEqual([fee]);
  });

  it('accepts an adapter id as the model in chat completions', async () => {
    const r = await client.call('POST', '/v1/chat/completions', {
      key: world.consumer.key,
      json: { model: adapterId, messages: [{ role: 'user', content: 'Why are there spring tides?' }] },
    });
    expect(r.status).toBe(200);
    expect(r.body.choices[0].message.content).toMatch(/\[\d\]/);
  });

  it('measures the causal signal when asked: the source the answer depends on gains weight, and the extra tokens are billed', async () => {
    const r = await client.call('POST', '/v1/answers', {
      key: world.consumer.key,
      json: {
        query: 'What causes the tides and how do I fix a bicycle puncture?',
        model: 'fake-base',
        topK: 2,
        attribution: { causal: true },
      },
    });
    expect(r.status).toBe(200);
    const { attribution, usage } = r.body;
    expect(attribution.formulaVersion).toBe('answer-v2');
    expect(attribution.causal).toMatchObject({ method: 'leave-one-out' });
    expect(usage.attributionTokens).toBe(attribution.causal.promptTokens);
    expect(usage.attributionTokens).toBeGreaterThan(0);
    const causal = attribution.sources.map((s: { signals: { causal: number | null } }) => s.signals.causal);
    expect(causal.every((c: number | null) => c !== null && c >= 0)).toBe(true);
    expect(causal.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 9);
    // Billed: the causal pass's prompt tokens at the input price, on top of the answer's own.
    const expected = BigInt(usage.promptTokens + usage.attributionTokens) + 2n * BigInt(usage.completionTokens); // 1 and 2 micro-USD per token
    expect(BigInt(usage.tokenCharge)).toBe(expected);
  });

  it('refuses the causal signal for a model without log-probabilities', async () => {
    const r = await client.call('POST', '/v1/answers', {
      key: world.consumer.key,
      json: { query: 'tides', attribution: { causal: true } },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/log-probabilities/);
  });

  it('refuses an adapter made for another base model', async () => {
    const r = await client.call('POST', '/v1/answers', {
      key: world.consumer.key,
      json: { query: 'tides', model: 'other-base', adapter: adapterId },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/is for base model fake-base/);
  });

  it('answers 503 with Retry-After when the engine is down, and charges nothing', async () => {
    engine.setDown(true);
    try {
      const before = (await client.call('GET', '/v1/usage', { key: world.consumer.key })).body;
      const r = await client.call('POST', '/v1/answers', {
        key: world.consumer.key,
        json: { query: 'What causes the tides?', model: 'fake-base' },
      });
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('5');
      const after = (await client.call('GET', '/v1/usage', { key: world.consumer.key })).body;
      expect(after.balance).toBe(before.balance);
      expect(after.calls).toBe(before.calls);
    } finally {
      engine.setDown(false);
    }
  });
});
