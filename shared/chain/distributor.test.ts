// CitepayDistributor on the shared anvil, through the SettlementChain port and raw viem calls.
import fc from 'fast-check';
import {
  BaseError,
  decodeErrorResult,
  encodeDeployData,
  getAddress,
  parseEventLogs,
  zeroHash,
  type Address,
  type Hex,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { beforeAll, describe, expect, it } from 'vitest';
import { citepayDistributorAbi, citepayDistributorBytecode } from '../../contracts/artifacts/CitepayDistributor.ts';
import { mockTokenAbi, mockTokenBytecode } from '../../contracts/artifacts/MockToken.ts';
import { deployTestChain, type TestChain } from '../../test/chain.ts';
import { createSettlementChain, DistributorRevertError, type SettlementChain } from './distributor.ts';
import { buildPayoutTree, buildReceiptsTree, type PayoutEntry, type PayoutTree } from '../core/merkle.ts';

const randomWallet = () => privateKeyToAccount(generatePrivateKey()).address;
const receiptsRoot = (tag: number) => buildReceiptsTree([`0x${tag.toString(16).padStart(64, '0')}`]).root;

/** The entries of the last tree published on each deployment (a later tree must keep every wallet). */
const latestEntries = new WeakMap<TestChain, PayoutEntry[]>();
const currentEntries = (t: TestChain) => latestEntries.get(t) ?? [];

/** Builds the tree, publishes it with its own total, waits; returns the tree and the tx receipt's logs. */
async function publishTree(
  t: TestChain,
  epoch: bigint,
  entries: PayoutEntry[],
  rRoot: Hex = receiptsRoot(Number(epoch)),
) {
  const tree = buildPayoutTree(entries);
  latestEntries.set(t, entries);
  const hash = await t.chain.publish({
    epoch,
    payoutRoot: tree.root,
    receiptsRoot: rRoot,
    totalCumulative: tree.totalCumulative,
  });
  expect((await t.chain.waitForReceipt(hash)).status).toBe('success');
  const receipt = await t.publicClient.getTransactionReceipt({ hash });
  return {
    tree,
    events: parseEventLogs({ abi: citepayDistributorAbi, logs: receipt.logs, eventName: 'EpochPublished' }),
  };
}

async function claimFor(chain: SettlementChain, tree: PayoutTree, wallet: Address) {
  const p = tree.proof(wallet)!;
  const hash = await chain.claim({ account: wallet, cumulative: p.cumulative, proof: p.proof });
  expect((await chain.waitForReceipt(hash)).status).toBe('success');
  return hash;
}

async function claimedEvents(t: TestChain, hash: Hex) {
  const receipt = await t.publicClient.getTransactionReceipt({ hash });
  return parseEventLogs({ abi: citepayDistributorAbi, logs: receipt.logs, eventName: 'Claimed' });
}

/**
 * Solvency: the distributor holds at least everything still claimable under the latest tree,
 * and exactly what was funded minus what was paid.
 */
async function expectSolvent(t: TestChain, latest: PayoutTree | undefined) {
  const balance = await t.chain.tokenBalance(t.distributor);
  const state = await t.chain.readState();
  let unclaimed = 0n;
  let paid = 0n;
  for (const { wallet, cumulative } of latest?.entries() ?? []) {
    const claimed = await t.chain.claimed(wallet);
    paid += claimed;
    unclaimed += cumulative > claimed ? cumulative - claimed : 0n;
  }
  expect(balance).toBeGreaterThanOrEqual(unclaimed);
  expect(balance).toBe(state.totalCumulative - paid);
}

async function expectRevert(p: Promise<unknown>, errorName: string) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a ${errorName} revert`).toBeInstanceOf(DistributorRevertError);
  expect((err as DistributorRevertError).errorName).toBe(errorName);
}

describe('CitepayDistributor', () => {
  let t: TestChain;
  beforeAll(async () => {
    t = await deployTestChain();
  });

  it('starts empty and reports its token and settler', async () => {
    expect(await t.chain.readState()).toEqual({ chainId: 31337, epoch: 0n, payoutRoot: zeroHash, totalCumulative: 0n });
    expect(
      await t.publicClient.readContract({ address: t.distributor, abi: citepayDistributorAbi, functionName: 'token' }),
    ).toBe(getAddress(t.token));
    expect(t.chain.settler).toBe(t.settler);
    const role = await t.publicClient.readContract({
      address: t.distributor,
      abi: citepayDistributorAbi,
      functionName: 'SETTLER_ROLE',
    });
    expect(
      await t.publicClient.readContract({
        address: t.distributor,
        abi: citepayDistributorAbi,
        functionName: 'hasRole',
        args: [role, t.settler],
      }),
    ).toBe(true);
  });

  it('runs epochs end to end: publish pulls exactly the delta, claims pay only what is new', async () => {
    const [a, b, c] = [randomWallet(), randomWallet(), randomWallet()];
    const treasury0 = await t.chain.tokenBalance(t.settler);

    // Epoch 1: a 3 USD, b 1.5 USD.
    const e1 = await publishTree(
      t,
      1n,
      [
        { wallet: a, cumulative: 3_000_000n },
        { wallet: b, cumulative: 1_500_000n },
      ],
      receiptsRoot(101),
    );
    expect(e1.events).toHaveLength(1);
    expect(e1.events[0]!.args).toMatchObject({
      epoch: 1n,
      payoutRoot: e1.tree.root,
      receiptsRoot: receiptsRoot(101),
      totalCumulative: 4_500_000n,
      funded: 4_500_000n,
    });
    expect(await t.chain.tokenBalance(t.distributor)).toBe(4_500_000n);
    expect(await t.chain.tokenBalance(t.settler)).toBe(treasury0 - 4_500_000n);
    expect(await t.chain.readState()).toEqual({
      chainId: 31337,
      epoch: 1n,
      payoutRoot: e1.tree.root,
      totalCumulative: 4_500_000n,
    });
    await expectSolvent(t, e1.tree);

    // a claims (the settler relays, pays gas; the tokens go to a).
    const first = await claimFor(t.chain, e1.tree, a);
    expect((await claimedEvents(t, first)).map((e) => e.args)).toEqual([
      { account: a, paid: 3_000_000n, cumulativeAmount: 3_000_000n, epoch: 1n },
    ]);
    expect(await t.chain.tokenBalance(a)).toBe(3_000_000n);
    expect(await t.chain.claimed(a)).toBe(3_000_000n);
    await expectSolvent(t, e1.tree);

    // The same claim again pays nothing: no revert, no event, no transfer.
    const again = await claimFor(t.chain, e1.tree, a);
    expect((await t.publicClient.getTransactionReceipt({ hash: again })).logs).toEqual([]);
    expect(await t.chain.tokenBalance(a)).toBe(3_000_000n);

    // Epoch 5 (gaps are fine): a +1 USD, b unchanged, c new. Only the growth (1 + 0.25 USD) is pulled.
    const e5 = await publishTree(t, 5n, [
      { wallet: a, cumulative: 4_000_000n },
      { wallet: b, cumulative: 1_500_000n },
      { wallet: c, cumulative: 250_000n },
    ]);
    expect(e5.events[0]!.args.funded).toBe(1_250_000n);
    expect(await t.chain.tokenBalance(t.settler)).toBe(treasury0 - 5_750_000n);
    await expectSolvent(t, e5.tree);

    // a gets only the increase; b claims two epochs' worth once; c its first.
    const later = await claimFor(t.chain, e5.tree, a);
    expect((await claimedEvents(t, later))[0]!.args).toEqual({
      account: a,
      paid: 1_000_000n,
      cumulativeAmount: 4_000_000n,
      epoch: 5n,
    });
    await claimFor(t.chain, e5.tree, b);
    await claimFor(t.chain, e5.tree, c);
    expect([await t.chain.tokenBalance(a), await t.chain.tokenBalance(b), await t.chain.tokenBalance(c)]).toEqual([
      4_000_000n,
      1_500_000n,
      250_000n,
    ]);
    expect(await t.chain.tokenBalance(t.distributor)).toBe(0n);
    await expectSolvent(t, e5.tree);

    // Old proofs do not verify against the new root; old receipts roots stay readable.
    const stale = e1.tree.proof(b)!;
    await expectRevert(t.chain.claim({ account: b, cumulative: stale.cumulative, proof: stale.proof }), 'InvalidProof');
    expect(await t.chain.receiptsRootOf(1n)).toBe(receiptsRoot(101));
    expect(await t.chain.receiptsRootOf(5n)).toBe(receiptsRoot(5));
    expect(await t.chain.receiptsRootOf(3n)).toBe(zeroHash);
  });

  it('lets only the settler publish', async () => {
    const outsider = await t.fundedAccount();
    const asOutsider = createSettlementChain({
      rpcUrl: t.rpcUrl,
      settlerKey: outsider.key,
      distributor: t.distributor,
      token: t.token,
    });
    const before = await t.chain.readState();
    await expectRevert(
      asOutsider.publish({
        epoch: before.epoch + 1n,
        payoutRoot: receiptsRoot(1),
        receiptsRoot: receiptsRoot(2),
        totalCumulative: before.totalCumulative,
      }),
      'AccessControlUnauthorizedAccount',
    );
    // Without simulation too: the mined transaction reverts and nothing changes.
    const hash = await outsider.wallet.writeContract({
      chain: null,
      address: t.distributor,
      abi: citepayDistributorAbi,
      functionName: 'publish',
      args: [before.epoch + 1n, receiptsRoot(1), receiptsRoot(2), before.totalCumulative],
      gas: 200_000n,
    });
    expect((await t.chain.waitForReceipt(hash)).status).toBe('reverted');
    expect(await t.chain.readState()).toEqual(before);
  });

  it('refuses a non-increasing epoch and a decreasing total', async () => {
    const s = await t.chain.readState();
    const root = receiptsRoot(9);
    await expectRevert(
      t.chain.publish({ epoch: s.epoch, payoutRoot: root, receiptsRoot: root, totalCumulative: s.totalCumulative }),
      'EpochNotIncreasing',
    );
    await expectRevert(
      t.chain.publish({
        epoch: s.epoch - 1n,
        payoutRoot: root,
        receiptsRoot: root,
        totalCumulative: s.totalCumulative,
      }),
      'EpochNotIncreasing',
    );
    await expectRevert(
      t.chain.publish({
        epoch: s.epoch + 1n,
        payoutRoot: root,
        receiptsRoot: root,
        totalCumulative: s.totalCumulative - 1n,
      }),
      'TotalCumulativeDecreased',
    );
    const err = await t.chain
      .publish({ epoch: s.epoch, payoutRoot: root, receiptsRoot: root, totalCumulative: s.totalCumulative })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `CitepayDistributor.publish reverted: EpochNotIncreasing(${s.epoch}, ${s.epoch})`,
    );
    expect(await t.chain.readState()).toEqual(s);
  });

  it('refuses a wrong proof, a wrong amount and another wallet’s proof; pays the account, never the relayer', async () => {
    const [a, b] = [randomWallet(), randomWallet()];
    const s = await t.chain.readState();
    const entries = [...currentEntries(t), { wallet: a, cumulative: 700n }, { wallet: b, cumulative: 900n }];
    const { tree } = await publishTree(t, s.epoch + 1n, entries);
    const pa = tree.proof(a)!;
    const pb = tree.proof(b)!;
    await expectRevert(t.chain.claim({ account: a, cumulative: 701n, proof: pa.proof }), 'InvalidProof');
    await expectRevert(t.chain.claim({ account: a, cumulative: 699n, proof: pa.proof }), 'InvalidProof');
    await expectRevert(t.chain.claim({ account: a, cumulative: 900n, proof: pb.proof }), 'InvalidProof');
    await expectRevert(t.chain.claim({ account: a, cumulative: 700n, proof: [...pa.proof.slice(1)] }), 'InvalidProof');
    await expectRevert(t.chain.claim({ account: b, cumulative: 700n, proof: pa.proof }), 'InvalidProof');

    // An unrelated relayer submits a's claim: a is paid, the relayer is not.
    const relayer = await t.fundedAccount();
    const asRelayer = createSettlementChain({
      rpcUrl: t.rpcUrl,
      settlerKey: relayer.key,
      distributor: t.distributor,
      token: t.token,
    });
    await claimFor(asRelayer, tree, a);
    expect(await t.chain.tokenBalance(a)).toBe(700n);
    expect(await t.chain.tokenBalance(relayer.address)).toBe(0n);
    await expectSolvent(t, tree);
  });

  it('claimMany pays a batch and skips what is already paid', async () => {
    const wallets = [randomWallet(), randomWallet(), randomWallet()];
    const s = await t.chain.readState();
    const entries = [
      ...currentEntries(t),
      ...wallets.map((wallet, i) => ({ wallet, cumulative: BigInt(i + 1) * 1000n })),
    ];
    const { tree } = await publishTree(t, s.epoch + 1n, entries);
    await claimFor(t.chain, tree, wallets[0]!); // already paid: skipped in the batch
    const proofs = wallets.map((w) => tree.proof(w)!);
    const args = [proofs.map((p) => p.wallet), proofs.map((p) => p.cumulative), proofs.map((p) => p.proof)] as const;
    const { request, result } = await t.publicClient.simulateContract({
      account: t.settler,
      address: t.distributor,
      abi: citepayDistributorAbi,
      functionName: 'claimMany',
      args: [...args],
    });
    expect(result).toBe(5000n);
    const hash = await (await t.fundedAccount()).wallet.writeContract({ ...request, account: undefined, chain: null });
    expect((await t.chain.waitForReceipt(hash)).status).toBe('success');
    expect((await claimedEvents(t, hash)).map((e) => [e.args.account, e.args.paid])).toEqual([
      [wallets[1], 2000n],
      [wallets[2], 3000n],
    ]);
    expect(await Promise.all(wallets.map((w) => t.chain.tokenBalance(w)))).toEqual([1000n, 2000n, 3000n]);
    await expectSolvent(t, tree);

    await expect(
      t.publicClient.simulateContract({
        account: t.settler,
        address: t.distributor,
        abi: citepayDistributorAbi,
        functionName: 'claimMany',
        args: [args[0], args[1].slice(1), args[2]],
      }),
    ).rejects.toThrow(/LengthMismatch/);
  });

  it('refuses a token whose unit is not the micro-USD (5 decimals), accepts 6', async () => {
    const deployer = await t.fundedAccount();
    const deployToken = async (decimals: number) => {
      const hash = await deployer.wallet.deployContract({
        chain: null,
        abi: mockTokenAbi,
        bytecode: mockTokenBytecode,
        args: [decimals],
      });
      return (await t.publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
    };
    const deployDistributor = (token: Address) =>
      t.publicClient.call({
        account: deployer.address,
        data: encodeDeployData({
          abi: citepayDistributorAbi,
          bytecode: citepayDistributorBytecode,
          args: [token, deployer.address, deployer.address],
        }),
      });
    const err = await deployDistributor(await deployToken(5)).catch((e: unknown) => e);
    const data =
      err instanceof BaseError
        ? (err.walk((e) => typeof (e as { data?: unknown }).data === 'string') as { data?: Hex } | null)?.data
        : undefined;
    expect(data, String(err)).toBeDefined();
    expect(decodeErrorResult({ abi: citepayDistributorAbi, data: data! })).toMatchObject({
      errorName: 'UnitOfAccountMismatch',
      args: [5],
    });
    await expect(deployDistributor(await deployToken(6))).resolves.toBeDefined();
  });
});

describe('CitepayDistributor (property): random epochs, payees and claims keep it solvent and pay each wallet exactly its cumulative', () => {
  it('holds', async () => {
    const step = fc.record({
      // Per payee (index into a pool of 6 wallets): how much it earned this epoch (0 = nothing / absent so far).
      earned: fc.array(fc.bigInt({ min: 0n, max: 5_000_000n }), { minLength: 6, maxLength: 6 }),
      epochGap: fc.integer({ min: 1, max: 3 }),
      claims: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { maxLength: 6 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 4 }), async (steps) => {
        const t = await deployTestChain();
        const pool = Array.from({ length: 6 }, randomWallet);
        const cumulative = new Map<Address, bigint>();
        let epoch = 0n;
        let tree: PayoutTree | undefined;
        for (const s of steps) {
          s.earned.forEach((amount, i) => {
            if (amount > 0n || cumulative.has(pool[i]!))
              cumulative.set(pool[i]!, (cumulative.get(pool[i]!) ?? 0n) + amount);
          });
          if (cumulative.size === 0) continue;
          epoch += BigInt(s.epochGap);
          const before = await t.chain.readState();
          ({ tree } = await publishTree(
            t,
            epoch,
            [...cumulative].map(([wallet, c]) => ({ wallet, cumulative: c })),
          ));
          expect((await t.chain.readState()).totalCumulative - before.totalCumulative).toBe(
            tree.totalCumulative - before.totalCumulative,
          );
          await expectSolvent(t, tree);
          for (const i of s.claims) {
            if (!tree.proof(pool[i]!)) continue;
            await claimFor(t.chain, tree, pool[i]!);
            await expectSolvent(t, tree);
          }
        }
        // Everyone claims at the end: each holds exactly its cumulative, the distributor is empty.
        for (const [wallet, c] of cumulative) {
          await claimFor(t.chain, tree!, wallet);
          expect(await t.chain.tokenBalance(wallet)).toBe(c);
        }
        expect(await t.chain.tokenBalance(t.distributor)).toBe(0n);
      }),
      { numRuns: 12 },
    );
  });
});
