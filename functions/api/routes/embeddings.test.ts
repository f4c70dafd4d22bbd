import { serve, type ServerType } from '@hono/node-server';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config.ts';
import { createRemoteEmbedder } from '../../../shared/embedder/openai-compatible.ts';
import type { Services } from '../../../shared/services/container.ts';
import { createApp } from '../app.ts';
import { createTestServices } from '../../../test/services.ts';
import { createWorld, httpClient } from '../../../test/http.ts';
import { cosine } from '../../../test/embedder-parity.ts';

// POST /v1/embeddings through the official OpenAI SDK over real HTTP (the SDK asks for base64 by default).
let services: Services;
let server: ServerType;
let openai: OpenAI;
let world: Awaited<ReturnType<typeof createWorld>>;

beforeAll(async () => {
  services = await createTestServices({ EMBEDDING_PRICE_PER_MILLION: '20000' });
  world = await createWorld(services, { credits: '1000000' });
  server = serve({ fetch: createApp(services).fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  openai = new OpenAI({
    baseURL: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`,
    apiKey: world.consumer.key,
    maxRetries: 0,
  });
});
afterAll(async () => {
  server?.close();
  await services?.db.close();
});

describe('POST /v1/embeddings (OpenAI-compatible)', () => {
  it("embeds a string with the server's model, the vector the SDK decodes equal to the embedder's", async () => {
    const r = await openai.embeddings.create({
      model: 'use-lite-512',
      input: 'Spring tides happen when the sun and moon align.',
    });
    expect(r).toMatchObject({ object: 'list', model: 'use-lite-512', data: [{ object: 'embedding', index: 0 }] });
    expect(r.data[0]!.embedding).toHaveLength(512);
    const [direct] = await services.embedder.embed(['Spring tides happen when the sun and moon align.']);
    expect(cosine(r.data[0]!.embedding, direct!)).toBeGreaterThan(0.9999);
    expect(r.usage.prompt_tokens).toBeGreaterThan(5);
    expect(r.usage.total_tokens).toBe(r.usage.prompt_tokens);
  });

  it('embeds several texts in order as floats, and bills their tokens to the key as one balanced transaction', async () => {
    const { call } = httpClient(services);
    const before = BigInt((await call('GET', '/v1/usage', { key: world.consumer.key })).body.balance);
    const texts = ['patch an inner tube', 'bake sourdough bread', 'why the tide turns'];
    const r = await openai.embeddings.create({ model: 'use-lite-512', input: texts, encoding_format: 'float' });
    const direct = await services.embedder.embed(texts);
    expect(r.data.map((d) => d.index)).toEqual([0, 1, 2]);
    r.data.forEach((d, i) => expect(cosine(d.embedding, direct[i]!)).toBeGreaterThan(0.9999));
    const usage = (await call('GET', '/v1/usage', { key: world.consumer.key })).body;
    const charged = (BigInt(r.usage.prompt_tokens) * 20_000n + 999_999n) / 1_000_000n;
    expect(charged).toBeGreaterThan(0n);
    expect(BigInt(usage.balance)).toBe(before - charged);
    expect(usage.byKind).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'embedding' })]));
    const sums = await services.db.query<{ total: bigint }>(
      `SELECT sum(e.amount)::bigint AS total FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id WHERE t.kind = 'embedding' GROUP BY t.id`,
    );
    for (const row of sums.rows) expect(row.total).toBe(0n);
  });

  it('refuses an unknown model, another dimension and token arrays with the one error shape', async () => {
    await expect(openai.embeddings.create({ model: 'text-embedding-3-small', input: 'x' })).rejects.toMatchObject({
      status: 400,
      error: { code: 'BAD_REQUEST', message: expect.stringMatching(/unknown embedding model/) },
    });
    await expect(
      openai.embeddings.create({ model: 'use-lite-512', input: 'x', dimensions: 256 }),
    ).rejects.toMatchObject({ status: 400, error: { message: expect.stringMatching(/512-dimensional/) } });
    await expect(
      openai.embeddings.create({ model: 'use-lite-512', input: [[1, 2, 3]] as unknown as string[] }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('answers 402 when the credits cannot cover the tokens', async () => {
    const { call } = httpClient(services);
    const poor = await call('POST', '/v1/admin/accounts', {
      key: world.admin,
      json: { kind: 'consumer', name: 'Poor', credits: '0' },
    });
    const client = new OpenAI({ baseURL: openai.baseURL, apiKey: poor.body.apiKey.key, maxRetries: 0 });
    await expect(client.embeddings.create({ model: 'use-lite-512', input: 'x' })).rejects.toMatchObject({
      status: 402,
      error: { code: 'PAYMENT_REQUIRED' },
    });
  });
});

describe('EMBEDDER=remote: the OpenAI-compatible embedder adapter against this endpoint', () => {
  const remote = (apiKey: string, model = 'use-lite-512', dimension = 512) =>
    createRemoteEmbedder({ url: openai.baseURL, apiKey, model, dimension, batchSize: 2, maxRetries: 0 });

  it("returns exactly the local embedder's vectors, in order, across batches", async () => {
    const texts = ['patch an inner tube', 'bake sourdough bread', 'why the tide turns', 'spring tides'];
    const vectors = await remote(world.consumer.key).embed(texts);
    expect(vectors).toEqual(await services.embedder.embed(texts)); // base64 float32: bit for bit
  });

  it('turns an endpoint that refuses (bad key, wrong model, wrong dimension) into Unavailable, never a wrong vector', async () => {
    await expect(remote('cp_live_nope').embed(['x'])).rejects.toMatchObject({
      kind: 'unavailable',
      dependency: 'embedder',
      message: expect.stringMatching(/HTTP 401/),
    });
    await expect(remote(world.consumer.key, 'text-embedding-3-small').embed(['x'])).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringMatching(/HTTP 400/),
    });
    await expect(remote(world.consumer.key, 'use-lite-512', 384).embed(['x'])).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringMatching(/512-dimensional.*384/),
    });
  });

  it('is configured by EMBEDDER=remote with all four variables, and names what is missing', () => {
    const vars = {
      EMBEDDER: 'remote',
      EMBEDDER_URL: 'https://api.openai.com/v1',
      EMBEDDER_API_KEY: 'sk-x',
      EMBEDDER_MODEL: 'text-embedding-3-small',
      EMBEDDER_DIMENSION: '1536',
    };
    expect(loadConfig(vars).embedder.remote).toEqual({
      url: vars.EMBEDDER_URL,
      apiKey: 'sk-x',
      model: 'text-embedding-3-small',
      dimension: 1536,
    });
    expect(() => loadConfig({ ...vars, EMBEDDER_DIMENSION: '' })).toThrow(/EMBEDDER=remote: set EMBEDDER_URL/);
    expect(() => loadConfig({ ...vars, EMBEDDER_URL: 'not a url' })).toThrow(/EMBEDDER_URL/);
  });
});
