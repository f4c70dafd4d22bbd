import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address, Hex } from 'viem';
import { createSettlementChain, type SettlementChain } from '../chain/distributor.ts';
import { verifyPayoutProof, verifyReceiptProof } from '../core/merkle.ts';
import { hashCanonical } from '../core/receipts.ts';
import { SETTLED_ACCOUNT_ID } from '../store/accounts.ts';
import { balanceOf } from '../store/ledger.ts';
import { inFlightEpoch } from '../store/settlement.ts';
import type { Services } from './container.ts';
import { settleOnce, type SettlementDeps } from './settlement.ts';
import { createTestServices, TEST_DB } from '../../test/services.ts';
import { checkLedger } from './ledger-check.ts';
import { deployTestChain, type TestChain } from '../../test/chain.ts';
import { WALLETS, createWorld, httpClient, type Client } from '../../test/http.ts';
import { DOCS } from '../../test/fixtures.ts';

// Settlement against a real anvil and real contracts, one deployment per test so every
// test starts from an empty distributor. Crashes are simulated by throwing from the step
// hook (nothing after it runs) and restarting with a fresh settler over the same database.

class Crash extends Error {}

interface Env {
  services: Services;
  client: Client;
  world: Awaited<ReturnType<typeof createWorld>>;
  tc: TestChain;
  deps: (over?: Partial<SettlementDeps>) => SettlementDeps;
  retrieve: (query: string) => Promise<void>;
}

async function setup(env: Record<string, string> = {}): Promise<Env> {
  const tc = await deployTestChain();
  const services = await createTestServices(env, { chain: tc.chain });
  const client = httpClient(services);
  const world = await createWorld(services, { credits: '100000000', price: '10000' });
  await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: DOCS.bread });
  await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
  return {
    services,
    client,
    world,
    tc,
    deps: (over = {}) => ({
      db: services.db,
      chain: tc.chain,
      log: services.log,
      minPayout: 1000n,
      receiptTimeoutMs: 10_000,
      ...over,
    }),
    retrieve: async (query) => {
      const r = await client.call('POST', '/v1/retrieve', { key: world.consumer.key, json: { query, topK: 2 } });
      expect(r.status).toBe(200);
    },
  };
}

/** The money invariants after any sequence of steps. */
async function expectConsistent(e: Env) {
  const { db } = e.services;
  const settled = await balanceOf(db, SETTLED_ACCOUNT_ID, true);
  const onChain = await e.tc.chain.readState();
  expect(onChain.totalCumulative).toBe(settled); // published exactly what the ledger moved
  const claimed = (await e.tc.chain.claimed(WALLETS.ada)) + (await e.tc.chain.claimed(WALLETS.bob));
  expect(await e.tc.chain.tokenBalance(e.tc.distributor)).toBe(settled - claimed); // funded exactly once
  const earned = await db.query<{ wallet: string; earned: bigint }>(
    `SELECT a.wallet, sum(e.amount) FILTER (WHERE t.kind <> 'payout')::bigint AS earned
       FROM ledger_entries e JOIN accounts a ON a.id = e.account_id JOIN ledger_transactions t ON t.id = e.transaction_id
      WHERE a.kind = 'contributor' AND e.livemode GROUP BY a.wallet`,
  );
  for (const { wallet, earned: total } of earned.rows) {
    const payout = await e.client.call('GET', `/v1/payouts/${wallet}`);
    expect(BigInt(payout.body.cumulative) + BigInt(payout.body.unsettled)).toBe(total); // nothing lost, nothing doubled
  }
  for (const row of (
    await db.query<{ total: bigint }>(`SELECT sum(amount)::bigint AS total FROM ledger_entries GROUP BY transaction_id`)
  ).rows)
    expect(row.total).toBe(0n);
  // The whole-database checker (npm run check:ledger) agrees after every step.
  expect((await checkLedger(db)).filter((c) => !c.ok)).toEqual([]);
}

describe('settlement', () => {
  let e: Env;
  beforeAll(async () => {
    e = await setup();
  });
  afterAll(() => e.services.db.close());

  it('publishes the epoch, moves the amounts in the ledger, and lets the wallet claim exactly once', async () => {
    await e.retrieve('how long should bread dough rise?');
    await e.retrieve('fix a flat bicycle tyre');
    const earnedBefore = await e.client.call('GET', '/v1/earnings', { key: e.world.ada.key });
    const outcome = await settleOnce(e.deps());
    expect(outcome).toMatchObject({ status: 'confirmed', epoch: 1 });
    const state = await e.tc.chain.readState();
    expect(state.epoch).toBe(1n);
    await expectConsistent(e);

    const earnings = await e.client.call('GET', '/v1/earnings', { key: e.world.ada.key });
    expect(earnings.body).toMatchObject({
      total: earnedBefore.body.total,
      settled: earnedBefore.body.total,
      unsettled: '0',
    });

    const payout = await e.client.call('GET', `/v1/payouts/${WALLETS.ada.toLowerCase()}`);
    expect(payout.status).toBe(200);
    expect(payout.body).toMatchObject({
      wallet: WALLETS.ada,
      epoch: 1,
      cumulative: earnedBefore.body.total,
      claimed: '0',
      claimable: earnedBefore.body.total,
    });
    expect(
      verifyPayoutProof(
        state.payoutRoot,
        { wallet: WALLETS.ada as Address, cumulative: BigInt(payout.body.cumulative) },
        payout.body.proof,
      ),
    ).toBe(true);

    const claim = await e.client.call('POST', `/v1/payouts/${WALLETS.ada}/claim`, { key: e.world.consumer.key });
    expect(claim.status).toBe(200);
    expect(claim.body.paid).toBe(earnedBefore.body.total);
    expect(await e.tc.chain.tokenBalance(WALLETS.ada)).toBe(BigInt(earnedBefore.body.total));
    const again = await e.client.call('POST', `/v1/payouts/${WALLETS.ada}/claim`, { key: e.world.consumer.key });
    expect(again.body).toMatchObject({ paid: '0', txHash: null });
    expect(await e.tc.chain.tokenBalance(WALLETS.ada)).toBe(BigInt(earnedBefore.body.total));
    await expectConsistent(e);
  });

  it('proves each receipt against the receipts root published for its epoch', async () => {
    await e.retrieve('what makes sourdough rise');
    const r = await e.client.call('POST', '/v1/retrieve', {
      key: e.world.consumer.key,
      json: { query: 'bicycle puncture repair', topK: 2 },
    });
    const receiptId = r.body.attribution.receiptId;
    const before = await e.client.call('GET', `/v1/receipts/${receiptId}`, { key: e.world.consumer.key });
    expect(before.status).toBe(200);
    expect(before.body.settlement).toBeNull();
    expect(before.body.hash).toBe(hashCanonical(before.body.canonical));
    expect(before.body.receipt).toMatchObject({
      requestId: r.body.requestId,
      formulaVersion: 'retrieval-v2',
      charged: r.body.usage.charged,
    });
    expect(before.body.receipt.sources.map((s: { amount: string }) => s.amount)).toEqual(
      r.body.attribution.sources.map((s: { amount: string }) => s.amount),
    );

    const outcome = await settleOnce(e.deps());
    expect(outcome).toMatchObject({ status: 'confirmed', epoch: 2 });
    const after = await e.client.call('GET', `/v1/receipts/${r.body.requestId}`, { key: e.world.bob.key }); // by request id, as a paid contributor
    expect(after.body.settlement).toMatchObject({ epoch: 2, status: 'confirmed' });
    const root = await e.tc.chain.receiptsRootOf(2n);
    expect(after.body.settlement.receiptsRoot).toBe(root);
    expect(verifyReceiptProof(root, after.body.hash as Hex, after.body.settlement.proof)).toBe(true);

    // Receipts are private to the payer, the wallets they pay, and admins.
    const stranger = await e.client.call('POST', '/v1/admin/accounts', {
      key: e.world.admin,
      json: { kind: 'consumer', name: 'Other', credits: '0' },
    });
    expect((await e.client.call('GET', `/v1/receipts/${receiptId}`, { key: stranger.body.apiKey.key })).status).toBe(
      404,
    );
    expect((await e.client.call('GET', `/v1/receipts/${receiptId}`, { key: e.world.admin })).status).toBe(200);
    expect((await e.client.call('GET', '/v1/receipts/nope', { key: e.world.admin })).status).toBe(400);
  });

  it('a later epoch raises the cumulative amount and a claim pays only the increase', async () => {
    const claimedBefore = await e.tc.chain.claimed(WALLETS.ada);
    await e.retrieve('proofing bread dough overnight');
    expect(await settleOnce(e.deps())).toMatchObject({ status: 'confirmed', epoch: 3 });
    const payout = await e.client.call('GET', `/v1/payouts/${WALLETS.ada}`);
    const increase = BigInt(payout.body.cumulative) - claimedBefore;
    expect(increase).toBeGreaterThan(0n);
    expect(BigInt(payout.body.claimable)).toBe(increase);
    const claim = await e.client.call('POST', `/v1/payouts/${WALLETS.ada}/claim`, { key: e.world.ada.key });
    expect(BigInt(claim.body.paid)).toBe(increase);
    expect(await e.tc.chain.tokenBalance(WALLETS.ada)).toBe(BigInt(payout.body.cumulative));
    await expectConsistent(e);
  });

  it('is idle when nothing happened, and refuses a bad wallet', async () => {
    expect((await settleOnce(e.deps())).status).toBe('idle');
    const bad = await e.client.call('GET', '/v1/payouts/0x1234');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('BAD_REQUEST');
    const unknown = await e.client.call('GET', '/v1/payouts/0x0000000000000000000000000000000000000001');
    expect(unknown.body).toMatchObject({ cumulative: '0', claimable: '0', proof: [] });
  });

  it('keeps a wallet below the minimum payout for a later epoch', async () => {
    await e.retrieve('bicycle tyre pressure');
    const outcome = await settleOnce(e.deps({ minPayout: 10n ** 12n }));
    expect(outcome).toMatchObject({ status: 'confirmed', amount: 0n, payees: 0 }); // receipts published, nobody paid yet
    const unsettled = (await e.client.call('GET', `/v1/payouts/${WALLETS.bob}`)).body.unsettled;
    expect(BigInt(unsettled)).toBeGreaterThan(0n);
    await e.retrieve('bicycle chain oil');
    expect(await settleOnce(e.deps())).toMatchObject({ status: 'confirmed' });
    expect((await e.client.call('GET', `/v1/payouts/${WALLETS.bob}`)).body.unsettled).toBe('0');
    await expectConsistent(e);
  });
});

describe('test mode never settles', () => {
  let e: Env;
  beforeAll(async () => {
    e = await setup();
  });
  afterAll(() => e.services.db.close());

  it('puts only live earnings and live receipts on chain; test earnings stay test, and test keys cannot settle or claim', async () => {
    const { client, world } = e;
    const testKey = (
      await client.call('POST', `/v1/admin/accounts/${world.consumer.id}/keys`, {
        key: world.admin,
        json: { mode: 'test' },
      })
    ).body.key as string;
    const adaTestKey = (
      await client.call('POST', `/v1/admin/accounts/${world.ada.id}/keys`, { key: world.admin, json: { mode: 'test' } })
    ).body.key as string;
    expect(
      (
        await client.call('POST', `/v1/admin/accounts/${world.consumer.id}/credits`, {
          key: world.admin,
          json: { amount: '100000000', livemode: false },
        })
      ).status,
    ).toBe(201);
    const testCall = await client.call('POST', '/v1/retrieve', {
      key: testKey,
      json: { query: 'how long should bread dough rise?', topK: 2 },
    });
    expect(testCall.body).toMatchObject({ livemode: false });
    expect(BigInt(testCall.body.usage.charged)).toBeGreaterThan(0n);
    await e.retrieve('how long should bread dough rise?');
    const liveEarned = (await client.call('GET', '/v1/earnings', { key: world.ada.key })).body;
    const testEarned = (await client.call('GET', '/v1/earnings', { key: adaTestKey })).body;
    expect(testEarned).toMatchObject({ livemode: false, settled: '0' });
    expect(BigInt(testEarned.total)).toBeGreaterThan(0n);

    // Test keys cannot start what moves live money on chain.
    const testAdmin = (
      await client.call(
        'POST',
        `/v1/admin/accounts/${(await e.services.db.query<{ account_id: string }>(`SELECT account_id FROM api_keys WHERE role = 'admin' LIMIT 1`)).rows[0]!.account_id}/keys`,
        { key: world.admin, json: { mode: 'test' } },
      )
    ).body.key as string;
    expect((await client.call('POST', '/v1/admin/settlements', { key: testAdmin })).status).toBe(403);

    const outcome = await settleOnce(e.deps());
    expect(outcome).toMatchObject({ status: 'confirmed', receipts: 1 });
    const ada = await client.call('GET', `/v1/payouts/${WALLETS.ada}`);
    expect(ada.body).toMatchObject({ cumulative: liveEarned.total, unsettled: '0' });
    const testReceipt = await client.call('GET', `/v1/receipts/${testCall.body.attribution.receiptId}`, {
      key: testKey,
    });
    expect(testReceipt.status).toBe(200);
    expect(testReceipt.body).toMatchObject({ livemode: false, settlement: null });
    expect((await client.call('GET', '/v1/earnings', { key: adaTestKey })).body).toMatchObject({
      total: testEarned.total,
      settled: '0',
      unsettled: testEarned.total,
    });
    expect((await client.call('POST', `/v1/payouts/${WALLETS.ada}/claim`, { key: testKey })).status).toBe(403);
    await expectConsistent(e);
  });
});

describe('one settler at a time, on the recorded chain only', () => {
  // On PGlite there is one process by construction; the lock is the real server's.
  it.runIf(TEST_DB === 'pg')(
    'two settlers racing (separate connections): the epoch is published once, the other is told it is busy',
    async () => {
      const e = await setup();
      try {
        for (let round = 1; round <= 3; round++) {
          await e.retrieve(round % 2 ? 'how long should bread dough rise?' : 'fix a flat bicycle tyre');
          const outcomes = await Promise.all([settleOnce(e.deps()), settleOnce(e.deps()), settleOnce(e.deps())]);
          const statuses = outcomes.map((o) => o.status).sort();
          // One publishes; a racer that got the lock after it finds nothing to settle.
          expect(statuses.filter((s) => s === 'confirmed')).toHaveLength(1);
          expect(statuses.every((s) => s === 'confirmed' || s === 'busy' || s === 'idle')).toBe(true);
          expect((await e.tc.chain.readState()).epoch).toBe(BigInt(round));
          await expectConsistent(e);
        }
      } finally {
        await e.services.db.close();
      }
    },
  );

  it('refuses to settle to a distributor other than the one recorded for the deployment, sending nothing', async () => {
    const e = await setup();
    try {
      await e.retrieve('fix a flat bicycle tyre');
      expect(await settleOnce(e.deps())).toMatchObject({ status: 'confirmed', epoch: 1 });
      await e.retrieve('how long should bread dough rise?');
      const other = await deployTestChain();
      await expect(settleOnce(e.deps({ chain: other.chain }))).rejects.toThrow(
        /this deployment settles on chain \d+ to distributor .*refusing to settle/,
      );
      expect((await other.chain.readState()).epoch).toBe(0n);
      expect(await inFlightEpoch(e.services.db)).toBeNull(); // nothing was closed either
      expect(await settleOnce(e.deps())).toMatchObject({ status: 'confirmed', epoch: 2 });
      await expectConsistent(e);
    } finally {
      await e.services.db.close();
    }
  });
});

describe('settlement survives a crash at every step', () => {
  for (const step of ['built', 'sent', 'mined'] as const) {
    it(`killed after the epoch is ${step}: a restart finishes it, publishing and paying once`, async () => {
      const e = await setup();
      await e.retrieve('how long should bread dough rise?');
      await e.retrieve('fix a flat bicycle tyre');
      await expect(
        settleOnce(
          e.deps({
            afterStep: (s) => {
              if (s === step) throw new Crash(step);
            },
          }),
        ),
      ).rejects.toBeInstanceOf(Crash);
      const stuck = await inFlightEpoch(e.services.db);
      expect(stuck?.status).toBe(step === 'built' ? 'built' : 'submitted');
      expect(await balanceOf(e.services.db, SETTLED_ACCOUNT_ID, true)).toBe(0n); // the ledger never runs ahead of the chain

      const outcome = await settleOnce(e.deps(), { force: true });
      expect(outcome).toMatchObject({ status: 'confirmed', epoch: 1 });
      expect((await e.tc.chain.readState()).epoch).toBe(1n);
      await expectConsistent(e);
      expect((await settleOnce(e.deps())).status).toBe('idle'); // and nothing is left to pay again
      await e.services.db.close();
    });
  }

  it('killed after the publish transaction left but before it was recorded: the restart reads the chain and rolls forward', async () => {
    const e = await setup();
    await e.retrieve('how long should bread dough rise?');
    const dying: SettlementChain = {
      ...e.tc.chain,
      readState: () => e.tc.chain.readState(),
      publish: async (p) => {
        // Mined but never recorded here: anvil's automine can answer with the hash before the block exists.
        await e.tc.chain.waitForReceipt(await e.tc.chain.publish(p));
        throw new Crash('after send');
      },
    };
    await expect(settleOnce(e.deps({ chain: dying }))).rejects.toBeInstanceOf(Crash);
    expect((await inFlightEpoch(e.services.db))?.status).toBe('built');
    expect((await e.tc.chain.readState()).epoch).toBe(1n);
    expect(await settleOnce(e.deps(), { force: true })).toMatchObject({ status: 'confirmed', epoch: 1 });
    await expectConsistent(e);
    await e.services.db.close();
  });

  it('with the RPC unreachable, the epoch stays open (or in flight, retried with backoff) and the API keeps serving', async () => {
    const e = await setup();
    const down = createSettlementChain({
      rpcUrl: 'http://127.0.0.1:9',
      settlerKey: e.tc.settlerKey,
      distributor: e.tc.distributor,
      token: e.tc.token,
    });
    await e.retrieve('how long should bread dough rise?');
    await expect(settleOnce(e.deps({ chain: down }))).rejects.toThrow();
    expect(await inFlightEpoch(e.services.db)).toBeNull(); // still open: nothing closed while the chain is away

    // Built, then the chain goes away before the publish: it stays built and backs off.
    await expect(
      settleOnce(
        e.deps({
          afterStep: (s) => {
            if (s === 'built') throw new Crash('built');
          },
        }),
      ),
    ).rejects.toBeInstanceOf(Crash);
    await expect(settleOnce(e.deps({ chain: down }), { force: true })).rejects.toThrow();
    const waiting = await inFlightEpoch(e.services.db);
    expect(waiting).toMatchObject({ status: 'built' });
    expect(waiting!.attempts).toBeGreaterThanOrEqual(1);
    expect(waiting!.nextAttemptAt!.getTime()).toBeGreaterThan(Date.now());
    expect(await settleOnce(e.deps({ chain: down }))).toMatchObject({ status: 'waiting' });

    await e.retrieve('fix a flat bicycle tyre'); // the API keeps serving and billing
    const payout = await httpClient({ ...e.services, chain: down }).call('GET', `/v1/payouts/${WALLETS.ada}`);
    expect(payout.status).toBe(200);
    expect(payout.body.claimed).toBeNull();

    expect(await settleOnce(e.deps(), { force: true })).toMatchObject({ status: 'confirmed', epoch: 1 });
    expect(await settleOnce(e.deps())).toMatchObject({ status: 'confirmed', epoch: 2 }); // the later call, in the next epoch
    await expectConsistent(e);
    await e.services.db.close();
  });
});
