import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Services } from '../../shared/services/container.ts';
import {
  consumerSpendSplit,
  earningsSummary,
  ownerFunnel,
  refreshRollups,
  usageSummary,
} from '../../shared/store/dashboard.ts';
import { earningsOf, usageOf } from '../../shared/store/ledger.ts';
import { DOCS } from '../fixtures.ts';
import { WALLETS, createWorld, httpClient, type Client } from '../http.ts';
import { createTestServices } from '../services.ts';

// The dashboards sum rollups (closed UTC days) plus the live tail; the figures must equal the API's
// (usageOf, earningsOf) before any rollup, after one, and with new calls on top of it.

let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;

beforeAll(async () => {
  services = await createTestServices();
  client = httpClient(services);
  world = await createWorld(services, { credits: '100000000', price: '10000' });
  await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: DOCS.bread });
  await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
});
afterAll(() => services.db.close());

const retrieve = async (query: string) =>
  expect(
    (await client.call('POST', '/v1/retrieve', { key: world.consumer.key, json: { query, topK: 2 } })).status,
  ).toBe(200);

async function expectEqualToApi(upto: Date) {
  const { db } = services;
  const sorted = (u: Awaited<ReturnType<typeof usageOf>>) => ({
    ...u,
    byKind: [...u.byKind].sort((a, b) => a.kind.localeCompare(b.kind)),
    byKey: [...u.byKey].sort((a, b) => String(a.keyId).localeCompare(String(b.keyId))),
  });
  expect(sorted(await usageSummary(db, upto, world.consumer.id, true))).toEqual(
    sorted(await usageOf(db, world.consumer.id, true)),
  );
  for (const id of [world.ada.id, world.bob.id])
    expect(await earningsSummary(db, upto, id, true)).toEqual(await earningsOf(db, id, true));
  const split = await consumerSpendSplit(db, upto, world.consumer.id, true);
  expect(split.dataFees + split.modelTokens + split.adapterFees + split.protocolFee).toBe(split.charged);
  expect(split.charged).toBe((await usageOf(db, world.consumer.id, true)).spend);
  const funnel = await ownerFunnel(db, upto, WALLETS.ada, {
    level: 'document',
    parent: world.ada.datanet,
    sort: 'earned',
    limit: 50,
    offset: 0,
    livemode: true,
  });
  const earned = (await earningsOf(db, world.ada.id, true)).byDocument;
  expect(funnel.rows.map((r) => [r.id, r.earned])).toEqual(earned.map((d) => [d.documentId, d.earned]));
}

it('equals the API before and after rolling closed days up, with live calls on top', async () => {
  await retrieve('how long should bread dough rise?');
  await retrieve('fix a flat tyre');
  await expectEqualToApi(new Date(0)); // nothing rolled up yet: all of it is the tail
  // Age everything by three days (as if it happened then), then roll up.
  await services.db.exec(`
    UPDATE ledger_transactions SET created_at = created_at - interval '3 days';
    UPDATE receipt_sources SET created_at = created_at - interval '3 days';
    UPDATE receipt_calls SET created_at = created_at - interval '3 days';`);
  const upto = await refreshRollups(services.db);
  const rolled = await services.db.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM rollup_ledger`);
  expect(rolled.rows[0]!.n).toBeGreaterThan(0n);
  await expectEqualToApi(upto);
  await retrieve('sourdough starter feeding');
  await retrieve('bicycle puncture patch');
  expect(await refreshRollups(services.db)).toEqual(upto); // nothing new to roll: today is not closed
  await expectEqualToApi(upto);
});
