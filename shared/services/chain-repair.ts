import { repeatEvery } from './repeat.ts';
import { getAddress, type Address } from 'viem';
import type { ChainEpochState, SettlementChain } from '../chain/distributor.ts';
import { ChainBusy } from '../chain/serial-sender.ts';
import { loadPayoutTree } from '../core/merkle.ts';
import type { Db } from '../db/index.ts';
import { withExclusiveLock } from '../db/lock.ts';
import type { Logger } from '../logger.ts';
import {
  confirmedEpochs,
  latestConfirmedEpoch,
  markRepublished,
  payoutTreeOf,
  recordChainRepair,
  relayedClaimTotals,
} from '../store/settlement.ts';
import { checkChain, type LedgerCheck } from './ledger-check.ts';

// The reconciler: the database is the durable record of what settlement published and which claims
// it relayed; the chain is checked against it, at start and on a schedule, and whatever the chain
// lost (a node restored from an older state, a reorg past the configured finality) is sent again.
// Re-sending is safe by construction: epochs are cumulative (a re-publish funds only the growth
// the chain no longer has) and a claim pays `cumulative − already claimed`.

export interface ChainRepairDeps {
  db: Db;
  chain: SettlementChain;
  log: Logger;
  receiptTimeoutMs?: number;
}

export interface Repair {
  kind: 'epoch' | 'claim';
  subject: string;
  detail: string;
  txHash: string | null;
}

/**
 * Confirmed epochs the chain no longer has are published again, in order, each with its own roots.
 * Called with the settlement lock held (by the settler before it builds, and by the reconciler).
 * Returns the chain's state afterwards.
 */
export async function republishLostEpochs(
  deps: ChainRepairDeps,
  onChain: ChainEpochState,
  repairs: Repair[] = [],
): Promise<ChainEpochState> {
  const lost = (await confirmedEpochs(deps.db)).filter((e) => BigInt(e.epoch) > onChain.epoch);
  if (lost.length === 0) return onChain;
  deps.log.error('the chain lost confirmed settlement epochs; publishing them again', {
    chainEpoch: onChain.epoch.toString(),
    lost: lost.map((e) => e.epoch),
  });
  for (const epoch of lost) {
    const txHash = await deps.chain.publish({
      epoch: BigInt(epoch.epoch),
      payoutRoot: epoch.payoutRoot,
      receiptsRoot: epoch.receiptsRoot,
      totalCumulative: epoch.totalCumulative,
    });
    const outcome = await deps.chain.waitForReceipt(txHash, deps.receiptTimeoutMs ?? 60_000);
    if (outcome.status !== 'success')
      throw new Error(`re-publishing lost epoch ${epoch.epoch} reverted (tx ${txHash})`);
    await markRepublished(deps.db, epoch.epoch, txHash, outcome.blockNumber);
    const repair: Repair = {
      kind: 'epoch',
      subject: String(epoch.epoch),
      detail: `re-published: total ${epoch.totalCumulative}, root ${epoch.payoutRoot}`,
      txHash,
    };
    await recordChainRepair(deps.db, repair);
    repairs.push(repair);
    deps.log.warn('chain repair: epoch re-published', {
      epoch: epoch.epoch,
      txHash,
      totalCumulative: epoch.totalCumulative.toString(),
    });
  }
  return deps.chain.readState();
}

/** Relayed claims the chain no longer shows are relayed again, against the current root. */
async function reRelayLostClaims(deps: ChainRepairDeps, repairs: Repair[]): Promise<void> {
  const latest = await latestConfirmedEpoch(deps.db);
  if (!latest) return;
  let tree: ReturnType<typeof loadPayoutTree> | null = null;
  for (const { wallet, cumulative } of await relayedClaimTotals(deps.db, { settledForSeconds: 120 })) {
    const onChain = await deps.chain.claimed(wallet as Address);
    if (onChain >= cumulative) continue;
    tree ??= await payoutTreeOf(deps.db, latest.epoch).then((d) => (d ? loadPayoutTree(d) : null));
    const leaf = tree?.proof(getAddress(wallet));
    if (!leaf || leaf.cumulative < cumulative) {
      deps.log.error(
        'a relayed claim is missing on chain and cannot be re-relayed (no proof for it in the current root)',
        { wallet, cumulative: cumulative.toString() },
      );
      continue;
    }
    const txHash = await deps.chain.claim({
      account: getAddress(wallet),
      cumulative: leaf.cumulative,
      proof: leaf.proof,
    });
    const outcome = await deps.chain.waitForReceipt(txHash, deps.receiptTimeoutMs ?? 60_000);
    if (outcome.status !== 'success')
      throw new Error(`re-relaying the lost claim of ${wallet} reverted (tx ${txHash})`);
    const repair: Repair = {
      kind: 'claim',
      subject: wallet,
      detail: `re-relayed: chain had ${onChain} claimed of ${cumulative}`,
      txHash,
    };
    await recordChainRepair(deps.db, repair);
    repairs.push(repair);
    deps.log.warn('chain repair: claim re-relayed', {
      wallet,
      txHash,
      onChain: onChain.toString(),
      recorded: cumulative.toString(),
    });
  }
}

export type ReconcileOutcome = { status: 'busy' } | { status: 'done'; repairs: Repair[]; discrepancies: LedgerCheck[] };

/**
 * One reconciliation pass, holding the settlement lock (so it never races a settler): re-publish
 * lost epochs, re-relay lost claims, then compare everything (roots, funding, claims) and log what
 * still differs — that needs a person (a chain with other roots than ours is never overwritten).
 */
export async function reconcileChain(deps: ChainRepairDeps): Promise<ReconcileOutcome> {
  const run = await withExclusiveLock(deps.db, 'citepay:settlement', async () => {
    const repairs: Repair[] = [];
    await republishLostEpochs(deps, await deps.chain.readState(), repairs);
    await reRelayLostClaims(deps, repairs);
    const discrepancies = (await checkChain(deps.db, deps.chain)).filter((c) => !c.ok);
    for (const d of discrepancies)
      deps.log.error('chain reconciliation: the chain disagrees with the ledger', {
        check: d.name,
        offenders: d.offenders,
      });
    return { status: 'done' as const, repairs, discrepancies };
  });
  return run.busy ? { status: 'busy' } : run.value;
}

/** At start, then every `intervalSeconds` (0: only at start); failures are logged and retried next time. */
export function startChainReconciler(deps: ChainRepairDeps, intervalSeconds: number): { stop(): Promise<void> } {
  return repeatEvery(intervalSeconds, () =>
    reconcileChain(deps)
      .then((r) => {
        if (r.status === 'done' && r.repairs.length > 0)
          deps.log.warn('chain reconciliation repaired the chain', { repairs: r.repairs.length });
      })
      .catch((err: Error) =>
        deps.log.warn('chain reconciliation failed; retrying later', {
          error: err.message.split('\n')[0],
          busy: err instanceof ChainBusy,
        }),
      ),
  );
}
