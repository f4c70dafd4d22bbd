import { finishPayment, chargedForRequest, lowerPaymentAmount } from '../store/x402.ts';
import {
  answerStillOpen,
  lockPendingPayment,
  markSweptUnsettled,
  stalePendingPayments,
} from '../store/x402-pending.ts';
import type { Services } from './container.ts';
import { reverseCredit } from './x402-payments.ts';

// x402 payments a process left `pending` when it ended (a crash, a kill) between verifying a
// payment and settling or refunding it: the credit is in the ledger, the call may have run and
// been charged, and nothing moved on chain. A payment pending longer than any call runs
// (X402_PENDING_STALE_SECONDS) is finished here, once, under the row's lock:
// - its call charged nothing (it never ran, or failed): the credit is reversed, `refused`;
// - its call was charged: it is owed, so it becomes `unsettled` (for `upto`, lowered to the
//   call's cost, the unused credit released), and the settle retry pass — which reads the chain
//   before sending, so a settle that landed is never sent twice — takes the money;
// - its answer is still queued or running: left for a later pass (it may yet be charged).
// The live path's refund and settle take the same row lock and act only on a pending row, so a
// payment is finished by one of them, never both.

export interface PendingSweep {
  refunded: string[];
  /** handed to the settle retry pass */
  owed: string[];
  /** answers still running: looked at again next pass */
  waiting: string[];
}

const BATCH = 50;

/** One pass; the caller holds the settle retry lock (one pass at a time in the deployment). */
export async function sweepStalePayments(services: Pick<Services, 'db' | 'config'>): Promise<PendingSweep> {
  const { db } = services;
  const out: PendingSweep = { refunded: [], owed: [], waiting: [] };
  for (const p of await stalePendingPayments(db, services.config.x402.pendingStaleSeconds, BATCH)) {
    if (await answerStillOpen(db, p.requestId)) {
      out.waiting.push(p.id);
      continue;
    }
    const outcome = await db.transaction(async (tx) => {
      if (!(await lockPendingPayment(tx, p.id))) return 'gone' as const;
      const charged = await chargedForRequest(tx, p.accountId, p.requestId);
      if (charged <= 0n) {
        const refundTransactionId = await reverseCredit(tx, p, p.amount);
        await finishPayment(tx, p.id, {
          status: 'refused',
          refundTransactionId,
          error: 'swept: the process ended before the call was charged',
        });
        return 'refunded' as const;
      }
      const cost = p.scheme === 'upto' && charged < p.amount ? charged : p.amount;
      if (cost < p.amount) {
        const releaseTransactionId = await reverseCredit(tx, p, p.amount - cost);
        await lowerPaymentAmount(tx, p.id, { amount: cost, releaseTransactionId });
      }
      await markSweptUnsettled(tx, p.id, 'swept: the process ended after the call was charged, before the settle');
      return 'owed' as const;
    });
    if (outcome === 'refunded') out.refunded.push(p.id);
    if (outcome === 'owed') out.owed.push(p.id);
  }
  return out;
}
