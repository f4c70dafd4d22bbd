import { repeatEvery } from './repeat.ts';
import { getAddress, type Address, type Hex } from 'viem';
import { withExclusiveLock } from '../db/lock.ts';
import { newId } from '../ids.ts';
import { readSetting, writeSetting } from '../store/deployment.ts';
import { postTransaction } from '../store/ledger.ts';
import {
  TOP_UPS_ACCOUNT_ID,
  consumerAccountsByWallet,
  forgetPendingTopUp,
  markCredited,
  pendingTopUps,
  recordTopUp,
  topUpsOf,
  type TopUp,
} from '../store/top-ups.ts';
import type { Services } from './container.ts';
import { tokenInflowsOf } from './token-inflows.ts';

// Self-serve top-ups (issue 20 §3): a consumer whose account has a wallet (made by signing in with
// it) sends the stablecoin to the treasury from that wallet; the watcher reads the token's Transfer
// logs into the treasury, records each one from such a wallet once (unique by tx hash + log index:
// any process, any restart), and credits it once its block has TOPUP_CONFIRMATIONS — re-reading
// the transaction first, so a Transfer a reorg removed is forgotten, never credited. Only transfers
// the wallet sent itself count: an x402 payment is a Transfer from the same wallet, but sent by the
// facilitator, and is already in the ledger as that payment.

/** What a pass needs: no embedder, no queues (the cron Lambda opens just these: functions/x402/cron.ts). */
export type TopUpDeps = Pick<Services, 'config' | 'db' | 'log' | 'chain'>;

const CURSOR = 'top-ups.cursor';
/** blocks per getLogs call: public RPCs refuse wide ranges */
const RANGE = 5_000n;
const BATCH = 100;

export interface TopUpScan {
  status: 'done' | 'busy' | 'off';
  /** Transfers newly recorded as pending */
  seen: number;
  /** top-ups credited by this pass */
  credited: string[];
  head: bigint | null;
}

/** The treasury top-ups go to: the x402 payTo, else the settler. */
export function treasuryOf(services: Pick<Services, 'config' | 'chain'>): Address | null {
  const t = services.config.x402.payTo ?? services.chain?.settler;
  return t ? getAddress(t) : null;
}

/** One pass: record new Transfers to the treasury, then credit those with enough confirmations. */
export async function scanTopUps(services: TopUpDeps): Promise<TopUpScan> {
  const inflows = tokenInflowsOf(services);
  const treasury = treasuryOf(services);
  if (!inflows || !treasury) return { status: 'off', seen: 0, credited: [], head: null };
  const { db } = services;
  const confirmations = BigInt(services.config.selfServe.topUpConfirmations);
  const run = await withExclusiveLock(db, 'citepay:top-ups', async () => {
    const head = await inflows.head();
    const cursor = await readSetting<{ block: string; token: string }>(db, CURSOR);
    // First pass on this deployment (or a new token): start at the head; a wallet signs up, then pays.
    let from = cursor && cursor.token === inflows.token ? BigInt(cursor.block) + 1n : head;
    let seen = 0;
    while (from <= head) {
      const to = from + RANGE - 1n < head ? from + RANGE - 1n : head;
      const transfers = await inflows.transfersTo(treasury, from, to);
      const accounts = await consumerAccountsByWallet(db, [...new Set(transfers.map((t) => t.from))]);
      for (const t of transfers) {
        const accountId = accounts.get(t.from);
        if (!accountId || t.value <= 0n) continue;
        if ((await inflows.senderOf(t.txHash)) !== t.from) continue; // relayed (an x402 settle): not a top-up
        if (
          await recordTopUp(db, {
            id: newId('topUp'),
            accountId,
            wallet: t.from,
            token: inflows.token,
            treasury,
            txHash: t.txHash,
            logIndex: t.logIndex,
            blockNumber: t.blockNumber,
            amount: t.value,
          })
        )
          seen++;
      }
      // recorded before the cursor moves: a crash here re-reads the range, and the rows are unique
      await writeSetting(db, CURSOR, { block: to.toString(), token: inflows.token });
      from = to + 1n;
    }
    const credited: string[] = [];
    for (const p of await pendingTopUps(db, BATCH)) {
      if (head - p.blockNumber + 1n < confirmations) continue;
      const still = (await inflows.transfersIn(p.txHash as Hex)).find(
        (t) => t.logIndex === p.logIndex && t.from === p.wallet && t.to === p.treasury && t.value === p.amount,
      );
      if (!still) {
        await forgetPendingTopUp(db, p.id);
        continue;
      }
      if (head - still.blockNumber + 1n < confirmations) continue; // re-mined later by a reorg
      if (await creditTopUp(services, p)) credited.push(p.id);
    }
    return { seen, credited, head };
  });
  return run.busy ? { status: 'busy', seen: 0, credited: [], head: null } : { status: 'done', ...run.value };
}

class AlreadyCredited extends Error {}

/** The ledger credit and the status change in one database transaction: credited once, or not at all. */
async function creditTopUp(services: TopUpDeps, p: TopUp): Promise<boolean> {
  try {
    await services.db.transaction(async (tx) => {
      const id = newId('transaction');
      await postTransaction(tx, {
        id,
        // a credit like an admin's grant (usage and the dashboard count it as credits bought),
        // from the top-ups account rather than the funding account
        kind: 'credit_grant',
        requestId: null,
        keyId: null,
        livemode: true,
        entries: [
          { accountId: TOP_UPS_ACCOUNT_ID, amount: -p.amount },
          { accountId: p.accountId, amount: p.amount },
        ],
      });
      if (!(await markCredited(tx, p.id, id))) throw new AlreadyCredited();
    });
    return true;
  } catch (err) {
    if (err instanceof AlreadyCredited) return false;
    throw err;
  }
}

export function topUpsOfAccount(services: Services, accountId: string): Promise<TopUp[]> {
  return topUpsOf(services.db, accountId);
}

/** At start, then every `intervalSeconds` (0: only at start); errors are logged and retried next time. */
export function startTopUpWatcher(services: TopUpDeps, intervalSeconds: number): { stop(): Promise<void> } {
  return repeatEvery(intervalSeconds, () =>
    scanTopUps(services)
      .then((r) => {
        if (r.seen > 0 || r.credited.length > 0)
          services.log.info('top-ups', { seen: r.seen, credited: r.credited.length });
      })
      .catch((err: Error) =>
        services.log.warn('top-up watcher failed; retrying later', { error: err.message.split('\n')[0] }),
      ),
  );
}
