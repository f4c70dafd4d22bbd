import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../shared/services/container.ts';
import { DOCS } from '../fixtures.ts';
import { createGenerationServices, startWorker, type WorkerHandle } from '../generation.ts';
import { createWorld, httpClient, type Client } from '../http.ts';
import { browserSession, field } from './session.ts';

// "Where the money went": the split of GET /v1/usage and of the consumer dashboard is the sum of
// the calls' own usage (retrievals and answers), not a guess from the receipt (issue #21).
let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;
let worker: WorkerHandle;
let stopConsumer: () => Promise<void>;
type Usage = { charged: string; dataFee: string; protocolFee: string; tokenCharge?: string; adapterFee?: string };
const usages: { kind: 'retrieve' | 'answer'; usage: Usage }[] = [];

beforeAll(async () => {
  const env = await createGenerationServices();
  services = env.services;
  stopConsumer = env.consumer.stop;
  client = httpClient(services);
  world = await createWorld(services, { credits: '100000000', price: '2000' });
  await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: DOCS.bread });
  await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
  worker = await startWorker(services);
  for (const query of ['how long should bread dough rise?', 'fix a flat tyre']) {
    const r = await client.call('POST', '/v1/retrieve', { key: world.consumer.key, json: { query, topK: 2 } });
    expect(r.status).toBe(200);
    usages.push({ kind: 'retrieve', usage: r.body.usage });
  }
  for (const query of ['How do I fix a punctured bicycle inner tube?', 'How long does sourdough dough rise?']) {
    const r = await client.call('POST', '/v1/answers', { key: world.consumer.key, json: { query, topK: 2 } });
    expect(r.body.status).toBe('succeeded');
    usages.push({ kind: 'answer', usage: r.body.usage });
  }
});
afterAll(async () => {
  await worker?.stop();
  await stopConsumer?.();
  await services?.db.close();
});

const sum = (f: (u: Usage, kind: string) => bigint) => usages.reduce((a, x) => a + f(x.usage, x.kind), 0n);

describe('usage split', () => {
  it("GET /v1/usage splits receipted spend as the calls' own usage adds up", async () => {
    const { split, byKind } = (await client.call('GET', '/v1/usage', { key: world.consumer.key })).body;
    const tokens = sum((u, k) => (k === 'answer' ? BigInt(u.tokenCharge!) - BigInt(u.adapterFee!) : 0n));
    expect(tokens).toBeGreaterThan(0n);
    expect(split.calls).toBe(usages.length);
    expect(BigInt(split.charged)).toBe(sum((u) => BigInt(u.charged)));
    expect(BigInt(split.dataFees)).toBe(sum((u) => BigInt(u.dataFee)));
    expect(BigInt(split.modelTokens)).toBe(tokens);
    expect(BigInt(split.adapterFees)).toBe(sum((u, k) => (k === 'answer' ? BigInt(u.adapterFee!) : 0n)));
    // The protocol's cut of the data fee: an answer's protocolFee also holds its tokens (less the adapter).
    expect(BigInt(split.protocolFee)).toBe(sum((u) => BigInt(u.protocolFee)) - tokens);
    expect(
      BigInt(split.dataFees) + BigInt(split.modelTokens) + BigInt(split.adapterFees) + BigInt(split.protocolFee),
    ).toBe(BigInt(split.charged));
    const receipted = byKind.filter((k: { kind: string }) => k.kind === 'retrieve' || k.kind === 'answer');
    expect(receipted.reduce((a: bigint, k: { spend: string }) => a + BigInt(k.spend), 0n)).toBe(BigInt(split.charged));
  });

  it('the consumer dashboard shows the same split', async () => {
    const { split } = (await client.call('GET', '/v1/usage', { key: world.consumer.key })).body;
    const s = browserSession(client.app);
    await s.signInWithKey(world.consumer.key);
    const page = (await s.get('/dashboard/consumer')).text;
    expect(field(page, 'split-data')).toBe(split.dataFees);
    expect(field(page, 'split-tokens')).toBe(split.modelTokens);
    expect(field(page, 'split-adapter')).toBe(split.adapterFees);
    expect(field(page, 'split-protocol')).toBe(split.protocolFee);
    expect(field(page, 'split-total')).toBe(split.charged);
  });
});
