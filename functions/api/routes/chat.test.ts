import { serve, type ServerType } from '@hono/node-server';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../../shared/services/container.ts';
import { createApp } from '../app.ts';
import { createWorld, httpClient } from '../../../test/http.ts';
import { DOCS } from '../../../test/fixtures.ts';
import { createGenerationServices, startWorker, type WorkerHandle } from '../../../test/generation.ts';

// The official OpenAI SDK, pointed at citepay over real HTTP.
let services: Services;
let server: ServerType;
let worker: WorkerHandle;
let stopConsumer: () => Promise<void>;
let openai: OpenAI;

beforeAll(async () => {
  const env = await createGenerationServices();
  services = env.services;
  stopConsumer = env.consumer.stop;
  const world = await createWorld(services, { credits: '1000000' });
  const { call } = httpClient(services);
  for (const doc of [DOCS.bread, DOCS.tides])
    await call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: doc });
  await call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
  worker = await startWorker(services);
  server = serve({ fetch: createApp(services).fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  const address = server.address() as { port: number };
  openai = new OpenAI({ baseURL: `http://127.0.0.1:${address.port}/v1`, apiKey: world.consumer.key, maxRetries: 0 });
});
afterAll(async () => {
  server?.close();
  await worker?.stop();
  await stopConsumer?.();
  await services?.db.close();
});

type Cited = { citations: { sentence: { text: string }; sources: { number: number; documentId: string }[] }[] };

describe('OpenAI-compatible API through the openai SDK', () => {
  it('lists models', async () => {
    const models = await openai.models.list();
    expect(models.data.map((m) => m.id)).toContain('extractive');
  });

  it('returns a normal completion with citations on the message', async () => {
    const completion = await openai.chat.completions.create({
      model: 'extractive',
      messages: [
        { role: 'system', content: 'You are a helpful assistant.' },
        { role: 'user', content: 'I like baking.' },
        { role: 'assistant', content: 'Great!' },
        { role: 'user', content: 'What is a sourdough starter made of?' },
      ],
    });
    expect(completion.object).toBe('chat.completion');
    const message = completion.choices[0]!.message as (typeof completion.choices)[0]['message'] & Cited;
    expect(message.role).toBe('assistant');
    expect(message.content).toMatch(/flour and water[^[]*\[\d\]/);
    expect(message.citations.length).toBeGreaterThan(0);
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
  });

  it('streams chunks, with the citations on the final chunk', async () => {
    const stream = await openai.chat.completions.create({
      model: 'extractive',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'How do I find the hole in a bicycle inner tube?' }],
    });
    let text = '';
    let citations: Cited['citations'] | undefined;
    let finish: string | null = null;
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]?.finish_reason) {
        finish = chunk.choices[0].finish_reason;
        citations = (chunk as unknown as Cited).citations;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toMatch(/\[\d\]/);
    expect(finish).toBe('stop');
    expect(citations!.length).toBeGreaterThan(0);
    expect(usage).toBeDefined();
  });

  it('creates one answer for concurrent completions with one Idempotency-Key; the others are marked replays', async () => {
    const body = { model: 'extractive', messages: [{ role: 'user' as const, content: 'What causes the tides?' }] };
    const replies = await Promise.all(
      [1, 2, 3].map(() =>
        openai.chat.completions.create(body, { headers: { 'Idempotency-Key': 'chat-race' } }).withResponse(),
      ),
    );
    expect(new Set(replies.map((r) => r.data.id)).size).toBe(1);
    expect(replies.filter((r) => r.response.headers.get('idempotent-replayed') === 'true')).toHaveLength(2);
    const answerId = replies[0]!.data.id.replace(/^chatcmpl-/, '');
    const charges = await services.db.query(
      `SELECT 1 FROM ledger_transactions t JOIN answers a ON a.request_id = t.request_id WHERE a.id = $1`,
      [answerId],
    );
    expect(charges.rows).toHaveLength(1);
  });

  it('refuses an empty conversation and a conversation that does not end with the user', async () => {
    await expect(openai.chat.completions.create({ model: 'extractive', messages: [] })).rejects.toMatchObject({
      status: 400,
    });
    await expect(
      openai.chat.completions.create({
        model: 'extractive',
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello' },
        ],
      }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'tides?' }] }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('refuses a bad key the way the SDK expects', async () => {
    const bad = new OpenAI({ baseURL: openai.baseURL, apiKey: 'cp_live_notarealkeynotarealkey0000', maxRetries: 0 });
    await expect(bad.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});
