import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMarkerFilter } from '../shared/core/marker-stream.ts';
import type { Db } from '../shared/db/index.ts';
import { openPg } from '../shared/db/pg.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { http, startApiProcess, type ApiProcess } from './api-process.ts';
import { FAKE_BASE_MODEL, startFakeEngine, type FakeEngine } from './fake-engine.ts';
import { DOCS } from './fixtures.ts';
import { WALLETS } from './http.ts';
import { postgresInstalled } from './postgres-server.ts';
import { testDatabaseUrl } from './services.ts';

// Streams across process boundaries, as on AWS where the results consumer is a Lambda of its own:
// clients stream from process A, which neither runs a worker nor consumes the results queue;
// process B runs the GPU worker (relaying to a FAKE OpenAI-compatible engine that streams a word
// at a time, so an answer has many deltas) and is the only consumer of the results queue. Both are
// real `npm start` processes on one real PostgreSQL database; A hears B through the database.
const ADMIN = 'cp_live_streamacrossprocessesadmin00001';
const MODELS = JSON.stringify([
  { id: FAKE_BASE_MODEL, inputPricePerMillion: '1000000', outputPricePerMillion: '2000000' },
]);

interface SseEvent {
  event: string;
  data: string;
}

/** Reads a text/event-stream as it arrives; `onEvent` returning false stops reading (and aborts the request). */
async function readSse(
  res: Response,
  onEvent: (e: SseEvent) => boolean | void,
  abort?: AbortController,
): Promise<void> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = [...block.matchAll(/^data: (.*)$/gm)].map((m) => m[1]).join('\n');
      if (onEvent({ event, data }) === false) {
        abort?.abort();
        await reader.cancel().catch(() => {});
        return;
      }
    }
  }
}

// The closed answer's text is parseAnswer's: each claim's markers after it, gaps normalised. Its words are the stream's.
const words = (s: string) =>
  s
    .replace(/\[\d+\]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

const HELD_QUESTION = 'Why are there two high tides a day?';
let openGate = () => {};
const disconnectGate = new Promise<void>((resolve) => (openGate = resolve));

describe.skipIf(!postgresInstalled())('streaming from one API process while another consumes the results', () => {
  let a: ApiProcess;
  let b: ApiProcess;
  let db: Db;
  let engine: FakeEngine;
  let key: string;

  beforeAll(async () => {
    const url = await testDatabaseUrl();
    db = openPg(url, { max: 2 });
    engine = await startFakeEngine({
      delayMsPerToken: 15,
      // The disconnect test's generation ends only when the test lets it (after it has seen the state).
      holdBeforeFinish: (chat) =>
        chat.messages.some((m) => m.content.includes(HELD_QUESTION)) ? disconnectGate : undefined,
    });
    const common = { DATABASE_URL: url, CITEPAY_ADMIN_KEY: ADMIN, ENGINE_MODELS: MODELS };
    a = await startApiProcess({ ...common, START_WORKER: 'false', START_RESULTS_CONSUMER: 'false' });
    b = await startApiProcess({ ...common, GENERATOR_ENGINE_URL: engine.url });
    const ada = await http(a.url, 'POST', '/v1/admin/accounts', {
      key: ADMIN,
      json: { kind: 'contributor', name: 'Ada', wallet: WALLETS.ada },
    });
    const dn = await http(a.url, 'POST', '/v1/datanets', {
      key: ada.body.apiKey.key,
      json: { name: 'Ada notes', pricePerSource: '1000' },
    });
    for (const doc of [DOCS.tides, DOCS.bikes])
      expect(
        (await http(a.url, 'POST', `/v1/datanets/${dn.body.id}/documents`, { key: ada.body.apiKey.key, json: doc }))
          .status,
      ).toBe(201);
    const consumer = await http(a.url, 'POST', '/v1/admin/accounts', {
      key: ADMIN,
      json: { kind: 'consumer', name: 'Acme', credits: '100000000' },
    });
    key = consumer.body.apiKey.key;
  });
  afterAll(async () => {
    openGate(); // a test that failed before opening it must not leave a generation held
    await b?.stop();
    await a?.stop();
    await engine?.stop();
    await db?.close();
  });

  /** The stored deltas (kept a while after the close) in seq order, through the stream's marker filter. */
  const storedStream = async (answerId: string) => {
    const rows = (
      await db.query<{ seq: number; text: string }>(
        `SELECT seq, text FROM answer_deltas WHERE answer_id = $1 ORDER BY seq`,
        [answerId],
      )
    ).rows;
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i));
    const sources = (await http(a.url, 'GET', `/v1/answers/${answerId}`, { key })).body.sources.length as number;
    const filter = createMarkerFilter(sources);
    return { deltas: rows.length, text: rows.map((r) => filter.push(r.text)).join('') + filter.end() };
  };
  const charges = async (answerId: string) =>
    (
      await db.query(
        `SELECT 1 FROM ledger_transactions t JOIN answers a ON a.request_id = t.request_id WHERE a.id = $1`,
        [answerId],
      )
    ).rows.length;

  it('POST /v1/answers mode stream on A: every delta in order, then one citations and one done event', async () => {
    const res = await fetch(`${a.url}/v1/answers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'What causes the tides?', model: FAKE_BASE_MODEL, mode: 'stream' }),
    });
    expect(res.status).toBe(200);
    const events: { event: string; data: any }[] = [];
    await readSse(res, (e) => void events.push({ event: e.event, data: JSON.parse(e.data) }));
    const names = events.map((e) => e.event);
    expect(names[0]).toBe('answer.created');
    expect(names.filter((n) => n === 'citations')).toHaveLength(1);
    expect(names.filter((n) => n === 'done')).toHaveLength(1);
    expect(names.slice(-2)).toEqual(['citations', 'done']);
    expect(names).not.toContain('error');
    const id = events[0]!.data.id as string;
    const streamed = events
      .filter((e) => e.event === 'delta')
      .map((e) => e.data.text as string)
      .join('');
    const final = events.find((e) => e.event === 'citations')!.data;
    expect(words(streamed)).toBe(words(final.text));
    expect(final.citations.length).toBeGreaterThan(0);
    // B wrote the deltas; A streamed all of them, in seq order, and nothing else.
    const stored = await storedStream(id);
    expect(stored.deltas).toBeGreaterThan(1);
    expect(streamed).toBe(stored.text);
    expect(BigInt(events.at(-1)!.data.usage.charged)).toBeGreaterThan(0n);
    expect(await charges(id)).toBe(1);
  });

  it('chat completions stream:true on A through the openai SDK: the deltas spell the answer, one final chunk, then usage', async () => {
    const openai = new OpenAI({ apiKey: key, baseURL: `${a.url}/v1` });
    const stream = await openai.chat.completions.create({
      model: FAKE_BASE_MODEL,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'How do I find the hole in a bicycle inner tube?' }],
    });
    let text = '';
    let id = '';
    const finals: unknown[] = [];
    const usages: unknown[] = [];
    for await (const chunk of stream) {
      id = chunk.id;
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]?.finish_reason) finals.push(chunk);
      if (chunk.usage) usages.push(chunk.usage);
    }
    expect(finals).toHaveLength(1);
    expect(
      (finals[0] as { choices: { finish_reason: string }[]; citations: unknown[] }).choices[0]!.finish_reason,
    ).toBe('stop');
    expect((finals[0] as { citations: unknown[] }).citations.length).toBeGreaterThan(0);
    expect(usages).toHaveLength(1);
    const answerId = id.replace(/^chatcmpl-/, '');
    const answer = await http(a.url, 'GET', `/v1/answers/${answerId}`, { key });
    expect(answer.body.status).toBe('succeeded');
    expect(words(text)).toBe(words(answer.body.text));
    expect(text).toBe((await storedStream(answerId)).text);
    expect(await charges(answerId)).toBe(1);
  });

  it('a client that disconnects mid-stream does not stop completion or billing', async () => {
    const abort = new AbortController();
    const res = await fetch(`${a.url}/v1/answers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: HELD_QUESTION, model: FAKE_BASE_MODEL, mode: 'stream' }),
      signal: abort.signal,
    });
    let id = '';
    let sawDelta = false;
    // Hang up on the first delta: the answer is still being generated.
    await readSse(
      res,
      (e) => {
        if (e.event === 'answer.created') id = JSON.parse(e.data).id;
        if (e.event === 'delta') sawDelta = true;
        return !sawDelta;
      },
      abort,
    );
    expect(sawDelta).toBe(true);
    // Still generating when the client left: the engine holds the end until now, however slow the machine.
    expect((await http(a.url, 'GET', `/v1/answers/${id}`, { key })).body.status).toMatch(/^(queued|running)$/);
    openGate();
    await vi.waitFor(
      async () => {
        expect((await http(a.url, 'GET', `/v1/answers/${id}?wait=5`, { key })).body.status).toBe('succeeded');
      },
      { timeout: 90_000, interval: 200 },
    );
    expect(await charges(id)).toBe(1);
  });

  it('leaves a database the ledger checker passes', async () => {
    expect((await checkLedger(db)).filter((c) => !c.ok)).toEqual([]);
  });
});
