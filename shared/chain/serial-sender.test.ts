// One signer per key, on the shared anvil with a fresh deployment: many claims relayed at once through
// one port, through two ports sharing a database lock (two processes' worth of senders), and with a
// second wallet on the same key sending behind the sender's back. No nonce error reaches the caller
// and each wallet is paid exactly once.
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createWalletClient, http, parseEther, type Address } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import { deployTestChain, type TestChain } from '../../test/chain.ts';
import { testDatabaseUrl } from '../../test/services.ts';
import { buildPayoutTree, buildReceiptsTree, type PayoutTree } from '../core/merkle.ts';
import type { Db } from '../db/index.ts';
import { openPg } from '../db/pg.ts';
import { createDbSignerLock } from '../services/signer-lock.ts';
import { createSettlementChain, type SettlementChain } from './distributor.ts';
import { createSerialSender, isNonceError } from './serial-sender.ts';
import { postgresInstalled } from '../../test/postgres-server.ts';

const WALLET_COUNT = 40;
const randomWallet = () => privateKeyToAccount(generatePrivateKey()).address;

describe('one signer per key', () => {
  let t: TestChain;
  let tree: PayoutTree;
  let wallets: Address[];

  beforeAll(async () => {
    t = await deployTestChain();
    wallets = Array.from({ length: WALLET_COUNT }, randomWallet);
    tree = buildPayoutTree(wallets.map((wallet, i) => ({ wallet, cumulative: BigInt(1_000 + i) })));
    const hash = await t.chain.publish({
      epoch: 1n,
      payoutRoot: tree.root,
      receiptsRoot: buildReceiptsTree([`0x${'1'.padStart(64, '0')}`]).root,
      totalCumulative: tree.totalCumulative,
    });
    expect((await t.chain.waitForReceipt(hash)).status).toBe('success');
  });

  const claimAll = (chains: SettlementChain[], subset: Address[]) =>
    Promise.allSettled(
      subset.map(async (wallet, i) => {
        const p = tree.proof(wallet)!;
        const chain = chains[i % chains.length]!;
        const hash = await chain.claim({ account: wallet, cumulative: p.cumulative, proof: p.proof });
        return (await chain.waitForReceipt(hash)).status;
      }),
    );
  const expectPaidOnce = async (subset: Address[]) => {
    for (const wallet of subset) expect(await t.chain.tokenBalance(wallet)).toBe(tree.proof(wallet)!.cumulative);
  };

  it('relays 10 claims at once through one port without a nonce error', async () => {
    const subset = wallets.slice(0, 10);
    const results = await claimAll([t.chain], subset);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(results.map((r) => (r as PromiseFulfilledResult<string>).value)).toEqual(subset.map(() => 'success'));
    await expectPaidOnce(subset);
  });

  it('re-reads the nonce from the chain when another wallet on the same key sent behind its back', async () => {
    const subset = wallets.slice(10, 20);
    const outsider = (await t.fundedAccount()).wallet;
    // Same key, no lock: a second signer the sender knows nothing about (an operator's script, a restarted node).
    const same = createWalletClient({ account: privateKeyToAccount(t.settlerKey), transport: http(t.rpcUrl) });
    const noise = Array.from({ length: 5 }, () =>
      same
        .sendTransaction({ chain: null, to: outsider.account.address, value: parseEther('0.001') })
        .catch((err: Error) => err),
    );
    const results = await claimAll([t.chain], subset);
    await Promise.all(noise);
    expect(
      results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)),
    ).toEqual([]);
    await expectPaidOnce(subset);
  });

  it.skipIf(!postgresInstalled())(
    "serialises two processes' senders through the database lock: 20 claims, each paid once",
    async () => {
      const subset = wallets.slice(20, 40);
      // One database, two pools: PostgreSQL's advisory locks are per database, as two processes of
      // one deployment share theirs (two databases would never contend for the lock).
      const url = await testDatabaseUrl();
      const dbs: Db[] = [await openPg(url, { max: 5 }), await openPg(url, { max: 5 })];
      try {
        const settler = privateKeyToAccount(t.settlerKey).address;
        // Two ports as two processes build them: own pool, own sender, one lock named after the key.
        const chains = dbs.map((db) =>
          createSettlementChain({
            rpcUrl: t.rpcUrl,
            settlerKey: t.settlerKey,
            distributor: t.distributor,
            token: t.token,
            pollingInterval: 50,
            sender: createSerialSender(createDbSignerLock(db, settler)),
          }),
        );
        const results = await claimAll(chains, subset);
        const errors = results
          .filter((r) => r.status === 'rejected')
          .map((r) => (r as PromiseRejectedResult).reason as Error);
        expect(errors.filter(isNonceError)).toEqual([]);
        expect(errors).toEqual([]);
        await expectPaidOnce(subset);
        // Claimed again, concurrently: the contract pays nothing more.
        await claimAll(chains, subset.slice(0, 6));
        await expectPaidOnce(subset);
      } finally {
        for (const db of dbs) await db.close();
      }
    },
  );
});

describe('isNonceError', () => {
  it("knows the nodes' texts for a stale nonce and nothing else", () => {
    expect(
      isNonceError(new Error('Nonce provided for the transaction is lower than the current nonce of the account')),
    ).toBe(true);
    expect(isNonceError(new Error('nonce too low: next nonce 5, tx nonce 4'))).toBe(true);
    expect(isNonceError(new Error('replacement transaction underpriced'))).toBe(true);
    expect(isNonceError(new Error('execution reverted: InvalidProof'))).toBe(false);
  });
});
