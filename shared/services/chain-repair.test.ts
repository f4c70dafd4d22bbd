// Finality and the reconciler, on an anvil of this file's own (the test rewinds it, as a node
// restored from an older state would, which the shared node must never see).
import { createTestClient, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANVIL_DEPLOYER_KEY, ANVIL_DEV_ACCOUNTS, startAnvil, type AnvilInstance } from '../chain/anvil.ts';
import { deployLocalContracts } from '../chain/deploy.ts';
import { createSettlementChain, type SettlementChain } from '../chain/distributor.ts';
import { SETTLED_ACCOUNT_ID } from '../store/accounts.ts';
import { balanceOf } from '../store/ledger.ts';
import { findEpoch } from '../store/settlement.ts';
import { createTestServices } from '../../test/services.ts';
import { WALLETS, createWorld, httpClient, type Client } from '../../test/http.ts';
import { DOCS } from '../../test/fixtures.ts';
import type { Services } from './container.ts';
import { reconcileChain } from './chain-repair.ts';
import { checkLedger } from './ledger-check.ts';
import { settleOnce, type SettlementDeps } from './settlement.ts';

const CONFIRMATIONS = 3;
/** Not anvil's usual settler (account 1): that is Ada's wallet in test/http.ts. */
const SETTLER_KEY = ANVIL_DEV_ACCOUNTS[3]!.privateKey;

describe('finality and the chain reconciler', () => {
  let anvil: AnvilInstance;
  let chain: SettlementChain;
  let services: Services;
  let client: Client;
  let world: Awaited<ReturnType<typeof createWorld>>;
  let testClient: ReturnType<typeof createTestClient>;
  let deps: SettlementDeps;

  beforeAll(async () => {
    anvil = await startAnvil({ port: 0, silent: true });
    testClient = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) });
    const d = await deployLocalContracts({
      rpcUrl: anvil.rpcUrl,
      deployerKey: ANVIL_DEPLOYER_KEY,
      settlerKey: SETTLER_KEY,
      treasuryFunding: 10n ** 12n,
    });
    chain = createSettlementChain({
      rpcUrl: anvil.rpcUrl,
      settlerKey: SETTLER_KEY,
      distributor: d.distributor,
      token: d.token,
      pollingInterval: 50,
      finality: { kind: 'confirmations', confirmations: CONFIRMATIONS },
    });
    services = await createTestServices({ SETTLEMENT_FINALITY: String(CONFIRMATIONS) }, { chain });
    client = httpClient(services);
    world = await createWorld(services, { credits: '100000000', price: '10000' });
    await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: DOCS.bread });
    await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
    deps = { db: services.db, chain, log: services.log, minPayout: 1000n, receiptTimeoutMs: 10_000 };
  });
  afterAll(async () => {
    await services?.db.close();
    await anvil?.stop();
  });

  const retrieve = async (query: string) =>
    expect(
      (await client.call('POST', '/v1/retrieve', { key: world.consumer.key, json: { query, topK: 2 } })).status,
    ).toBe(200);
  const failed = async () => (await checkLedger(services.db, { chain })).filter((c) => !c.ok).map((c) => c.name);

  it(`confirms an epoch only once it is ${CONFIRMATIONS} blocks deep; until then the ledger does not move`, async () => {
    await retrieve('how long should bread dough rise?');
    const first = await settleOnce(deps);
    expect(first).toMatchObject({ status: 'waiting', epoch: 1, finality: true });
    expect((await findEpoch(services.db, 1))?.status).toBe('submitted');
    expect(await balanceOf(services.db, SETTLED_ACCOUNT_ID, true)).toBe(0n);
    expect((await chain.readState()).epoch).toBe(1n); // published, not final
    expect(await failed()).toEqual([]); // the chain-aware check accepts an epoch awaiting finality

    await testClient.mine({ blocks: CONFIRMATIONS - 2 });
    expect(await settleOnce(deps, { force: true })).toMatchObject({ status: 'waiting', epoch: 1 });
    await testClient.mine({ blocks: 1 });
    const done = await settleOnce(deps, { force: true });
    expect(done).toMatchObject({ status: 'confirmed', epoch: 1 });
    expect(await balanceOf(services.db, SETTLED_ACCOUNT_ID, true)).toBe((await chain.readState()).totalCumulative);
    expect(await failed()).toEqual([]);
  });

  it('re-publishes the epochs and re-relays the claims a rewound chain lost, paying nobody twice, and meters each repair', async () => {
    const snapshot = await testClient.snapshot();
    await retrieve('fix a flat bicycle tyre');
    expect(await settleOnce(deps)).toMatchObject({ status: 'waiting', epoch: 2 });
    await testClient.mine({ blocks: CONFIRMATIONS });
    expect(await settleOnce(deps, { force: true })).toMatchObject({ status: 'confirmed', epoch: 2 });
    const claim = await client.call('POST', `/v1/payouts/${WALLETS.ada}/claim`, { key: world.consumer.key });
    expect(claim.status).toBe(200);
    const adaPaid = BigInt(claim.body.paid);
    expect(adaPaid).toBeGreaterThan(0n);
    const settled = await balanceOf(services.db, SETTLED_ACCOUNT_ID, true);
    expect(await failed()).toEqual([]);

    // The node forgets: back to before epoch 2 and the claim (an anvil killed before it saved its state).
    await testClient.revert({ id: snapshot });
    expect((await chain.readState()).epoch).toBe(1n);
    expect(await chain.tokenBalance(WALLETS.ada)).toBe(0n);
    expect(await failed()).toEqual(
      expect.arrayContaining([
        'chain: the distributor holds every confirmed epoch',
        'chain: every relayed claim is on chain',
      ]),
    );

    const outcome = await reconcileChain(deps);
    expect(outcome.status).toBe('done');
    if (outcome.status !== 'done') return;
    expect(outcome.repairs.map((r) => [r.kind, r.subject])).toEqual([
      ['epoch', '2'],
      ['claim', WALLETS.ada],
    ]);
    expect(outcome.discrepancies).toEqual([]);
    expect((await chain.readState()).totalCumulative).toBe(settled);
    expect(await chain.tokenBalance(WALLETS.ada)).toBe(adaPaid);
    expect(await failed()).toEqual([]);

    // A second pass finds nothing to repair; a second claim pays nothing.
    const again = await reconcileChain(deps);
    expect(again).toMatchObject({ status: 'done', repairs: [], discrepancies: [] });
    expect(
      (await client.call('POST', `/v1/payouts/${WALLETS.ada}/claim`, { key: world.consumer.key })).body,
    ).toMatchObject({ paid: '0' });
    expect(await chain.tokenBalance(WALLETS.ada)).toBe(adaPaid);

    const metric = await services.metrics!.registry.getSingleMetricAsString('citepay_chain_repairs_total');
    expect(metric).toContain('citepay_chain_repairs_total{kind="epoch"} 1');
    expect(metric).toContain('citepay_chain_repairs_total{kind="claim"} 1');
  });

  it('a settler that finds confirmed epochs missing re-publishes them before the next, which funds only its own growth', async () => {
    const snapshot = await testClient.snapshot();
    await retrieve('proofing bread dough overnight');
    await settleOnce(deps);
    await testClient.mine({ blocks: CONFIRMATIONS });
    expect(await settleOnce(deps, { force: true })).toMatchObject({ status: 'confirmed', epoch: 3 });
    await testClient.revert({ id: snapshot });

    await retrieve('bicycle puncture repair kit');
    expect(await settleOnce(deps, { force: true })).toMatchObject({ status: 'waiting', epoch: 4 });
    await testClient.mine({ blocks: CONFIRMATIONS });
    expect(await settleOnce(deps, { force: true })).toMatchObject({ status: 'confirmed', epoch: 4 });
    expect(await chain.receiptsRootOf(3n)).toBe((await findEpoch(services.db, 3))!.receiptsRoot);
    expect((await chain.readState()).totalCumulative).toBe(await balanceOf(services.db, SETTLED_ACCOUNT_ID, true));
    expect(await failed()).toEqual([]);
  });

  it('names an epoch the chain skipped while the next one carried its total (the over-funding issue 17 found)', async () => {
    await retrieve('bread crust and oven steam');
    const snapshot = await testClient.snapshot();
    await settleOnce(deps);
    await testClient.mine({ blocks: CONFIRMATIONS });
    const settled = await settleOnce(deps, { force: true });
    expect(settled.status).toBe('confirmed');
    const lost = (await findEpoch(services.db, (settled as { epoch: number }).epoch))!;
    await testClient.revert({ id: snapshot });
    // An old settler's repair: the lost epoch's roots and total published under the next number.
    await chain.waitForReceipt(
      await chain.publish({
        epoch: BigInt(lost.epoch + 1),
        payoutRoot: lost.payoutRoot,
        receiptsRoot: lost.receiptsRoot,
        totalCumulative: lost.totalCumulative,
      }),
    );
    const checks = await checkLedger(services.db, { chain });
    // The head and epoch counts alone cannot see it (the chain is past the lost epoch); the events do.
    expect(checks.find((c) => c.name === 'chain: the distributor holds every confirmed epoch')?.ok).toBe(true);
    const published = checks.find((c) => c.name.startsWith('chain: each confirmed epoch was published once'))!;
    expect(published.ok).toBe(false);
    expect(published.offenders).toContain(`epoch=${lost.epoch} published 0 times`);
  });
});
