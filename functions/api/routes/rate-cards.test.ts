import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../../shared/services/container.ts';
import { createWorld, httpClient, type Client } from '../../../test/http.ts';
import { DOCS } from '../../../test/fixtures.ts';
import { createGenerationServices, startWorker, type WorkerHandle } from '../../../test/generation.ts';
import { parseXml } from '../../../test/xml.ts';

// Rate cards over HTTP: the owner sets prices per use type, every call priced after the change is
// charged by it, receipts name the version, and the license document follows the card.

let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;
let worker: WorkerHandle;
let stopConsumer: () => Promise<void>;
let testKeys: { consumer: string; ada: string };

beforeAll(async () => {
  const env = await createGenerationServices();
  services = env.services;
  stopConsumer = env.consumer.stop;
  client = httpClient(services);
  world = await createWorld(services, { credits: '1000000', price: '1000' });
  for (const doc of [DOCS.bread, DOCS.tides])
    await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: doc });
  const testKey = async (accountId: string) =>
    (await client.call('POST', `/v1/admin/accounts/${accountId}/keys`, { key: world.admin, json: { mode: 'test' } }))
      .body.key as string;
  testKeys = { consumer: await testKey(world.consumer.id), ada: await testKey(world.ada.id) };
  await client.call('POST', `/v1/admin/accounts/${world.consumer.id}/credits`, {
    key: world.admin,
    json: { amount: '500000', livemode: false },
  });
  worker = await startWorker(services);
});
afterAll(async () => {
  await worker?.stop();
  await stopConsumer?.();
  await services?.db.close();
});

const card = (key = world.ada.key, datanet = world.ada.datanet) =>
  client.call('GET', `/v1/datanets/${datanet}/rate-card`, { key });
const put = (json: unknown, key = world.ada.key, datanet = world.ada.datanet) =>
  client.call('PUT', `/v1/datanets/${datanet}/rate-card`, { key, json });
const retrieve = (key = world.consumer.key) =>
  client.call('POST', '/v1/retrieve', {
    key,
    json: { query: 'how long does sourdough dough rise', topK: 3, datanets: [world.ada.datanet] },
  });

describe('GET/PUT /v1/datanets/{id}/rate-card', () => {
  it('starts at version 1 from the price the datanet was created with', async () => {
    const r = await card(world.consumer.key);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      datanetId: world.ada.datanet,
      version: 1,
      prices: { retrieval: '1000', answer: '1000' },
      minimumPerUse: '0',
      test: { mode: 'same' },
      currency: 'USD',
      unit: 'micro',
    });
    expect(r.body.history.map((h: { version: number }) => h.version)).toEqual([1]);
  });

  it('refuses strangers, consumers, test keys and bad terms with the one error shape', async () => {
    const terms = { prices: { retrieval: '5', answer: '5' } };
    expect((await client.call('PUT', `/v1/datanets/${world.ada.datanet}/rate-card`, { json: terms })).status).toBe(401);
    expect((await put(terms, world.consumer.key)).status).toBe(403);
    // another owner's datanet looks like a missing one
    const other = await put(terms, world.bob.key);
    expect(other.status).toBe(404);
    expect(other.body.error).toMatchObject({ code: 'NOT_FOUND' });
    const test = await put(terms, testKeys.ada);
    expect(test.status).toBe(403);
    expect(test.body.error.message).toMatch(/test mode cannot change a rate card/);
    for (const bad of [
      { prices: { retrieval: '-1', answer: '5' } },
      { prices: { retrieval: '5' } },
      { prices: { retrieval: '5', answer: '5' }, test: { mode: 'price' } },
      { prices: { retrieval: '5', answer: '5' }, test: { mode: 'free' } },
      { prices: { retrieval: '1000000001', answer: '5' } },
    ]) {
      const r = await put(bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    }
    expect((await card()).body.version).toBe(1);
  });

  it('charges each call by the card in force when it is priced; receipts name the version and price', async () => {
    const before = await retrieve();
    expect(before.status).toBe(200);
    const n1 = before.body.sources.length;
    expect(n1).toBeGreaterThan(0);
    expect(before.body.usage.charged).toBe(String(1000 * n1));
    expect(before.body.attribution.sources[0].rateCard).toEqual({ version: 1, use: 'retrieval', price: '1000' });

    const set = await put({ prices: { retrieval: '2500', answer: '4000' }, minimumPerUse: '300' });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ version: 2, changed: true, prices: { retrieval: '2500', answer: '4000' } });
    // the same terms again add no version
    const again = await put({ prices: { retrieval: '2500', answer: '4000' }, minimumPerUse: '300' });
    expect(again.body).toMatchObject({ version: 2, changed: false });

    const after = await retrieve();
    const n2 = after.body.sources.length;
    expect(after.body.usage.charged).toBe(String(2500 * n2));
    expect(
      after.body.attribution.sources.every(
        (s: { rateCard: unknown }) =>
          JSON.stringify(s.rateCard) === JSON.stringify({ version: 2, use: 'retrieval', price: '2500' }),
      ),
    ).toBe(true);

    // Change again: the stored receipt still names version 2, which the history still holds.
    await put({ prices: { retrieval: '100', answer: '100' }, minimumPerUse: '150' });
    const receipt = await client.call('GET', `/v1/receipts/${after.body.requestId}`, { key: world.consumer.key });
    expect(receipt.status).toBe(200);
    const sources = receipt.body.receipt.sources as { rateCard: { version: number; price: string } }[];
    const history = (await card(world.consumer.key)).body.history as {
      version: number;
      prices: { retrieval: string };
      minimumPerUse: string;
    }[];
    expect(history.map((h) => h.version)).toEqual([3, 2, 1]);
    for (const s of sources) {
      const v = history.find((h) => h.version === s.rateCard.version)!;
      expect(s.rateCard.price).toBe(String(Math.max(Number(v.prices.retrieval), Number(v.minimumPerUse))));
    }
    // version 3: the minimum (150) is above both prices, so one use costs 150
    const third = await retrieve();
    expect(third.body.usage.charged).toBe(String(150 * third.body.sources.length));
  });

  it('prices an answer’s used sources at the answer price, frozen when the answer is accepted', async () => {
    await put({ prices: { retrieval: '1000', answer: '3000' } });
    const r = await client.call('POST', '/v1/answers', {
      key: world.consumer.key,
      json: { query: 'How long should sourdough dough rise?', topK: 3, datanets: [world.ada.datanet] },
    });
    expect(r.status).toBe(200);
    const used = r.body.attribution.sources.filter((s: { signals: { used?: boolean } }) => s.signals.used);
    expect(used.length).toBeGreaterThan(0);
    // each use is charged 3000 and earns its owner 3000 less the protocol's fee on it
    const earns = 3000n - (3000n * BigInt(services.config.protocolFeeBps)) / 10_000n;
    for (const s of used) expect(BigInt(s.amount)).toBe(earns);
    const fees = r.body.attribution.sources.map((s: { rateCard: unknown }) => s.rateCard);
    for (const f of fees) expect(f).toMatchObject({ use: 'answer', price: '3000' });
    expect(BigInt(r.body.usage.dataFee)).toBe(earns * BigInt(used.length));
  });

  it('test mode: a different test price, or excluded (test uses free), never touching live prices', async () => {
    await put({
      prices: { retrieval: '1000', answer: '1000' },
      test: { mode: 'price', prices: { retrieval: '7', answer: '7' } },
    });
    const priced = await retrieve(testKeys.consumer);
    expect(priced.status).toBe(200);
    expect(priced.body.livemode).toBe(false);
    expect(priced.body.usage.charged).toBe(String(7 * priced.body.sources.length));
    const live = await retrieve();
    expect(live.body.usage.charged).toBe(String(1000 * live.body.sources.length));

    await put({ prices: { retrieval: '1000', answer: '1000' }, test: { mode: 'excluded' } });
    const excluded = await retrieve(testKeys.consumer);
    expect(excluded.status).toBe(200);
    expect(excluded.body.sources.length).toBeGreaterThan(0);
    expect(excluded.body.usage.charged).toBe('0');
    expect(excluded.body.attribution.sources[0].rateCard).toMatchObject({ use: 'retrieval', price: '0' });
  });
});

/** The elements RSL 1.0 requires (https://rslstandard.org/rsl; no XSD is published). */
function assertRsl(xml: string) {
  const { doc, errors } = parseXml(xml);
  expect(errors).toEqual([]);
  const ns = 'https://rslstandard.org/rsl';
  const root = doc.documentElement!;
  expect(root.localName).toBe('rsl');
  expect(root.namespaceURI).toBe(ns);
  const contents = Array.from(root.getElementsByTagNameNS(ns, 'content'));
  expect(contents.length).toBeGreaterThanOrEqual(1);
  for (const c of contents) {
    expect(c.getAttribute('url')).toBeTruthy();
    const licenses = Array.from(c.getElementsByTagNameNS(ns, 'license'));
    expect(licenses.length).toBeGreaterThanOrEqual(1);
    for (const l of licenses) {
      for (const p of Array.from(l.getElementsByTagNameNS(ns, 'permits'))) {
        expect(['usage', 'user', 'geo']).toContain(p.getAttribute('type'));
      }
      for (const p of Array.from(l.getElementsByTagNameNS(ns, 'payment'))) {
        expect([
          'purchase',
          'subscription',
          'training',
          'crawl',
          'use',
          'contribution',
          'attribution',
          'free',
        ]).toContain(p.getAttribute('type'));
        for (const a of Array.from(p.getElementsByTagNameNS(ns, 'amount'))) {
          expect(a.getAttribute('currency')).toMatch(/^[A-Z]{3}$/);
          expect(a.textContent).toMatch(/^\d+(\.\d+)?$/);
        }
      }
    }
  }
  return { doc, ns };
}

describe('GET /v1/datanets/{id}/license.xml', () => {
  it('is public RSL 1.0 with the most one live use costs as a `use` payment', async () => {
    await put({ prices: { retrieval: '1500', answer: '2000' }, minimumPerUse: '0', test: { mode: 'excluded' } });
    const res = await client.app.request(`/v1/datanets/${world.ada.datanet}/license.xml`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/rsl+xml; charset=utf-8');
    const xml = await res.text();
    const { doc, ns } = assertRsl(xml);
    expect(doc.getElementsByTagNameNS(ns, 'content')[0]!.getAttribute('url')).toBe('/');
    expect(doc.getElementsByTagNameNS(ns, 'permits')[0]!.textContent).toBe('ai-input');
    const payment = doc.getElementsByTagNameNS(ns, 'payment')[0]!;
    expect(payment.getAttribute('type')).toBe('use');
    expect(payment.getElementsByTagNameNS(ns, 'amount')[0]!.textContent).toBe('0.002');
    expect(payment.getElementsByTagNameNS(ns, 'custom')[0]!.textContent).toMatch(
      new RegExp(`/v1/datanets/${world.ada.datanet}/rate-card$`),
    );
  });

  it('follows the card: free when nothing is charged; the content URL can be named; bad input is a 4xx', async () => {
    await put({ prices: { retrieval: '0', answer: '0' } });
    const res = await client.app.request(
      `/v1/datanets/${world.ada.datanet}/license.xml?content=${encodeURIComponent('https://ada.example/notes/*')}`,
    );
    const { doc, ns } = assertRsl(await res.text());
    expect(doc.getElementsByTagNameNS(ns, 'content')[0]!.getAttribute('url')).toBe('https://ada.example/notes/*');
    expect(doc.getElementsByTagNameNS(ns, 'payment')[0]!.getAttribute('type')).toBe('free');
    expect(doc.getElementsByTagNameNS(ns, 'amount').length).toBe(0);
    expect(
      (await client.call('GET', `/v1/datanets/${world.ada.datanet}/license.xml?content=javascript:x`)).status,
    ).toBe(400);
    const missing = await client.call('GET', '/v1/datanets/dn_nothere/license.xml');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
  });
});
