import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Services } from '../../../shared/services/container.ts';
import { hashRequest } from '../../../shared/services/idempotency.ts';
import { createTestServices } from '../../../test/services.ts';
import { createWorld, httpClient, type Client } from '../../../test/http.ts';
import { DOCS } from '../../../test/fixtures.ts';
import { vectorSearchFaults } from '../../../test/vector-faults.ts';

let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;
const docIds: Record<string, string> = {};

beforeAll(async () => {
  services = await createTestServices();
  client = httpClient(services);
  world = await createWorld(services, { credits: '100000', price: '1000' });
  for (const [name, doc] of [
    ['bread', DOCS.bread],
    ['tides', DOCS.tides],
  ] as const) {
    const r = await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, {
      key: world.ada.key,
      json: doc,
    });
    docIds[name] = r.body.document.id;
  }
  const r = await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, {
    key: world.bob.key,
    json: DOCS.bikes,
  });
  docIds.bikes = r.body.document.id;
});
afterAll(() => services.db.close());

const retrieve = (json: unknown, key = world.consumer.key, headers: Record<string, string> = {}) =>
  client.call('POST', '/v1/retrieve', { key, json, headers });

const ledgerSums = async () =>
  (
    await services.db.query<{ transaction_id: string; total: bigint }>(
      `SELECT transaction_id, sum(amount)::bigint AS total FROM ledger_entries GROUP BY transaction_id`,
    )
  ).rows;

describe('POST /v1/retrieve', () => {
  it('returns the right source with everything a citation needs, and bills it as one balanced transaction', async () => {
    const r = await retrieve({ query: 'how do I mend a punctured inner tube on my bike?', topK: 3 });
    expect(r.status).toBe(200);
    const top = r.body.sources[0];
    expect(top).toMatchObject({
      documentId: docIds.bikes,
      datanetId: world.bob.datanet,
      title: DOCS.bikes.title,
      metadata: DOCS.bikes.metadata,
      index: 1,
    });
    expect(top.contributor.wallet).toBe('0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC');
    expect(DOCS.bikes.content.slice(top.span.start, top.span.end)).toBe(top.text);
    expect(top.score).toBeGreaterThan(0);
    // topK is a maximum: the bread and tides documents are below the relevance floor for a bicycle
    // question (README, Retrieval quality), so the one source that answers is the only one returned and charged.
    expect(r.body.sources).toHaveLength(1);

    const { usage, attribution } = r.body;
    // retrieval-v2 (README, pricing rule): each returned source is one use at its listed price (1000),
    // earning its owner 900 after the 10 % protocol fee, whatever its weight.
    const returned = BigInt(r.body.sources.length);
    for (const s of attribution.sources) expect([s.amount, s.signals.used]).toEqual(['900', true]);
    expect(usage).toMatchObject({
      charged: String(1000n * returned),
      protocolFee: String(100n * returned),
      dataFee: String(900n * returned),
      balance: String(100_000n - 1000n * returned),
    });
    expect(attribution.formulaVersion).toBe('retrieval-v2');
    expect(attribution.receiptId).toMatch(/^rcpt_/);
    expect(attribution.sources.reduce((a: number, s: { weightPpm: number }) => a + s.weightPpm, 0)).toBe(1_000_000);
    expect(attribution.sources.reduce((a: bigint, s: { amount: string }) => a + BigInt(s.amount), 0n)).toBe(
      900n * returned,
    );

    const txs = await services.db.query<{ id: string }>(`SELECT id FROM ledger_transactions WHERE request_id = $1`, [
      r.body.requestId,
    ]);
    expect(txs.rows).toHaveLength(1);
    for (const row of await ledgerSums()) expect(row.total).toBe(0n);
  });

  it('shows the call in usage and earnings immediately', async () => {
    const before = await client.call('GET', '/v1/earnings', { key: world.bob.key });
    const r = await retrieve({ query: 'patch a bicycle tyre puncture', datanets: [world.bob.datanet], topK: 1 });
    const credited = BigInt(r.body.attribution.sources[0].amount);
    const usage = await client.call('GET', '/v1/usage', { key: world.consumer.key });
    expect(usage.status).toBe(200);
    expect(usage.body.balance).toBe(r.body.usage.balance);
    expect(usage.body.byKey.find((k: { keyId: string }) => k.keyId === world.consumer.keyId)).toBeTruthy();
    const after = await client.call('GET', '/v1/earnings', { key: world.bob.key });
    expect(BigInt(after.body.total) - BigInt(before.body.total)).toBe(credited);
    const doc = after.body.byDocument.find((d: { documentId: string }) => d.documentId === docIds.bikes);
    expect(doc.title).toBe(DOCS.bikes.title);
    expect(after.body.byDatanet[0].datanetId).toBe(world.bob.datanet);
  });

  it('filters by datanet and by metadata', async () => {
    const onlyAda = await retrieve({ query: 'bicycle tyre', datanets: [world.ada.datanet], topK: 5 });
    expect(onlyAda.body.sources.every((s: { datanetId: string }) => s.datanetId === world.ada.datanet)).toBe(true);
    const science = await retrieve({ query: 'what causes tides', topK: 5, filter: { metadata: { topic: 'science' } } });
    expect(science.body.sources.length).toBeGreaterThan(0);
    expect(science.body.sources.every((s: { documentId: string }) => s.documentId === docIds.tides)).toBe(true);
  });

  it('returns 200 with no sources and no charge when nothing matches the filter', async () => {
    const before = (await client.call('GET', '/v1/usage', { key: world.consumer.key })).body;
    const r = await retrieve({ query: 'anything', filter: { metadata: { topic: 'astrology' } } });
    expect(r.status).toBe(200);
    expect(r.body.sources).toEqual([]);
    expect(r.body.usage.charged).toBe('0');
    const after = (await client.call('GET', '/v1/usage', { key: world.consumer.key })).body;
    expect(after.calls).toBe(before.calls);
  });

  it('charges once for retries with the same Idempotency-Key, and refuses the key for another request', async () => {
    const body = { query: 'sourdough starter feeding', topK: 2 };
    const first = await retrieve(body, undefined, { 'idempotency-key': 'retry-1' });
    const second = await retrieve(body, undefined, { 'idempotency-key': 'retry-1' });
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body).toEqual(first.body);
    const charges = await services.db.query(`SELECT 1 FROM ledger_transactions WHERE request_id = $1`, [
      first.body.requestId,
    ]);
    expect(charges.rows).toHaveLength(1);
    const usage = (await client.call('GET', '/v1/usage', { key: world.consumer.key })).body;
    expect(usage.balance).toBe(first.body.usage.balance);
    const other = await retrieve({ ...body, topK: 3 }, undefined, { 'idempotency-key': 'retry-1' });
    expect(other.status).toBe(422);
  });

  it('charges once when the same Idempotency-Key arrives concurrently: one request does the work, the others are replays', async () => {
    const body = { query: 'spring tides sun and moon', topK: 1 };
    const search = vectorSearchFaults(services, () => new Error('unused'));
    try {
      const replies = await Promise.all(
        [1, 2, 3, 4, 5, 6].map(() => retrieve(body, undefined, { 'idempotency-key': 'race-1' })),
      );
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(new Set(replies.map((r) => r.body.requestId)).size).toBe(1);
      expect(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(5);
      for (const r of replies) expect(r.body).toEqual(replies[0]!.body);
      expect(search.searches).toBe(1); // the losers did no retrieval
      const tx = await services.db.query(`SELECT 1 FROM ledger_transactions WHERE request_id = $1`, [
        replies[0]!.body.requestId,
      ]);
      expect(tx.rows).toHaveLength(1);
    } finally {
      search.restore();
    }
  });

  it('stores the typed result under the key (money as tagged bigints, no rendered body) and renders it again on replay', async () => {
    const body = { query: 'neap tides', topK: 2 };
    const first = await retrieve(body, undefined, { 'idempotency-key': 'typed-1' });
    const row = (
      await services.db.query<{ body: unknown; total: unknown; price: unknown }>(
        `SELECT body, result->'charge'->'total' AS total, result->'sources'->0->'pricePerSource' AS price FROM idempotency_keys WHERE key = 'typed-1'`,
      )
    ).rows[0]!;
    expect(row.body).toBeNull();
    expect(row.total).toEqual({ $bigint: first.body.usage.charged });
    expect(row.price).toEqual({ $bigint: '1000' });
    const again = await retrieve(body, undefined, { 'idempotency-key': 'typed-1' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
  });

  it('replays a response stored before results were (migration 0009) exactly as it was rendered', async () => {
    const body = { query: 'tides', topK: 1 };
    const stored = {
      requestId: 'req_before0009',
      object: 'retrieval',
      sources: [],
      usage: { charged: '0' },
      attribution: { sources: [] },
    };
    await services.db.query(
      `INSERT INTO idempotency_keys (account_id, key, request_hash, status, body) VALUES ($1, 'legacy-1', $2, 200, $3::jsonb)`,
      [world.consumer.id, hashRequest('POST', '/v1/retrieve', body), JSON.stringify(stored)],
    );
    const r = await retrieve(body, undefined, { 'idempotency-key': 'legacy-1' });
    expect(r.status).toBe(200);
    expect(r.headers.get('idempotent-replayed')).toBe('true');
    expect(r.body).toEqual(stored);
  });

  it('answers 409 with Retry-After, doing no work, while another request holds the key past the bounded wait', async () => {
    const body = { query: 'moon and tides', topK: 1 };
    // A claim held by a request still running elsewhere (another process, say).
    await services.db.query(
      `INSERT INTO idempotency_claims (account_id, key, request_hash) VALUES ($1, 'held-1', $2)`,
      [world.consumer.id, hashRequest('POST', '/v1/retrieve', body)],
    );
    const search = vectorSearchFaults(services, () => new Error('unused'));
    // Only Date is faked, so the wait's deadline passes without the test waiting for it in real time.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      let reply: Awaited<ReturnType<typeof retrieve>> | undefined;
      const pending = retrieve(body, undefined, { 'idempotency-key': 'held-1' }).then((r) => (reply = r));
      const giveUpAt = performance.now() + 10_000;
      while (!reply && performance.now() < giveUpAt) {
        vi.setSystemTime(Date.now() + 1000);
        // The holder is alive: it renews its lease, as a working claimant does (else it is taken over).
        await services.db.query(`UPDATE idempotency_claims SET claimed_at = now() WHERE key = 'held-1'`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await pending;
      expect(reply!.status).toBe(409);
      expect(reply!.headers.get('retry-after')).toBe('1');
      expect(reply!.body.error.message).toMatch(/still in progress/);
      expect(search.searches).toBe(0);
    } finally {
      vi.useRealTimers();
      search.restore();
      await services.db.query(`DELETE FROM idempotency_claims WHERE key = 'held-1'`);
    }
  });

  it('answers 503 + Retry-After with nothing charged when the vector index is down, and releases the key so a retry does the work', async () => {
    // A named fake failure: the index's search throwing as Pinecone's client does when unreachable.
    const search = vectorSearchFaults(services, () => new Error('index down'));
    search.fail(1);
    try {
      const body = { query: 'feeding a sourdough starter', topK: 1 };
      const before = await client.call('GET', '/v1/usage', { key: world.consumer.key });
      const failed = await retrieve(body, undefined, { 'idempotency-key': 'fail-then-retry' });
      expect(failed.status).toBe(503);
      expect(failed.body.error.code).toBe('SERVICE_UNAVAILABLE');
      expect(failed.body.error.message).not.toMatch(/index down/);
      expect(Number(failed.headers.get('retry-after'))).toBeGreaterThan(0);
      const after = await client.call('GET', '/v1/usage', { key: world.consumer.key });
      expect(after.body.balance).toBe(before.body.balance);
      const charged = await services.db.query(`SELECT id FROM ledger_transactions WHERE request_id = $1`, [
        failed.body.error.requestId,
      ]);
      expect(charged.rows).toEqual([]);
      const retried = await retrieve(body, undefined, { 'idempotency-key': 'fail-then-retry' });
      expect(retried.status).toBe(200);
      expect(retried.headers.get('idempotent-replayed')).toBeNull();
    } finally {
      search.restore();
    }
  });

  it('pays a copy uploaded by another contributor nothing: the earliest upload takes the one source weight', async () => {
    const copy = await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, {
      key: world.bob.key,
      json: { ...DOCS.tides, title: 'Tides (copied)' },
    });
    expect(copy.status).toBe(201);
    try {
      const r = await retrieve({ query: 'what causes spring and neap tides?', topK: 4 });
      type S = { id: string; documentId: string; span: { start: number } };
      const copies = r.body.sources.filter((s: S) => s.documentId === copy.body.document.id);
      const pairs = copies
        .map((c: S) => ({
          c,
          o: r.body.sources.find((s: S) => s.documentId === docIds.tides && s.span.start === c.span.start),
        }))
        .filter((p: { o?: S }) => p.o);
      expect(pairs.length).toBeGreaterThan(0);
      const weightOf = (id: string) => r.body.attribution.sources.find((s: { sourceId: string }) => s.sourceId === id);
      for (const { c, o } of pairs) {
        expect(weightOf(c.id)).toMatchObject({ weightPpm: 0, amount: '0', signals: { duplicateOf: o.id } });
        expect(weightOf(o.id).weightPpm).toBeGreaterThan(0);
      }
      expect(r.body.attribution.sources.reduce((a: bigint, s: { amount: string }) => a + BigInt(s.amount), 0n)).toBe(
        BigInt(r.body.usage.dataFee),
      );
    } finally {
      await client.call('DELETE', `/v1/documents/${copy.body.document.id}`, { key: world.bob.key });
    }
  });

  it('never retrieves a deleted document, but its earnings stay', async () => {
    const earned = await client.call('GET', '/v1/earnings', { key: world.ada.key });
    const breadEarned = earned.body.byDocument.find((d: { documentId: string }) => d.documentId === docIds.bread);
    expect(breadEarned).toBeTruthy();
    await client.call('DELETE', `/v1/documents/${docIds.bread}`, { key: world.ada.key });
    const r = await retrieve({ query: 'sourdough bread starter flour water', topK: 10 });
    expect(r.body.sources.map((s: { documentId: string }) => s.documentId)).not.toContain(docIds.bread);
    const after = await client.call('GET', '/v1/earnings', { key: world.ada.key });
    const kept = after.body.byDocument.find((d: { documentId: string }) => d.documentId === docIds.bread);
    expect(kept).toMatchObject({ earned: breadEarned.earned, deleted: true });
  });

  it('returns the best passage of each document by default, and several per document when asked (perDocument)', async () => {
    const sections = ['Moon', 'Sun', 'Spring tides', 'Neap tides', 'Tide tables'].map(
      (h, i) =>
        `# ${h}\n\n${'The tide rises and falls twice a day as the ocean bulges toward the moon and the sun. '.repeat(12)}Section ${i}.`,
    );
    const long = await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, {
      key: world.ada.key,
      json: { title: 'Tides, at length', content: sections.join('\n\n'), contentType: 'text/markdown', metadata: {} },
    });
    expect(long.status).toBe(201);
    try {
      const byDocument = await retrieve({ query: 'ocean tide rises and falls moon sun', topK: 5 });
      const docs = byDocument.body.sources.map((s: { documentId: string }) => s.documentId);
      expect(new Set(docs).size).toBe(docs.length);
      const several = await retrieve({ query: 'ocean tide rises and falls moon sun', topK: 5, perDocument: 3 });
      const fromLong = several.body.sources.filter(
        (s: { documentId: string }) => s.documentId === long.body.document.id,
      );
      expect(fromLong).toHaveLength(3);
      expect(new Set(fromLong.map((s: { id: string }) => s.id)).size).toBe(3);
      const scores = several.body.sources.map((s: { score: number }) => s.score);
      for (const score of scores) expect(score).toBeGreaterThan(0);
      expect((await retrieve({ query: 'tides', perDocument: 0 })).status).toBe(400);
    } finally {
      await client.call('DELETE', `/v1/documents/${long.body.document.id}`, { key: world.ada.key });
    }
  });

  it.each([
    ['an empty query', { query: '   ' }, 400, /query/],
    ['topK out of range', { query: 'tides', topK: 51 }, 400, /topK/],
    ['topK of the wrong type', { query: 'tides', topK: '5' }, 400, /topK/],
    ['an unknown datanet', { query: 'tides', datanets: ['dn_nope123'] }, 404, /unknown datanet: dn_nope123/],
    ['a malformed datanet id', { query: 'tides', datanets: ['tides'] }, 400, /datanets/],
    ['an unknown field', { query: 'tides', top_k: 3 }, 400, /top_k|Unrecognized/i],
  ])('refuses %s', async (_name, json, status, message) => {
    const r = await retrieve(json);
    expect(r.status).toBe(status);
    expect(r.body.error.message).toMatch(message);
  });

  it('refuses a non-JSON body and malformed JSON', async () => {
    const text = await client.call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      body: 'query=tides',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const bad = await client.call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      body: '{"query":',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/JSON/);
  });

  it('needs a consumer key that is not revoked', async () => {
    expect((await retrieve({ query: 'tides' }, '')).status).toBe(401);
    expect((await retrieve({ query: 'tides' }, 'cp_live_thisisnotarealkeyatall0000')).status).toBe(401);
    expect((await retrieve({ query: 'tides' }, world.ada.key)).status).toBe(403);
    const extra = await client.call('POST', `/v1/admin/accounts/${world.consumer.id}/keys`, {
      key: world.admin,
      json: { name: 'ci' },
    });
    expect((await retrieve({ query: 'tides' }, extra.body.key)).status).toBe(200);
    expect((await client.call('DELETE', `/v1/keys/${extra.body.id}`, { key: world.consumer.key })).status).toBe(200);
    const revoked = await retrieve({ query: 'tides' }, extra.body.key);
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toMatch(/revoked/);
  });
});

describe('prepaid credits', () => {
  it('answers 402 with the balance when credits cannot cover the call, and charges nothing', async () => {
    const poor = await client.call('POST', '/v1/admin/accounts', {
      key: world.admin,
      json: { kind: 'consumer', name: 'Poor', credits: '1500' },
    });
    const key = poor.body.apiKey.key;
    const ok = await retrieve({ query: 'tides moon', topK: 1 }, key);
    expect(ok.status).toBe(200);
    expect(ok.body.usage.balance).toBe('500');
    const refused = await retrieve({ query: 'tides moon', topK: 1 }, key);
    expect(refused.status).toBe(402);
    expect(refused.body.error).toMatchObject({
      code: 'PAYMENT_REQUIRED',
      details: { balance: '500', required: '1000' },
    });
    const usage = await client.call('GET', '/v1/usage', { key });
    expect(usage.body).toMatchObject({ balance: '500', calls: 1, spend: '1000' });
    const topUp = await client.call('POST', `/v1/admin/accounts/${poor.body.account.id}/credits`, {
      key: world.admin,
      json: { amount: '500' },
    });
    expect(topUp.body.balance).toBe('1000');
    expect((await retrieve({ query: 'tides moon', topK: 1 }, key)).status).toBe(200);
    const empty = await retrieve({ query: 'tides moon', topK: 1 }, key);
    expect(empty.status).toBe(402);
    expect(empty.body.error.message).toMatch(/exhausted/);
  });
});
