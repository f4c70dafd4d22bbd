import { getAddress, zeroHash, type Address, type Hex } from 'viem';
import type { ChainEpochState, SettlementChain } from '../chain/distributor.ts';
import { cumulativePayouts } from '../core/cumulative-payouts.ts';
import { buildReceiptsTree } from '../core/merkle.ts';
import type { Db } from '../db/index.ts';
import type { LedgerEntry } from '../core/ledger.ts';
import type { Logger } from '../logger.ts';
import { SETTLED_ACCOUNT_ID } from '../store/accounts.ts';
import { postTransaction } from '../store/ledger.ts';
import { recordSettingOnce } from '../store/deployment.ts';
import { withExclusiveLock } from '../db/lock.ts';
import {
  epochPayouts,
  findEpoch,
  inFlightEpoch,
  insertEpoch,
  lastEpochNumber,
  markConfirmed,
  markSubmitted,
  openReceipts,
  payableBalances,
  readOneSnapshot,
  recordFailure,
  settledCumulatives,
  waitForFinality,
  type EpochRecord,
} from '../store/settlement.ts';
import { republishLostEpochs } from './chain-repair.ts';

// Settlement, one epoch at a time: open (receipts accumulate) → built (tree and amounts frozen
// in the database) → submitted (publish tx sent) → confirmed (the chain has the root AND the
// ledger moved the amounts, in one database transaction). Every step is re-entrant: before
// sending anything the settler reads the chain, so a crash at any point rolls forward
// without paying twice — and the contract refuses a second publish of the same epoch anyway.

export interface SettlementDeps {
  db: Db;
  chain: SettlementChain;
  log: Logger;
  /** wallets whose unsettled earnings are below this wait for a later epoch */
  minPayout: bigint;
  /** how long to wait for the publish receipt before leaving the epoch submitted */
  receiptTimeoutMs?: number;
  /** test hook: called after each durable step (a throw here simulates the process dying) */
  afterStep?: (step: 'built' | 'sent' | 'mined') => void | Promise<void>;
}

export type SettleOutcome =
  | { status: 'idle'; reason: string }
  /** another process is settling right now (one settler at a time, held by the database) */
  | { status: 'busy'; reason: string }
  /** retrying after a failure, or (`finality`) published and waiting for the configured finality */
  | { status: 'waiting'; epoch: number; nextAttemptAt: Date; finality?: true }
  | { status: 'confirmed'; epoch: number; amount: bigint; payees: number; receipts: number; txHash: Hex | null };

export class SettlementConflictError extends Error {
  override readonly name = 'SettlementConflictError';
}

/**
 * One settlement pass: finish the epoch in flight, or close the open one and publish it.
 * `force` ignores the retry backoff (on-demand runs). Exactly one settler runs at a time across
 * every process on the database (an advisory lock); the others return `busy` without touching
 * anything. The chain is checked against the one recorded for this deployment first.
 */
export async function settleOnce(deps: SettlementDeps, opts: { force?: boolean } = {}): Promise<SettleOutcome> {
  const run = await withExclusiveLock(deps.db, 'citepay:settlement', () => settleHoldingLock(deps, opts));
  return run.busy ? { status: 'busy', reason: 'another process is settling right now' } : run.value;
}

/** The chain settlement publishes to, recorded by the first settlement of this deployment. */
export interface SettlementTarget {
  chainId: number;
  distributor: Address;
  token: Address;
}

/** Refuses (before anything is closed or sent) a chain or distributor other than the recorded one. */
async function assertRecordedTarget(deps: SettlementDeps, chainId: number): Promise<void> {
  const here: SettlementTarget = {
    chainId,
    distributor: getAddress(deps.chain.distributor),
    token: getAddress(deps.chain.token),
  };
  const recorded = await recordSettingOnce(deps.db, 'settlement.target', here);
  if (
    recorded.chainId !== here.chainId ||
    getAddress(recorded.distributor) !== here.distributor ||
    getAddress(recorded.token) !== here.token
  )
    throw new SettlementConflictError(
      `this deployment settles on chain ${recorded.chainId} to distributor ${recorded.distributor} (token ${recorded.token}); ` +
        `this process is configured for chain ${here.chainId}, distributor ${here.distributor}, token ${here.token}: refusing to settle`,
    );
}

async function settleHoldingLock(deps: SettlementDeps, opts: { force?: boolean }): Promise<SettleOutcome> {
  const { db } = deps;
  let epoch = await inFlightEpoch(db);
  if (epoch && !opts.force && epoch.nextAttemptAt && epoch.nextAttemptAt > new Date())
    return { status: 'waiting', epoch: epoch.epoch, nextAttemptAt: epoch.nextAttemptAt };
  try {
    // Read the chain before closing anything: with the RPC down the epoch simply stays open.
    let onChain = await deps.chain.readState();
    await assertRecordedTarget(deps, onChain.chainId);
    // A chain that lost confirmed epochs (a node restored from an older state) gets them back first,
    // each with its own receipts root; the next epoch then funds only its own growth.
    onChain = await republishLostEpochs(deps, onChain);
    if (!epoch) {
      if (BigInt(await lastEpochNumber(db)) < onChain.epoch)
        throw new SettlementConflictError(
          `the distributor is at epoch ${onChain.epoch} but this database never built it: is another deployment publishing to it?`,
        );
      epoch = await buildEpoch(deps);
      if (!epoch)
        return { status: 'idle', reason: 'nothing to settle: no new receipts and no wallet above the minimum payout' };
      await deps.afterStep?.('built');
    }
    return await finishEpoch(deps, epoch, onChain);
  } catch (err) {
    if (epoch) {
      const delay = backoffMs(epoch.attempts);
      await recordFailure(db, epoch.epoch, (err as Error).message, new Date(Date.now() + delay));
      deps.log.warn('settlement attempt failed; will retry', {
        epoch: epoch.epoch,
        attempt: epoch.attempts + 1,
        retryInMs: delay,
        error: (err as Error).message,
      });
    }
    throw err;
  }
}

/** 5 s, 10 s, 20 s … capped at 5 minutes. */
export function backoffMs(attempts: number): number {
  return Math.min(5_000 * 2 ** attempts, 300_000);
}

/**
 * Close the open epoch: its receipts, every contributor's unsettled balance at or above the
 * minimum, and the new cumulative tree, all read in ONE snapshot and frozen in one transaction.
 */
async function buildEpoch(deps: SettlementDeps): Promise<EpochRecord | null> {
  const { db } = deps;
  const built = await db.transaction(async (tx) => {
    // One snapshot for receipts and balances, so the epoch's amounts match its receipts exactly.
    await readOneSnapshot(tx);
    if (await inFlightEpoch(tx)) return null; // another settler got here first
    const number = (await lastEpochNumber(tx)) + 1;
    const receipts = await openReceipts(tx);
    const payable = await payableBalances(tx, deps.minPayout);
    if (receipts.length === 0 && payable.length === 0) return null;

    const { payouts, tree: payoutTree, amount } = cumulativePayouts(await settledCumulatives(tx), payable);
    const receiptsTree = receipts.length > 0 ? buildReceiptsTree(receipts.map((r) => r.hash)) : null;
    await insertEpoch(tx, {
      epoch: number,
      payoutRoot: payoutTree?.root ?? zeroHash,
      receiptsRoot: receiptsTree?.root ?? zeroHash,
      totalCumulative: payoutTree?.totalCumulative ?? 0n,
      amount,
      payoutTree: payoutTree?.dump() ?? null,
      receiptsTree: receiptsTree?.dump() ?? null,
      payouts,
      receiptIds: receipts.map((r) => r.id),
    });
    return number;
  });
  if (built === null) return null;
  const epoch = (await findEpoch(db, built))!;
  deps.log.info('settlement epoch built', {
    epoch: epoch.epoch,
    payees: epoch.payeeCount,
    amount: epoch.amount.toString(),
    receipts: epoch.receiptCount,
  });
  return epoch;
}

/**
 * `onChain`: the distributor's state read at the start of this pass (building touches only the
 * database). The epoch is confirmed only once the chain carries it at the configured finality
 * (SETTLEMENT_FINALITY); published but not yet final, it stays submitted and the pass says `waiting`.
 */
async function finishEpoch(deps: SettlementDeps, epoch: EpochRecord, onChain: ChainEpochState): Promise<SettleOutcome> {
  const { chain } = deps;
  if (await publishedAtFinality(chain, epoch)) return confirm(deps, epoch, epoch.blockNumber);
  if (isPublished(onChain, epoch)) return awaitFinality(deps, epoch);

  if (epoch.status === 'submitted' && epoch.txHash) {
    // Sent before a crash or a timeout: its receipt settles it; a revert or a lost tx means send again.
    const outcome = await chain.waitForReceipt(epoch.txHash, deps.receiptTimeoutMs).catch(() => null);
    if (outcome?.status === 'success' || (await publishedOnChain(chain, epoch))) {
      await deps.afterStep?.('mined');
      return (await publishedAtFinality(chain, epoch))
        ? confirm(deps, epoch, outcome?.blockNumber ?? null)
        : awaitFinality(deps, epoch);
    }
  }

  const txHash = await chain.publish({
    epoch: BigInt(epoch.epoch),
    payoutRoot: epoch.payoutRoot,
    receiptsRoot: epoch.receiptsRoot,
    totalCumulative: epoch.totalCumulative,
  });
  await markSubmitted(deps.db, epoch.epoch, txHash);
  deps.log.info('settlement epoch submitted', { epoch: epoch.epoch, txHash });
  await deps.afterStep?.('sent');
  const outcome = await chain.waitForReceipt(txHash, deps.receiptTimeoutMs);
  if (outcome.status !== 'success' && !(await publishedOnChain(chain, epoch)))
    throw new Error(`publish of epoch ${epoch.epoch} reverted in block ${outcome.blockNumber}`);
  await deps.afterStep?.('mined');
  if (!(await publishedAtFinality(chain, epoch))) return awaitFinality(deps, { ...epoch, txHash });
  return confirm(deps, { ...epoch, txHash }, outcome.blockNumber);
}

/** The distributor carries this epoch in the newest final block (N confirmations deep, or safe/finalized). */
async function publishedAtFinality(chain: SettlementChain, epoch: EpochRecord): Promise<boolean> {
  return isPublished(await chain.readState(await chain.finalBlockNumber()), epoch);
}

const FINALITY_POLL_MS = 2_000;

/** Published, not yet final: look again shortly (not a failure, so no backoff). */
async function awaitFinality(deps: SettlementDeps, epoch: EpochRecord): Promise<SettleOutcome> {
  const nextAttemptAt = new Date(Date.now() + FINALITY_POLL_MS);
  await waitForFinality(deps.db, epoch.epoch, nextAttemptAt);
  deps.log.info('settlement epoch published; waiting for finality', { epoch: epoch.epoch, txHash: epoch.txHash });
  return { status: 'waiting', epoch: epoch.epoch, nextAttemptAt, finality: true };
}

/** True when the distributor already carries this epoch; a different root there is a conflict, never overwritten. */
async function publishedOnChain(chain: SettlementChain, epoch: EpochRecord): Promise<boolean> {
  return isPublished(await chain.readState(), epoch);
}

function isPublished(state: ChainEpochState, epoch: EpochRecord): boolean {
  if (state.epoch < BigInt(epoch.epoch)) return false;
  if (state.epoch === BigInt(epoch.epoch) && state.payoutRoot.toLowerCase() === epoch.payoutRoot.toLowerCase())
    return true;
  throw new SettlementConflictError(
    `the distributor is at epoch ${state.epoch} with root ${state.payoutRoot}, but epoch ${epoch.epoch} here has root ${epoch.payoutRoot}`,
  );
}

/** The ledger moves the epoch's amounts to the settled account in the same transaction that confirms it. */
async function confirm(deps: SettlementDeps, epoch: EpochRecord, blockNumber: bigint | null): Promise<SettleOutcome> {
  const payouts = await epochPayouts(deps.db, epoch.epoch);
  await deps.db.transaction(async (tx) => {
    const current = await findEpoch(tx, epoch.epoch, true);
    if (!current || current.status === 'confirmed') return;
    const entries: LedgerEntry[] = payouts.map((p) => ({ accountId: p.accountId, amount: -p.amount }));
    if (epoch.amount > 0n) {
      entries.push({ accountId: SETTLED_ACCOUNT_ID, amount: epoch.amount });
      await postTransaction(tx, {
        id: `txn_epoch_${epoch.epoch}`,
        kind: 'payout',
        requestId: `settlement-epoch-${epoch.epoch}`,
        keyId: null,
        livemode: true,
        entries,
      });
    }
    await markConfirmed(tx, epoch.epoch, blockNumber);
  });
  deps.log.info('settlement epoch confirmed', {
    epoch: epoch.epoch,
    amount: epoch.amount.toString(),
    payees: epoch.payeeCount,
  });
  return {
    status: 'confirmed',
    epoch: epoch.epoch,
    amount: epoch.amount,
    payees: epoch.payeeCount,
    receipts: epoch.receiptCount,
    txHash: epoch.txHash,
  };
}

// Plain reads and writes that routes need as they are: routes reach the store only through services.
export { countOpenReceipts, listEpochs } from '../store/settlement.ts';
