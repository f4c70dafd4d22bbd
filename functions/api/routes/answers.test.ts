import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../../shared/services/container.ts';
import { createWorld, httpClient, type Client } from '../../../test/http.ts';
import { DOCS } from '../../../test/fixtures.ts';
import { createGenerationServices, startWorker, type WorkerHandle } from '../../../test/generation.ts';
import { createTestServices } from '../../../test/services.ts';

let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;
let worker: WorkerHandle;
let stopConsumer: () => Promise<void>;

beforeAll(async () => {
  const env = await createGenerationServices({
    ENGINE_MODELS: JSON.stringify([{ id: 'tiny-context', contextTokens: 300, maxOutputTokens: 64 }]),
  });
  services = env.services;
  stopConsumer = env.consumer.stop;
  client = httpClient(services);
  world = await createWorld(services, { credits: '1000000', price: '1000' });
  for (const doc of [DOCS.bread, DOCS.tides])
    await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: doc });
  await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
  worker = await startWorker(services);
});
afterAll(async () => {
  await worker?.stop();
  await stopConsumer?.();
  await services?.db.close();
});

const ask = (json: Record<string, unknown>, key = world.consumer.key, headers: Record<string, string> = {}) =>
  client.call('POST', '/v1/answers', { key, json, headers });

const ledgerFor = async (requestId: string) =>
  (
    await services.db.query<{ id: string; total: bigint }>(
      `SELECT t.id, sum(e.amount)::bigint AS total FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id WHERE t.request_id = $1 GROUP BY t.id`,
      [requestId],
    )
  ).rows;

describe('POST /v1/answers', () => {
  it('waits for a cited answer whose markers and spans all check out, billed as one balanced transaction', async () => {
    const r = await ask({ query: 'How do I fix a punctured bicycle inner tube?', topK: 3 });
    expect(r.status).toBe(200);
    const a = r.body;
    expect(a).toMatchObject({ object: 'answer', status: 'succeeded', model: 'extractive' });
    expect(a.text).toMatch(/\[\d\]/);
    expect(a.citations.length).toBeGreaterThan(0);
    for (const c of a.citations) {
      expect(a.text.slice(c.sentence.start, c.sentence.end)).toBe(c.sentence.text);
      for (const s of c.sources) {
        expect(s.number).toBeGreaterThanOrEqual(1);
        expect(s.number).toBeLessThanOrEqual(a.sources.length);
        expect(s.sourceId).toBe(a.sources[s.number - 1].id);
        expect(s.contributor.wallet).toMatch(/^0x[0-9a-fA-F]{40}$/);
        expect(s.quote.text.length).toBeGreaterThan(0);
        expect(s.supported).toBe(true);
      }
    }
    for (const m of a.text.matchAll(/\[(\d+)\]/g)) expect(Number(m[1])).toBeLessThanOrEqual(a.sources.length);
    const bikes = a.citations.flatMap((c: { sources: { title: string }[] }) => c.sources.map((s) => s.title));
    expect(bikes).toContain(DOCS.bikes.title);

    const u = a.usage;
    // The data fee is what contributors are credited; the bill is it plus the adapter's and the protocol's shares.
    expect(BigInt(u.charged)).toBe(BigInt(u.dataFee) + BigInt(u.adapterFee) + BigInt(u.protocolFee));
    expect(a.attribution.sources.reduce((s: bigint, x: { amount: string }) => s + BigInt(x.amount), 0n)).toBe(
      BigInt(u.dataFee),
    );
    const creditedSources = a.attribution.sources.filter((x: { amount: string }) => x.amount !== '0').length;
    expect(BigInt(u.charged) - BigInt(u.tokenCharge)).toBe(1000n * BigInt(creditedSources));
    expect(a.attribution.formulaVersion).toBe('answer-v2');
    expect(a.attribution.receiptId).toMatch(/^rcpt_/);
    expect(a.attribution.sources.reduce((s: number, x: { weightPpm: number }) => s + x.weightPpm, 0)).toBe(1_000_000);
    const txs = await ledgerFor(a.requestId);
    expect(txs).toHaveLength(1);
    expect(txs[0]!.total).toBe(0n);
    const usage = await client.call('GET', '/v1/usage', { key: world.consumer.key });
    expect(usage.body.byKind.find((k: { kind: string }) => k.kind === 'answer').calls).toBe(1);
    expect(usage.body.balance).toBe(u.balance);
    expect(BigInt(u.balance)).toBe(1_000_000n - BigInt(u.charged));
  });

  it('runs asynchronously: 202 with an id, then GET /v1/answers/{id}', async () => {
    const r = await ask({ query: 'What causes spring tides?', mode: 'async' });
    expect(r.status).toBe(202);
    expect(['queued', 'running']).toContain(r.body.status);
    const done = await client.call('GET', `/v1/answers/${r.body.id}?wait=60`, { key: world.consumer.key });
    expect(done.body.status).toBe('succeeded');
    expect(done.body.text).toMatch(/Moon/);
    expect((await client.call('GET', `/v1/answers/${r.body.id}`, { key: world.ada.key })).status).toBe(403);
    const other = await client.call('POST', '/v1/admin/accounts', {
      key: world.admin,
      json: { kind: 'consumer', name: 'Other', credits: '1000' },
    });
    expect((await client.call('GET', `/v1/answers/${r.body.id}`, { key: other.body.apiKey.key })).status).toBe(404);
  });

  it('streams deltas, then citations, then usage and attribution', async () => {
    const res = await client.app.request('/v1/answers', {
      method: 'POST',
      headers: { authorization: `Bearer ${world.consumer.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'How often should a sourdough starter be fed?', mode: 'stream' }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = [...(await res.text()).matchAll(/event: (\S+)\ndata: (.*)\n/g)].map((m) => ({
      event: m[1]!,
      data: JSON.parse(m[2]!),
    }));
    const names = events.map((e) => e.event);
    expect(names[0]).toBe('answer.created');
    expect(names.slice(-2)).toEqual(['citations', 'done']);
    expect(names.filter((n) => n === 'delta').length).toBeGreaterThan(0);
    const streamed = events
      .filter((e) => e.event === 'delta')
      .map((e) => e.data.text)
      .join('');
    const final = events.find((e) => e.event === 'citations')!.data;
    expect(streamed).toBe(final.text); // exactly: what streams is what the answer says
    expect(final.citations.length).toBeGreaterThan(0);
    const done = events.at(-1)!.data;
    expect(BigInt(done.usage.charged)).toBeGreaterThan(0n);
    expect(done.attribution.sources.length).toBeGreaterThan(0);
  });

  it('charges once for a retried Idempotency-Key', async () => {
    const body = { query: 'Why do tides happen?', topK: 2 };
    const first = await ask(body, undefined, { 'idempotency-key': 'ans-1' });
    const again = await ask(body, undefined, { 'idempotency-key': 'ans-1' });
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await ledgerFor(first.body.requestId)).toHaveLength(1);
    expect((await ask({ ...body, topK: 3 }, undefined, { 'idempotency-key': 'ans-1' })).status).toBe(422);
  });

  it('creates one answer when the same Idempotency-Key arrives concurrently; the others are replays', async () => {
    const body = { query: 'What makes bread rise?', topK: 2 };
    const replies = await Promise.all([1, 2, 3, 4].map(() => ask(body, undefined, { 'idempotency-key': 'ans-race' })));
    expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
    expect(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(3);
    const answers = await services.db.query(`SELECT id FROM answers WHERE request_id = $1`, [
      replies[0]!.body.requestId,
    ]);
    expect(answers.rows).toHaveLength(1);
    expect(await ledgerFor(replies[0]!.body.requestId)).toHaveLength(1);
  });

  it.each([
    ['an unknown model', { query: 'tides', model: 'gpt-imaginary' }, 400, /unknown model gpt-imaginary/],
    ['an unknown adapter', { query: 'tides', adapter: 'ad_nothere' }, 404, /unknown adapter/],
    ['an empty query', { query: ' ' }, 400, /query/],
    ['a bad mode', { query: 'tides', mode: 'later' }, 400, /mode/],
    [
      'a prompt that cannot fit the model',
      { query: 'why '.repeat(400), model: 'tiny-context' },
      413,
      /prompt too large/,
    ],
  ])('refuses %s', async (_name, json, status, message) => {
    const r = await ask(json);
    expect(r.status).toBe(status);
    expect(r.body.error.message).toMatch(message);
  });

  it('answers outside the datanets honestly, citing nothing and charging no data fee', async () => {
    const r = await ask({ query: 'Who won the 1998 football world cup final in Paris?', topK: 3 });
    expect(r.body.status).toBe('succeeded');
    expect(r.body.citations).toEqual([]);
    expect(r.body.text).toMatch(/do not cover this question/);
    expect(r.body.usage.dataFee).toBe('0');
    expect(BigInt(r.body.usage.charged)).toBe(BigInt(r.body.usage.tokenCharge));
    expect(
      r.body.attribution.sources.every(
        (s: { amount: string; signals: { used: boolean } }) => s.amount === '0' && s.signals.used === false,
      ),
    ).toBe(true);
  });

  it('streams exactly the final text when a source opens with a heading that has no full stop, and pays only the source quoted', async () => {
    const texts: Record<string, string> = {
      Branches:
        'Restoring a deleted branch\nA deleted branch can be restored from the reflog with git branch and the old commit id.',
      Undo: 'To undo the last commit but keep your changes, run git reset --soft HEAD~1.',
    };
    const doc = (title: string) => ({ title, content: texts[title], contentType: 'text/plain' });
    await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, {
      key: world.bob.key,
      json: doc('Branches'),
    });
    await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: doc('Undo') });
    const res = await client.app.request('/v1/answers', {
      method: 'POST',
      headers: { authorization: `Bearer ${world.consumer.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'How do I undo my last git commit and keep my changes?', mode: 'stream', topK: 3 }),
    });
    const events = [...(await res.text()).matchAll(/event: (\S+)\ndata: (.*)\n/g)].map((m) => ({
      event: m[1]!,
      data: JSON.parse(m[2]!),
    }));
    const streamed = events
      .filter((e) => e.event === 'delta')
      .map((e) => e.data.text)
      .join('');
    const final = events.find((e) => e.event === 'citations')!.data;
    expect(streamed).toBe(final.text);
    expect(final.text).not.toMatch(/Restoring a deleted branch/);
    expect(final.citations[0].sentence.text).toBe(
      'To undo the last commit but keep your changes, run git reset --soft HEAD~1.',
    );
    // Each sentence is quoted from, cited to and supported by the one source whose text holds it.
    const usedTitles = new Set<string>();
    for (const c of final.citations)
      for (const s of c.sources) {
        expect(s.supported).toBe((texts[s.title] ?? '').includes(c.sentence.text));
        if (s.supported) usedTitles.add(s.title);
      }
    const done = events.at(-1)!.data;
    const paid = done.attribution.sources.filter((s: { amount: string }) => s.amount !== '0');
    expect(paid).toHaveLength(usedTitles.size);
    for (const p of paid) expect(p.amount).toBe('900'); // one use of a 1000 source at the 10 % protocol fee
    expect(BigInt(done.usage.dataFee)).toBe(900n * BigInt(usedTitles.size));
  });

  it('answers 402 before queueing when credits cannot cover the most the answer may cost', async () => {
    const poor = await client.call('POST', '/v1/admin/accounts', {
      key: world.admin,
      json: { kind: 'consumer', name: 'Poor', credits: '500' }, // less than one use of a 1000 source
    });
    const r = await ask({ query: 'tides', topK: 3 }, poor.body.apiKey.key);
    expect(r.status).toBe(402);
    expect(r.body.error.details.required).toBeDefined();
    const open = await services.db.query(`SELECT 1 FROM answers WHERE account_id = $1`, [poor.body.account.id]);
    expect(open.rows).toHaveLength(0);
  });
});

describe('when the queue is unreachable', () => {
  it('answers 503 with Retry-After and charges nothing', async () => {
    const broken = await createTestServices({
      JOB_QUEUE_URL: 'http://127.0.0.1:9/000000000000/nowhere',
      RESULT_QUEUE_URL: 'http://127.0.0.1:9/000000000000/nowhere-results',
      SQS_ENDPOINT: 'http://127.0.0.1:9',
    });
    const c = httpClient(broken);
    const w = await createWorld(broken);
    await c.call('POST', `/v1/datanets/${w.ada.datanet}/documents`, { key: w.ada.key, json: DOCS.tides });
    const r = await c.call('POST', '/v1/answers', { key: w.consumer.key, json: { query: 'tides' } });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('5');
    const usage = await c.call('GET', '/v1/usage', { key: w.consumer.key });
    expect(usage.body).toMatchObject({ calls: 0, spend: '0' });
    const held = await broken.db.query(`SELECT status FROM answers`);
    expect(held.rows).toEqual([{ status: 'failed' }]);
    await broken.db.close();
  });
});
