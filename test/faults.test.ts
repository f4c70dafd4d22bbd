import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startResultsConsumer } from '../functions/queue/results-consumer.ts';
import { ANVIL_DEPLOYER_KEY, ANVIL_SETTLER_KEY, startAnvil, type AnvilInstance } from '../shared/chain/anvil.ts';
import { deployLocalContracts } from '../shared/chain/deploy.ts';
import { createSettlementChain } from '../shared/chain/distributor.ts';
import { GenerationEventSchema } from '../shared/generation/messages.ts';
import { createSqsQueue } from '../shared/job-queue/sqs.ts';
import { applyGenerationEvent } from '../shared/services/answer-results.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { settleOnce } from '../shared/services/settlement.ts';
import { SETTLED_ACCOUNT_ID } from '../shared/store/accounts.ts';
import { balanceOf } from '../shared/store/ledger.ts';
import { DOCS } from './fixtures.ts';
import { createGenerationServices, startWorker, type WorkerHandle } from './generation.ts';
import { createWorld, httpClient, WALLETS } from './http.ts';
import { createTestServices } from './services.ts';

// Faults that must lose no answer, charge nothing twice and leave the ledger balanced. (Also:
// a worker killed mid-job, redelivered after its visibility timeout — test/worker-crash.test.ts;
// PostgreSQL restarted under load — test/postgres-outage.test.ts; the settler killed at every
// step and the RPC unreachable — shared/services/settlement.test.ts.)

const green = async (db: Parameters<typeof checkLedger>[0]) =>
  expect((await checkLedger(db)).filter((c) => !c.ok)).toEqual([]);

describe('the results consumer killed between billing and deleting the message', () => {
  let worker: WorkerHandle | undefined;
  afterAll(() => worker?.stop('SIGKILL'));

  it('applies the redelivered result again without charging twice, and the answer is not lost', async () => {
    const env = await createGenerationServices({}, { visibilitySeconds: 2 });
    await env.consumer.stop(); // this test consumes the results queue by hand, then "crashes"
    const { services } = env;
    const client = httpClient(services);
    const world = await createWorld(services, { credits: '1000000' });
    await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: DOCS.tides });
    worker = await startWorker(services);
    const accepted = await client.call('POST', '/v1/answers', {
      key: world.consumer.key,
      json: { query: 'What causes the tides?', mode: 'async' },
    });
    expect(accepted.status).toBe(202);

    // The doomed consumer: applies every event in order, but dies right after billing the
    // completed one, before its delete.
    const results = createSqsQueue(env.client, env.urls.resultsUrl);
    let billed = false;
    await vi.waitFor(
      async () => {
        for (const m of await results.receive({ maxMessages: 10, waitSeconds: 1, visibilitySeconds: 2 })) {
          const event = GenerationEventSchema.parse(JSON.parse(m.body));
          await applyGenerationEvent(services, event);
          if (event.type === 'completed')
            billed = true; // crash: no delete
          else await results.delete(m.receiptHandle);
        }
        expect(billed).toBe(true);
      },
      { timeout: 60_000, interval: 50 },
    );
    const charges = async () =>
      (
        await services.db.query(`SELECT count(*)::int AS n FROM ledger_transactions WHERE request_id = $1`, [
          accepted.body.requestId,
        ])
      ).rows[0] as { n: number };
    expect(await charges()).toEqual({ n: 1 });

    // A new consumer gets the message again after its visibility timeout, applies it, deletes it.
    const replacement = startResultsConsumer(services, results, { sweepMs: 500 });
    try {
      await vi.waitFor(async () => expect(await results.depth()).toEqual({ visible: 0, inFlight: 0 }), {
        timeout: 30_000,
        interval: 100,
      });
    } finally {
      await replacement.stop();
    }
    const answer = await client.call('GET', `/v1/answers/${accepted.body.id}`, { key: world.consumer.key });
    expect(answer.body.status).toBe('succeeded');
    expect(await charges()).toEqual({ n: 1 });
    const usage = await client.call('GET', '/v1/usage', { key: world.consumer.key });
    expect(usage.body.spend).toBe(answer.body.usage.charged);
    await green(services.db);
    await services.db.close();
  });
});

describe('the chain node restarted in the middle of a settlement', () => {
  let node: AnvilInstance | undefined;
  afterAll(() => node?.stop());

  it('finishes the epoch once, the ledger and the chain agree, and a claim pays once', async () => {
    const port = await freePort();
    const statePath = join(mkdtempSync(join(tmpdir(), 'citepay-anvil-')), 'state.json');
    node = await startAnvil({ port, statePath, stateIntervalSeconds: 1, silent: true });
    const rpcUrl = `http://127.0.0.1:${port}`;
    const deployed = await deployLocalContracts({
      rpcUrl,
      deployerKey: ANVIL_DEPLOYER_KEY,
      settlerKey: ANVIL_SETTLER_KEY,
      treasuryFunding: 10n ** 12n,
    });
    const chain = createSettlementChain({
      rpcUrl,
      settlerKey: ANVIL_SETTLER_KEY,
      distributor: deployed.distributor,
      token: deployed.token,
      pollingInterval: 50,
    });
    const services = await createTestServices({}, { chain });
    const client = httpClient(services);
    const world = await createWorld(services, { credits: '100000000', price: '10000' });
    await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: DOCS.bread });
    expect(
      (
        await client.call('POST', '/v1/retrieve', {
          key: world.consumer.key,
          json: { query: 'how long should bread dough rise?' },
        })
      ).status,
    ).toBe(200);
    const deps = { db: services.db, chain, log: services.log, minPayout: 1000n, receiptTimeoutMs: 5_000 };

    // The publish leaves; the node goes down (dumping its state) and comes back on the same port.
    const restart = async () => {
      await node!.stop();
      node = await startAnvil({ port, statePath, stateIntervalSeconds: 1, silent: true });
    };
    const first = await settleOnce({
      ...deps,
      afterStep: async (step) => {
        if (step === 'sent') await restart();
      },
    }).catch((err: Error) => err);
    // Whatever the first pass saw (confirmed, or left in flight by the restart), the next one rolls forward.
    const outcome =
      first instanceof Error || first.status !== 'confirmed' ? await settleOnce(deps, { force: true }) : first;
    expect(outcome).toMatchObject({ status: 'confirmed', epoch: 1 });
    expect(await settleOnce(deps)).toMatchObject({ status: 'idle' });

    const state = await chain.readState();
    expect(state.epoch).toBe(1n);
    expect(state.totalCumulative).toBe(await balanceOf(services.db, SETTLED_ACCOUNT_ID, true)); // published exactly what the ledger moved
    expect(await chain.tokenBalance(deployed.distributor)).toBe(state.totalCumulative); // funded once
    const claim = await client.call('POST', `/v1/payouts/${WALLETS.ada}/claim`, { key: world.ada.key });
    expect(claim.body.paid).toBe(state.totalCumulative.toString());
    expect((await client.call('POST', `/v1/payouts/${WALLETS.ada}/claim`, { key: world.ada.key })).body.paid).toBe('0');
    await green(services.db);
    await services.db.close();
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}
