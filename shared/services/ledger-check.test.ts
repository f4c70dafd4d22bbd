import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from './container.ts';
import { checkLedger } from './ledger-check.ts';
import { acceptPayment, amountToSettle, paymentSettled } from './x402-payments.ts';
import { postTransaction } from '../store/ledger.ts';
import { newId } from '../ids.ts';
import { SETTLED_ACCOUNT_ID } from '../store/accounts.ts';
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
    // Test mode: test credits and a cp_test_ key's retrieval sit in the same database, apart.
    const testKey = await call('POST', `/v1/admin/accounts/${world.consumer.id}/keys`, {
      key: world.admin,
      json: { mode: 'test' },
    });
    await call('POST', `/v1/admin/accounts/${world.consumer.id}/credits`, {
      key: world.admin,
      json: { amount: '5000', livemode: false },
    });
    const test = await call('POST', '/v1/retrieve', {
      key: testKey.body.key,
      json: { query: 'fix a puncture', topK: 1 },
    });
    expect(test.body).toMatchObject({ livemode: false, usage: { charged: '1000' } });
    // Nothing found (Ada's datanet is empty): a receipt of 0, no ledger transaction — still consistent.
    const empty = await call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      json: { query: 'fix a puncture', datanets: [world.ada.datanet] },
    });
    expect(empty.body).toMatchObject({ sources: [], usage: { charged: '0' } });
  });
  afterAll(() => services.db.close());

  const failed = async () =>
    (await checkLedger(services.db)).filter((c) => !c.ok).map((c) => ({ name: c.name, offenders: c.offenders }));

  it('passes on a database the API wrote', async () => {
    const checks = await checkLedger(services.db);
    expect(checks.length).toBeGreaterThan(5);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('names a charge without its receipt and an account spent below zero', async () => {
    // A charge written around the billing service (no receipt), overdrawing the consumer.
    await postTransaction(services.db, {
      id: newId('transaction'),
      kind: 'retrieve',
      requestId: 'req_forged',
      keyId: null,
      livemode: true,
      entries: [
        { accountId: world.consumer.id, amount: -10_000_000n },
        { accountId: world.bob.id, amount: 10_000_000n },
      ],
    });
    expect(await failed()).toEqual([
      {
        name: 'no account below zero but the funding account',
        offenders: [expect.stringContaining(world.consumer.id)],
      },
      { name: 'every charge has its receipt', offenders: [expect.stringContaining('req_forged')] },
    ]);
  });

  it('names test money that reached the settled account, and the database refuses a test key writing live money', async () => {
    await postTransaction(services.db, {
      id: newId('transaction'),
      kind: 'payout',
      requestId: 'settlement-forged',
      keyId: null,
      livemode: false,
      entries: [
        { accountId: world.bob.id, amount: -1n },
        { accountId: SETTLED_ACCOUNT_ID, amount: 1n },
      ],
    });
    expect((await failed()).find((c) => c.name === 'test money never settles')?.offenders).toHaveLength(1);
    const testKeyId = (
      await services.db.query<{ id: string }>(
        `SELECT id FROM api_keys WHERE account_id = $1 AND NOT livemode LIMIT 1`,
        [world.consumer.id],
      )
    ).rows[0]!.id;
    await expect(
      services.db.transaction((tx) =>
        postTransaction(tx, {
          id: newId('transaction'),
          kind: 'retrieve',
          requestId: 'req_live_by_test_key',
          keyId: testKeyId,
          livemode: true,
          entries: [
            { accountId: world.consumer.id, amount: -1n },
            { accountId: world.bob.id, amount: 1n },
          ],
        }),
      ),
    ).rejects.toThrow(/test key .* cannot write a live ledger transaction/);
    // A transaction whose lines claim another mode than its own cannot be written either.
    const id = newId('transaction');
    await expect(
      services.db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO ledger_transactions (id, kind, request_id, key_id, livemode) VALUES ($1, 'retrieve', NULL, NULL, false)`,
          [id],
        );
        await tx.query(
          `INSERT INTO ledger_entries (transaction_id, livemode, account_id, amount) VALUES ($1, true, $2, -1), ($1, true, $3, 1)`,
          [id, world.consumer.id, world.bob.id],
        );
      }),
    ).rejects.toThrow(/foreign key|ledger_entries_same_mode/);
  });

  it('names an upto payment settled for other than what its call was charged', async () => {
    // credited as a verified upto payment, then recorded settled without its call ever charging it
    const payment = await acceptPayment(services, {
      payer: '0x00000000000000000000000000000000000000a1',
      nonce: 'permit2:1',
      network: 'eip155:31337',
      asset: '0x00000000000000000000000000000000000000b2',
      payTo: '0x00000000000000000000000000000000000000c3',
      amount: 5000n,
      scheme: 'upto',
      route: '/v1/retrieve',
      requestId: 'req_upto_never_charged',
      payload: null,
      requirements: null,
    });
    expect(payment).not.toBeNull();
    expect(await amountToSettle(services, payment!)).toBe(0n); // its call charged nothing: nothing to settle
    await paymentSettled(services, payment!, '0xforged');
    expect((await failed()).find((c) => c.name === 'x402 upto payments took what their call cost')?.offenders).toEqual([
      expect.stringContaining(payment!.paymentId),
    ]);
  });
});
