import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from './container.ts';
import { checkLedger } from './ledger-check.ts';
import { postTransaction } from '../store/ledger.ts';
import { newId } from '../ids.ts';
import { createTestServices } from '../../test/services.ts';
import { createWorld, httpClient } from '../../test/http.ts';
import { DOCS } from '../../test/fixtures.ts';

describe('the ledger checker (npm run check:ledger)', () => {
  let services: Services;
  let world: Awaited<ReturnType<typeof createWorld>>;
  beforeAll(async () => {
    services = await createTestServices();
    world = await createWorld(services, { credits: '50000', price: '1000' });
    const { call } = httpClient(services);
    await call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
    for (const query of ['fix a puncture', 'inflate a bicycle tyre']) {
      const r = await call('POST', '/v1/retrieve', { key: world.consumer.key, json: { query, topK: 1 } });
      expect(r.status).toBe(200);
    }
    // Nothing found (Ada's datanet is empty): a receipt of 0, no ledger transaction — still consistent.
    const empty = await call('POST', '/v1/retrieve', { key: world.consumer.key, json: { query: 'fix a puncture', datanets: [world.ada.datanet] } });
    expect(empty.body).toMatchObject({ sources: [], usage: { charged: '0' } });
  });
  afterAll(() => services.db.close());

  const failed = async () => (await checkLedger(services.db)).filter((c) => !c.ok).map((c) => ({ name: c.name, offenders: c.offenders }));

  it('passes on a database the API wrote', async () => {
    const checks = await checkLedger(services.db);
    expect(checks.length).toBeGreaterThan(5);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('names a charge without its receipt and an account spent below zero', async () => {
    // A charge written around the billing service (no receipt), overdrawing the consumer.
    await postTransaction(services.db, {
      id: newId('transaction'), kind: 'retrieve', requestId: 'req_forged', keyId: null,
      entries: [{ accountId: world.consumer.id, amount: -10_000_000n }, { accountId: world.bob.id, amount: 10_000_000n }],
    });
    expect(await failed()).toEqual([
      { name: 'no account below zero but the funding account', offenders: [expect.stringContaining(world.consumer.id)] },
      { name: 'every charge has its receipt', offenders: [expect.stringContaining('req_forged')] },
    ]);
  });
});
