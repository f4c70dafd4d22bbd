import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Services } from '../shared/services/container.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { deployTestChain, type TestChain } from './chain.ts';
import { DOCS } from './fixtures.ts';
import { createGenerationServices, startWorker, type WorkerHandle } from './generation.ts';
import { createWorld, httpClient, WALLETS, type Client } from './http.ts';

// Issue 17: a random sequence of API calls of every kind, with live and test keys, ends with the
// chain-aware ledger check green. The calls go through the app as a client sends them (a real
// worker generates the answers; settlements and relayed claims land on the shared anvil). Each
// reply must be one the API documents for that call (never a 5xx), and after each sequence every
// answer has closed, a settlement has run, and the ledger, its running balances and the chain agree.
// Independently of the ledger's own rules: a test key's calls never move a live balance.

type Mode = 'live' | 'test';
const QUERIES = [
  'how long should bread dough rise?',
  'what causes the tides?',
  'how do I fix a flat bicycle tyre?',
  'spring tides and the moon',
];

let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;
let tc: TestChain;
let worker: WorkerHandle;
let stopConsumer: () => Promise<void>;
const keys: Record<Mode, string> = { live: '', test: '' };
const answerIds: { id: string; mode: Mode }[] = [];

beforeAll(async () => {
  tc = await deployTestChain();
  const env = await createGenerationServices({ ANSWER_DEADLINE_SECONDS: '300' }, { chain: tc.chain });
  services = env.services;
  stopConsumer = env.consumer.stop;
  client = httpClient(services);
  world = await createWorld(services, { credits: '50000000', price: '2000' });
  for (const doc of [DOCS.bread, DOCS.tides])
    await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: doc });
  await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
  keys.live = world.consumer.key;
  const testKey = await client.call('POST', `/v1/admin/accounts/${world.consumer.id}/keys`, {
    key: world.admin,
    json: { mode: 'test' },
  });
  keys.test = testKey.body.key;
  const grant = await client.call('POST', `/v1/admin/accounts/${world.consumer.id}/credits`, {
    key: world.admin,
    json: { amount: '50000000', livemode: false },
  });
  expect(grant.status).toBe(201);
  worker = await startWorker(services);
}, 600_000);

afterAll(async () => {
  await worker?.stop();
  await stopConsumer?.();
  await services?.db.close();
});

/** The consumer's live balance (what a test key must never move). */
const liveBalance = async () =>
  (
    await services.db.query<{ balance: string }>(
      `SELECT coalesce(sum(amount), 0)::text AS balance FROM ledger_entries WHERE livemode AND account_id = $1`,
      [world.consumer.id],
    )
  ).rows[0]!.balance;

/** One call: sends it, checks its status is one documented for it, and records what must be awaited. */
type Call = { name: string; run: () => Promise<void> };

const expectStatus = (name: string, status: number, allowed: number[], body: unknown) =>
  expect(allowed, `${name} answered ${status}: ${JSON.stringify(body)}`).toContain(status);

/** A test-key call must leave the live balance as it was (answers of live keys may still close meanwhile: none are open). */
async function inMode(mode: Mode, call: () => Promise<void>) {
  if (mode === 'live') return call();
  await drainAnswers(); // no live answer closing under the comparison
  const before = await liveBalance();
  await call();
  expect(await liveBalance()).toBe(before);
}

const mode = fc.constantFrom<Mode>('live', 'test');
const query = fc.constantFrom(...QUERIES);

const calls: fc.Arbitrary<Call> = fc.oneof(
  fc.record({ mode, query, topK: fc.integer({ min: 1, max: 3 }) }).map(({ mode, query, topK }) => ({
    name: `retrieve ${mode}`,
    run: () =>
      inMode(mode, async () => {
        const r = await client.call('POST', '/v1/retrieve', { key: keys[mode], json: { query, topK } });
        expectStatus('retrieve', r.status, [200, 402], r.body);
      }),
  })),
  fc.record({ mode, query, idem: fc.uuid() }).map(({ mode, query, idem }) => ({
    name: `retrieve ${mode} with an Idempotency-Key, sent twice`,
    run: () =>
      inMode(mode, async () => {
        const send = () =>
          client.call('POST', '/v1/retrieve', {
            key: keys[mode],
            json: { query, topK: 2 },
            headers: { 'idempotency-key': idem },
          });
        const [first, second] = [await send(), await send()];
        expectStatus('keyed retrieve', first.status, [200, 402], first.body);
        expect(second.status).toBe(first.status);
        if (first.status === 200) expect(second.body.usage).toEqual(first.body.usage); // a replay, not a second charge
      }),
  })),
  fc.record({ mode, query }).map(({ mode, query }) => ({
    name: `answer ${mode}`,
    run: () =>
      inMode(mode, async () => {
        const r = await client.call('POST', '/v1/answers', { key: keys[mode], json: { query, mode: 'async' } });
        expectStatus('answer', r.status, [202, 402], r.body);
        if (r.status === 202) answerIds.push({ id: r.body.id, mode });
      }),
  })),
  fc.record({ mode, query }).map(({ mode, query }) => ({
    name: `chat completion ${mode}`,
    run: () =>
      inMode(mode, async () => {
        const r = await client.call('POST', '/v1/chat/completions', {
          key: keys[mode],
          json: { model: 'extractive', messages: [{ role: 'user', content: query }] },
        });
        expectStatus('chat', r.status, [200, 202, 400, 402], r.body);
      }),
  })),
  fc.record({ mode, query }).map(({ mode, query }) => ({
    name: `embeddings ${mode}`,
    run: () =>
      inMode(mode, async () => {
        const r = await client.call('POST', '/v1/embeddings', { key: keys[mode], json: { input: query } });
        expectStatus('embeddings', r.status, [200, 400, 402], r.body);
      }),
  })),
  fc.record({ mode }).map(({ mode }) => ({
    name: `usage ${mode}`,
    run: async () => {
      const r = await client.call('GET', '/v1/usage', { key: keys[mode] });
      expectStatus('usage', r.status, [200], r.body);
    },
  })),
  fc
    .record({ owner: fc.constantFrom<'ada' | 'bob'>('ada', 'bob'), n: fc.integer({ min: 0, max: 1_000_000 }) })
    .map(({ owner, n }) => ({
      name: `upload by ${owner}`,
      run: async () => {
        const r = await client.call('POST', `/v1/datanets/${world[owner].datanet}/documents`, {
          key: world[owner].key,
          json: { title: `Note ${n}`, content: `Note ${n}: rising dough doubles in size; the moon pulls the tides.` },
        });
        expectStatus('upload', r.status, [201], r.body);
      },
    })),
  fc.constant<Call>({
    name: 'settle',
    run: async () => {
      const r = await client.call('POST', '/v1/admin/settlements', { key: world.admin, json: {} });
      expectStatus('settle', r.status, [200], r.body);
      expect(['confirmed', 'idle', 'waiting', 'busy']).toContain(r.body.status);
    },
  }),
  fc.constantFrom<keyof typeof WALLETS>('ada', 'bob').map((who) => ({
    name: `claim for ${who}`,
    run: async () => {
      const r = await client.call('POST', `/v1/payouts/${WALLETS[who]}/claim`, { key: keys.live });
      expectStatus('claim', r.status, [200, 404, 409], r.body);
    },
  })),
);

/** Every answer asked so far has closed (succeeded, failed or expired). */
async function drainAnswers() {
  for (const { id, mode } of answerIds.splice(0))
    await vi.waitFor(
      async () => {
        const r = await client.call('GET', `/v1/answers/${id}?wait=5`, { key: keys[mode] });
        expect(['succeeded', 'failed', 'expired']).toContain(r.body.status);
      },
      { timeout: 300_000, interval: 100 },
    );
}

describe('a random sequence of API calls, live and test', () => {
  it('ends with every answer closed and the chain-aware ledger check green', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(calls, { minLength: 4, maxLength: 12 }), async (sequence) => {
        for (const call of sequence) await call.run();
        await drainAnswers();
        const settled = await client.call('POST', '/v1/admin/settlements', { key: world.admin, json: {} });
        expect(['confirmed', 'idle']).toContain(settled.body.status);
        const failed = (await checkLedger(services.db, { chain: tc.chain })).filter((c) => !c.ok);
        expect(failed).toEqual([]);
      }),
      { numRuns: 4, endOnFailure: true },
    );
  }, 1_200_000);
});
