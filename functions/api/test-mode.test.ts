import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../shared/services/container.ts';
import { checkLedger } from '../../shared/services/ledger-check.ts';
import { createWorld, httpClient, type Client } from '../../test/http.ts';
import { DOCS } from '../../test/fixtures.ts';
import { createGenerationServices, startWorker, type WorkerHandle } from '../../test/generation.ts';

// Test mode, Stripe's convention: cp_test_ keys act on test balances that never mix with live money.
// Every billed route is called with test keys; live money (every account's live balance, every live
// ledger line, the open live receipts settlement would take) must be exactly as it was.

let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;
let worker: WorkerHandle;
let stopConsumer: () => Promise<void>;
const keys = { consumer: '', ada: '', bob: '', admin: '' };

const newKey = async (accountId: string, mode: 'live' | 'test', by = world.admin) => {
  const r = await client.call('POST', `/v1/admin/accounts/${accountId}/keys`, { key: by, json: { mode } });
  return r;
};
const adminAccountId = async () =>
  (
    await services.db.query<{ account_id: string }>(
      `SELECT account_id FROM api_keys WHERE role = 'admin' ORDER BY created_at LIMIT 1`,
    )
  ).rows[0]!.account_id;

/** Everything live: each account's live balance, and how many live lines and open live receipts exist. */
async function liveMoney() {
  const balances = await services.db.query<{ account_id: string; balance: string }>(
    `SELECT account_id, sum(amount)::text AS balance FROM ledger_entries WHERE livemode GROUP BY account_id ORDER BY account_id`,
  );
  const lines = await services.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ledger_entries WHERE livemode`);
  const receipts = await services.db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM receipts WHERE livemode AND epoch IS NULL`,
  );
  return { balances: balances.rows, lines: lines.rows[0]!.n, receipts: receipts.rows[0]!.n };
}

beforeAll(async () => {
  const env = await createGenerationServices();
  services = env.services;
  stopConsumer = env.consumer.stop;
  client = httpClient(services);
  world = await createWorld(services, { credits: '1000000', price: '1000' });
  for (const doc of [DOCS.bread, DOCS.tides])
    await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: doc });
  await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
  keys.consumer = (await newKey(world.consumer.id, 'test')).body.key;
  keys.ada = (await newKey(world.ada.id, 'test')).body.key;
  keys.bob = (await newKey(world.bob.id, 'test')).body.key;
  keys.admin = (await newKey(await adminAccountId(), 'test')).body.key;
  worker = await startWorker(services);
});
afterAll(async () => {
  await worker?.stop();
  await stopConsumer?.();
  await services?.db.close();
});

describe('test mode', () => {
  it('issues cp_test_ keys that say so; a test key without test credits gets 402 (livemode false) whatever the live balance', async () => {
    expect(keys.consumer).toMatch(/^cp_test_/);
    const listed = await client.call('GET', '/v1/keys', { key: world.consumer.key });
    expect(listed.body.data.map((k: { livemode: boolean }) => k.livemode).sort()).toEqual([false, true]);
    const r = await client.call('POST', '/v1/retrieve', { key: keys.consumer, json: { query: 'bread', topK: 2 } });
    expect(r.status).toBe(402);
    expect(r.body.error.details).toEqual({ balance: '0', held: '0', available: '0', livemode: false });
  });

  it('an admin grants test credits freely; they never show in the live balance', async () => {
    const before = await liveMoney();
    const grant = await client.call('POST', `/v1/admin/accounts/${world.consumer.id}/credits`, {
      key: world.admin,
      json: { amount: '500000', livemode: false },
    });
    expect(grant.status).toBe(201);
    expect(grant.body).toMatchObject({ balance: '500000', livemode: false });
    const account = await client.call('GET', `/v1/admin/accounts/${world.consumer.id}`, { key: world.admin });
    expect(account.body).toMatchObject({ balance: '1000000', testBalance: '500000' });
    expect(await liveMoney()).toEqual(before);
  });

  it('retrieve, answers, chat and embeddings with a test key say livemode false, charge test credits and move no live money', async () => {
    const before = await liveMoney();
    const retrieve = await client.call('POST', '/v1/retrieve', {
      key: keys.consumer,
      json: { query: 'how long should bread dough rise?', topK: 3 },
    });
    expect(retrieve.status).toBe(200);
    expect(retrieve.body).toMatchObject({ livemode: false });
    expect(BigInt(retrieve.body.usage.charged)).toBeGreaterThan(0n);
    expect(BigInt(retrieve.body.usage.balance)).toBe(500_000n - BigInt(retrieve.body.usage.charged));

    const answer = await client.call('POST', '/v1/answers', {
      key: keys.consumer,
      json: { query: 'how do I fix a bicycle puncture?' },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'succeeded', livemode: false });
    expect(BigInt(answer.body.usage.charged)).toBeGreaterThan(0n);

    const chat = await client.call('POST', '/v1/chat/completions', {
      key: keys.consumer,
      json: { model: 'extractive', messages: [{ role: 'user', content: 'when are tides highest?' }] },
    });
    expect(chat.status).toBe(200);
    expect(chat.body.citepay).toMatchObject({ livemode: false });

    const embeddings = await client.call('POST', '/v1/embeddings', {
      key: keys.consumer,
      json: { model: 'use-lite-512', input: 'test mode' },
    });
    expect(embeddings.status).toBe(200);
    expect(embeddings.body).toMatchObject({ livemode: false });

    expect(await liveMoney()).toEqual(before);
    expect((await checkLedger(services.db)).filter((c) => !c.ok)).toEqual([]);
  });

  it('/v1/usage and /v1/earnings keep live and test apart', async () => {
    const liveCall = await client.call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      json: { query: 'how long should bread dough rise?', topK: 3 },
    });
    expect(liveCall.body).toMatchObject({ livemode: true });
    const live = await client.call('GET', '/v1/usage', { key: world.consumer.key });
    const test = await client.call('GET', '/v1/usage', { key: keys.consumer });
    expect(live.body).toMatchObject({
      livemode: true,
      calls: 1,
      credited: '1000000',
      spend: liveCall.body.usage.charged,
    });
    expect(live.body.byKind).toEqual([{ kind: 'retrieve', calls: 1, spend: liveCall.body.usage.charged }]);
    expect(test.body).toMatchObject({ livemode: false, credited: '500000' });
    expect(test.body.byKind.map((k: { kind: string }) => k.kind).sort()).toEqual(['answer', 'embedding', 'retrieve']);
    expect(BigInt(test.body.balance)).toBe(500_000n - BigInt(test.body.spend));

    const adaLive = await client.call('GET', '/v1/earnings', { key: world.ada.key });
    const adaTest = await client.call('GET', '/v1/earnings', { key: keys.ada });
    expect(adaLive.body).toMatchObject({ livemode: true });
    expect(adaTest.body).toMatchObject({ livemode: false, settled: '0' });
    const liveCredited = liveCall.body.attribution.sources
      .filter((s: { wallet: string }) => s.wallet.toLowerCase() === '0x70997970c51812dc3a010c7d01b50e0d17dc79c8')
      .reduce((a: bigint, s: { amount: string }) => a + BigInt(s.amount), 0n);
    expect(BigInt(adaLive.body.total)).toBe(liveCredited);
    expect(BigInt(adaTest.body.total)).toBeGreaterThan(0n);
  });

  it('a live key is never charged test credits: without live credits it gets 402 even with test credits', async () => {
    const trial = await client.call('POST', '/v1/admin/accounts', {
      key: world.admin,
      json: { kind: 'consumer', name: 'Trial', credits: '300000', keyMode: 'test' },
    });
    expect(trial.status).toBe(201);
    expect(trial.body).toMatchObject({ balance: '300000', livemode: false });
    expect(trial.body.apiKey.key).toMatch(/^cp_test_/);
    const liveKey = (await newKey(trial.body.account.id, 'live')).body.key;
    const r = await client.call('POST', '/v1/retrieve', { key: liveKey, json: { query: 'bread', topK: 2 } });
    expect(r.status).toBe(402);
    expect(r.body.error.details).toMatchObject({ balance: '0', livemode: true });
    const ok = await client.call('POST', '/v1/retrieve', {
      key: trial.body.apiKey.key,
      json: { query: 'bread', topK: 2 },
    });
    expect(ok.body).toMatchObject({ livemode: false });
  });

  it('one Idempotency-Key on a live and a test key: two calls, each charged in its own mode', async () => {
    const headers = { 'idempotency-key': 'same-key-both-modes' };
    const json = { query: 'tides and the moon', topK: 2 };
    const test = await client.call('POST', '/v1/retrieve', { key: keys.consumer, json, headers });
    const live = await client.call('POST', '/v1/retrieve', { key: world.consumer.key, json, headers });
    expect([test.body.livemode, live.body.livemode]).toEqual([false, true]);
    expect(live.headers.get('idempotent-replayed')).toBeNull();
    expect(live.body.attribution.receiptId).not.toBe(test.body.attribution.receiptId);
  });

  it('a test admin key issues test keys and grants test credits, never live ones', async () => {
    const before = await liveMoney();
    expect(
      (
        await client.call('POST', `/v1/admin/accounts/${world.consumer.id}/credits`, {
          key: keys.admin,
          json: { amount: '1000' },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await client.call('POST', `/v1/admin/accounts/${world.consumer.id}/credits`, {
          key: keys.admin,
          json: { amount: '1000', livemode: false },
        })
      ).status,
    ).toBe(201);
    expect((await newKey(world.consumer.id, 'live', keys.admin)).status).toBe(403);
    expect((await newKey(world.consumer.id, 'test', keys.admin)).status).toBe(201);
    expect(
      (
        await client.call('POST', '/v1/admin/accounts', {
          key: keys.admin,
          json: { kind: 'consumer', name: 'x', credits: '5' },
        })
      ).status,
    ).toBe(403);
    expect((await client.call('POST', '/v1/admin/settlements', { key: keys.admin })).status).toBe(403);
    expect(await liveMoney()).toEqual(before);
  });

  it('no sequence of test-key calls moves live money (property)', async () => {
    const call = fc.oneof(
      fc.record({
        kind: fc.constant('retrieve' as const),
        query: fc.constantFrom('bread', 'tides', 'bicycle puncture', 'nothing at all'),
        topK: fc.integer({ min: 1, max: 5 }),
      }),
      fc.record({ kind: fc.constant('embeddings' as const), input: fc.string({ minLength: 1, maxLength: 40 }) }),
      fc.record({ kind: fc.constant('credits' as const), amount: fc.integer({ min: 1, max: 10_000 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 4 }), async (calls) => {
        const before = await liveMoney();
        for (const c of calls) {
          const r =
            c.kind === 'retrieve'
              ? await client.call('POST', '/v1/retrieve', {
                  key: keys.consumer,
                  json: { query: c.query, topK: c.topK },
                })
              : c.kind === 'embeddings'
                ? await client.call('POST', '/v1/embeddings', {
                    key: keys.consumer,
                    json: { model: 'use-lite-512', input: c.input },
                  })
                : await client.call('POST', `/v1/admin/accounts/${world.consumer.id}/credits`, {
                    key: keys.admin,
                    json: { amount: String(c.amount), livemode: false },
                  });
          expect([200, 201, 402]).toContain(r.status);
          if (r.status !== 402) expect(r.body.livemode).toBe(false);
        }
        expect(await liveMoney()).toEqual(before);
      }),
      { numRuns: 8 },
    );
    expect((await checkLedger(services.db)).filter((c) => !c.ok)).toEqual([]);
  });
});

describe('the test-mode wall: a cp_test_ key reaches test things only', () => {
  it('cannot revoke, or even list, live keys; a live key may revoke a test key', async () => {
    const spareLive = (await newKey(world.consumer.id, 'live')).body as { id: string; key: string };
    const spareTest = (await newKey(world.consumer.id, 'test')).body as { id: string; key: string };
    const r = await client.call('DELETE', `/v1/keys/${spareLive.id}`, { key: keys.consumer });
    expect(r.status).toBe(404);
    expect((await client.call('GET', '/v1/usage', { key: spareLive.key })).status).toBe(200);
    const listed = await client.call('GET', '/v1/keys', { key: keys.consumer });
    expect(listed.body.data.length).toBeGreaterThan(0);
    expect(listed.body.data.every((k: { livemode: boolean }) => !k.livemode)).toBe(true);
    expect((await client.call('DELETE', `/v1/keys/${spareTest.id}`, { key: keys.consumer })).status).toBe(200);
    const other = (await newKey(world.consumer.id, 'test')).body as { id: string };
    expect((await client.call('DELETE', `/v1/keys/${other.id}`, { key: world.consumer.key })).status).toBe(200);
    // A test admin key neither revokes live keys nor sees a live balance.
    expect((await client.call('DELETE', `/v1/keys/${spareLive.id}`, { key: keys.admin })).status).toBe(404);
    const account = await client.call('GET', `/v1/admin/accounts/${world.consumer.id}`, { key: keys.admin });
    expect(account.status).toBe(200);
    expect(account.body.balance).toBeNull();
    expect(account.body.keys.every((k: { livemode: boolean }) => !k.livemode)).toBe(true);
  });

  it('cannot read a live receipt or a live answer (with its query text); the live key and the test key each read their own', async () => {
    const liveAnswer = await client.call('POST', '/v1/answers', {
      key: world.consumer.key,
      json: { query: 'a private question about bicycle punctures' },
    });
    expect(liveAnswer.status).toBe(200);
    const liveReceipt = liveAnswer.body.attribution.receiptId as string;
    for (const key of [keys.consumer, keys.admin, keys.ada]) {
      const receipt = await client.call('GET', `/v1/receipts/${liveReceipt}`, { key });
      expect(receipt.status).toBe(404);
      expect(JSON.stringify(receipt.body)).not.toContain('livemode');
    }
    for (const key of [keys.consumer, keys.admin]) {
      const answer = await client.call('GET', `/v1/answers/${liveAnswer.body.id}`, { key });
      expect(answer.status).toBe(404);
      expect(JSON.stringify(answer.body)).not.toContain('private question');
    }
    expect((await client.call('GET', `/v1/receipts/${liveReceipt}`, { key: world.consumer.key })).body).toMatchObject({
      livemode: true,
    });
    expect((await client.call('GET', `/v1/receipts/${liveReceipt}`, { key: world.admin })).status).toBe(200);
    expect((await client.call('GET', `/v1/answers/${liveAnswer.body.id}`, { key: world.consumer.key })).status).toBe(
      200,
    );

    const testAnswer = await client.call('POST', '/v1/answers', {
      key: keys.consumer,
      json: { query: 'how do I fix a bicycle puncture?' },
    });
    expect(testAnswer.body.livemode).toBe(false);
    expect((await client.call('GET', `/v1/answers/${testAnswer.body.id}`, { key: keys.consumer })).status).toBe(200);
    expect(
      (await client.call('GET', `/v1/receipts/${testAnswer.body.attribution.receiptId}`, { key: keys.consumer })).body,
    ).toMatchObject({ livemode: false });
  });
});
