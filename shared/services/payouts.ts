import { paymentsForRequest } from '../store/x402.ts';
import { emitForWallet } from '../store/webhooks.ts';
import { getAddress, type Address, type Hex } from 'viem';
import { loadPayoutTree, loadReceiptsTree, type PayoutTree, type ReceiptsTree } from '../core/merkle.ts';
import { Conflict, DomainError, InvalidInput, NotFound, Unavailable } from '../errors.ts';
import { findAccount, findAccountByWallet } from '../store/accounts.ts';
import { balanceOf } from '../store/ledger.ts';
import { findReceipt, type StoredReceipt } from '../store/receipts.ts';
import {
  findEpoch,
  latestConfirmedEpoch,
  payoutTreeOf,
  receiptsTreeOf,
  recordClaimOutcome,
  recordClaimSending,
  settledFor,
  type EpochRecord,
} from '../store/settlement.ts';
import { ChainBusy } from '../chain/serial-sender.ts';
import type { Services } from './container.ts';
import type { Principal } from './api-keys.ts';
import { requireReachable } from './test-mode.ts';

// Reading what settlement published: a wallet's cumulative amount and proof, a receipt's
// inclusion proof, and relaying a claim on the wallet's behalf.

/** Keyed by root (content-addressed, so never stale); keep the last few loaded (a 100k-payee dump takes a while to re-hash). */
const trees = new Map<string, PayoutTree | ReceiptsTree>();
async function cachedTree<T extends PayoutTree | ReceiptsTree>(
  key: string,
  load: () => Promise<T | null>,
): Promise<T | null> {
  const hit = trees.get(key) as T | undefined;
  if (hit) return hit;
  const tree = await load();
  if (tree) {
    if (trees.size >= 8) trees.delete(trees.keys().next().value!);
    trees.set(key, tree);
  }
  return tree;
}

export function parseWallet(wallet: string): Address {
  try {
    return getAddress(wallet);
  } catch {
    throw new InvalidInput(`wallet: not an Ethereum address: ${wallet.slice(0, 60)}`, 'wallet');
  }
}

export interface PayoutView {
  wallet: Address;
  /** the latest confirmed epoch (its payout root is the one on chain) */
  epoch: number | null;
  cumulative: bigint;
  claimed: bigint | null;
  claimable: bigint | null;
  proof: Hex[];
  payoutRoot: Hex | null;
  unsettled: bigint;
}

export async function payoutOf(services: Services, wallet: Address): Promise<PayoutView> {
  const settled = await settledPayoutOf(services, wallet);
  const account = await findAccountByWallet(services.db, wallet);
  // Live earnings only: test ones never settle.
  return {
    ...settled,
    unsettled: account?.kind === 'contributor' ? await balanceOf(services.db, account.id, true) : 0n,
  };
}

/** payoutOf without `unsettled` (a sum over the account's whole ledger): for callers that have it already. */
export async function settledPayoutOf(services: Services, wallet: Address): Promise<Omit<PayoutView, 'unsettled'>> {
  const { db, chain } = services;
  const epoch = await latestConfirmedEpoch(db);
  const tree = epoch
    ? await cachedTree(`payout:${epoch.payoutRoot}`, async () => {
        const dump = await payoutTreeOf(db, epoch.epoch);
        return dump ? loadPayoutTree(dump) : null;
      })
    : null;
  const leaf = (tree as PayoutTree | null)?.proof(wallet);
  // The chain is the truth for what was claimed; when it cannot be reached, say so instead of guessing.
  const claimed = chain ? await chain.claimed(wallet).catch(() => null) : null;
  const cumulative = leaf?.cumulative ?? (await settledFor(db, wallet))?.cumulative ?? 0n;
  return {
    wallet,
    epoch: epoch?.epoch ?? null,
    cumulative,
    claimed,
    claimable: claimed === null ? null : cumulative > claimed ? cumulative - claimed : 0n,
    proof: leaf?.proof ?? [],
    payoutRoot: epoch?.payoutRoot ?? null,
  };
}

export interface ClaimOutcome {
  view: PayoutView;
  paid: bigint;
  txHash: Hex | null;
}

/**
 * Relayer: submit the wallet's claim with the settler key paying gas; the tokens go to the wallet.
 * The claim is recorded before it is sent, so the reconciler can re-relay it if the chain loses it
 * (safe: a claim pays only `cumulative − already claimed`). Any chain failure is a 503 with Retry-After.
 */
export async function relayClaim(services: Services, wallet: Address): Promise<ClaimOutcome> {
  const chain = services.chain;
  if (!chain) throw new Unavailable('claims need a chain: set CHAIN_RPC_URL (npm start runs a local one)', 'chain');
  try {
    const before = await payoutOf(services, wallet);
    if (before.claimed === null)
      throw new Unavailable('the chain cannot be reached right now: try again shortly', 'chain', 5);
    if (before.claimable === 0n) return { view: before, paid: 0n, txHash: null };
    const record = await recordClaimSending(services.db, wallet, before.cumulative);
    const txHash = await chain.claim({ account: wallet, cumulative: before.cumulative, proof: before.proof });
    await recordClaimOutcome(services.db, record, { status: 'sent', txHash });
    const outcome = await chain.waitForReceipt(txHash, 60_000);
    await recordClaimOutcome(services.db, record, {
      status: outcome.status === 'success' ? 'mined' : 'reverted',
      txHash,
      blockNumber: outcome.blockNumber,
    });
    if (outcome.status !== 'success') throw new Conflict(`the claim transaction ${txHash} reverted`);
    // What THIS transaction paid (its Claimed event): a claim racing another for the same wallet pays 0.
    const after = await payoutOf(services, wallet);
    // payout.claimed webhooks, once the claim is final on chain (the chain, not this database, holds claims).
    if (outcome.paid > 0n)
      await emitForWallet(services.db, wallet, 'payout.claimed', {
        wallet,
        paid: outcome.paid.toString(),
        cumulative: after.cumulative.toString(),
        txHash,
        currency: 'USD',
        unit: 'micro',
      });
    return { view: after, paid: outcome.paid, txHash };
  } catch (err) {
    if (err instanceof DomainError) throw err;
    if (err instanceof ChainBusy) throw new Unavailable(err.message, 'chain', err.retryAfterSeconds);
    services.log.warn('relayed claim failed', { wallet, error: (err as Error).message.split('\n')[0] });
    throw new Unavailable(`the claim could not be relayed: ${(err as Error).message.split('\n')[0]}`, 'chain', 5);
  }
}

export interface ReceiptView {
  stored: StoredReceipt;
  settlement: {
    epoch: number;
    status: EpochRecord['status'];
    receiptsRoot: Hex;
    txHash: Hex | null;
    /** only once the epoch is confirmed on chain */
    proof: Hex[] | null;
    leafIndex: number | null;
  } | null;
  /** an x402-paid call: the payment that bought it, and its on-chain transaction once settled */
  payment: { payer: string; amount: bigint; status: string; txHash: string | null } | null;
}

/** The payer, any wallet the receipt pays, or an admin may read it; anyone else gets 404, not 403. */
export async function receiptFor(services: Services, principal: Principal, id: string): Promise<ReceiptView> {
  const { db } = services;
  const stored = await findReceipt(db, id);
  const notFound = new NotFound(`no receipt ${id}`, 'receipt', id);
  if (!stored) throw notFound;
  if (principal.role !== 'admin' && principal.accountId !== stored.payerAccountId) {
    const wallet = (await findAccount(db, principal.accountId))?.wallet;
    const paid = [...stored.receipt.sources.map((s) => s.wallet), stored.receipt.adapter?.wallet];
    if (!wallet || !paid.includes(wallet)) throw notFound;
  }
  requireReachable(principal, stored, 'receipt', id); // a test key or session never reads a live receipt
  const paid = (await paymentsForRequest(db, stored.requestId)).find((p) => p.status !== 'refused');
  const payment = paid ? { payer: paid.payer, amount: paid.amount, status: paid.status, txHash: paid.txHash } : null;
  if (stored.epoch === null) return { stored, settlement: null, payment };
  const epoch = (await findEpoch(db, stored.epoch))!;
  let proof: Hex[] | null = null;
  if (epoch.status === 'confirmed') {
    const tree = (await cachedTree(`receipts:${epoch.receiptsRoot}`, async () => {
      const dump = await receiptsTreeOf(db, epoch.epoch);
      return dump ? loadReceiptsTree(dump) : null;
    })) as ReceiptsTree | null;
    proof = tree?.proof(stored.hash)?.proof ?? null;
  }
  return {
    stored,
    settlement: {
      epoch: epoch.epoch,
      status: epoch.status,
      receiptsRoot: epoch.receiptsRoot,
      txHash: epoch.txHash,
      proof,
      leafIndex: stored.leafIndex,
    },
    payment,
  };
}
