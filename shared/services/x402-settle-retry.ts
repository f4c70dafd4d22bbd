import { repeatEvery } from './repeat.ts';
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types';
import { getAddress, type Hex } from 'viem';
import { withExclusiveLock } from '../db/lock.ts';
import { noteSettleAttempt, settleUnsettled, unsettledPayments } from '../store/x402.ts';
import type { Services } from './container.ts';
import { tokenInflowsOf } from './token-inflows.ts';
import { sweepStalePayments, type PendingSweep } from './x402-pending-sweep.ts';
import { x402GatewayOf } from './x402-payments.ts';
import { sweepStaleTopUps, type TopUpSweep } from './x402-top-ups.ts';

/** What a pass needs: no embedder, no queues (the cron Lambda opens just these: functions/x402/cron.ts). */
export type PaymentPassDeps = Pick<Services, 'config' | 'db' | 'log' | 'chain'>;

// x402 payments whose call succeeded but whose settle failed (facilitator or chain down) stay
// `unsettled`, with the signed payload. This pass settles each later, exactly once: one pass at a
// time in the deployment (an advisory lock), and before sending it reads the chain — an EIP-3009
// authorization is single use there, so a settle that landed but was never recorded (a crash, a
// lost response) is found by its AuthorizationUsed log and recorded, never sent again.

export interface SettleRetryOutcome {
  status: 'done' | 'busy' | 'off';
  /** settled now by the facilitator */
  settled: string[];
  /** already on chain: recorded without sending */
  found: string[];
  /** still unsettled (the error is kept on the row) */
  failed: string[];
  /** payments a process left pending when it ended, finished first (x402-pending-sweep.ts) */
  swept: PendingSweep;
  /** x402 top-ups a process left pending, credited or failed (x402-top-ups.ts) */
  topUps: TopUpSweep;
}

const BATCH = 50;

export async function settleUnsettledPayments(services: PaymentPassDeps): Promise<SettleRetryOutcome> {
  const gateway = x402GatewayOf(services);
  const inflows = tokenInflowsOf(services);
  const outcome: SettleRetryOutcome = {
    status: 'done',
    settled: [],
    found: [],
    failed: [],
    swept: { refunded: [], owed: [], waiting: [] },
    topUps: { credited: [], failed: [] },
  };
  if (!gateway || !inflows) return { ...outcome, status: 'off' };
  const run = await withExclusiveLock(services.db, 'citepay:x402:settle-retry', async () => {
    // first what a process that ended mid-call left pending: owed ones join this pass's work
    outcome.swept = await sweepStalePayments(services);
    outcome.topUps = await sweepStaleTopUps(services, gateway);
    for (const p of await unsettledPayments(services.db, BATCH)) {
      const payload = p.payload as PaymentPayload | null;
      const requirements = p.requirements as PaymentRequirements | null;
      const nonce = (payload?.payload as { authorization?: { nonce?: Hex } } | undefined)?.authorization?.nonce;
      if (nonce) {
        const landed = await inflows.authorizationUsedBy(getAddress(p.payer), nonce);
        if (landed) {
          if (await settleUnsettled(services.db, p.id, landed)) outcome.found.push(p.id);
          continue;
        }
      }
      if (!payload || !requirements) {
        await noteSettleAttempt(services.db, p.id, 'no signed payload kept for this payment: settle by hand');
        outcome.failed.push(p.id);
        continue;
      }
      try {
        // the recorded amount: for `upto` it was lowered to what the call cost, never the signed maximum
        const res = await gateway.settle(payload, requirements, p.amount);
        if (res.success && res.transaction) {
          await settleUnsettled(services.db, p.id, res.transaction);
          outcome.settled.push(p.id);
        } else {
          await noteSettleAttempt(services.db, p.id, res.errorReason ?? 'settle failed');
          outcome.failed.push(p.id);
        }
      } catch (err) {
        await noteSettleAttempt(services.db, p.id, (err as Error).message.split('\n')[0]!);
        outcome.failed.push(p.id);
      }
    }
  });
  return run.busy ? { ...outcome, status: 'busy' } : outcome;
}

/** At start, then every `intervalSeconds` (0: only at start); errors are logged and retried next time. */
export function startSettleRetry(services: PaymentPassDeps, intervalSeconds: number): { stop(): Promise<void> } {
  return repeatEvery(intervalSeconds, () =>
    settleUnsettledPayments(services)
      .then((r) => {
        if (r.swept.refunded.length + r.swept.owed.length + r.topUps.credited.length + r.topUps.failed.length > 0)
          services.log.info('x402: payments left pending by an ended process swept', {
            refunded: r.swept.refunded.length,
            owed: r.swept.owed.length,
            topUpsCredited: r.topUps.credited.length,
            topUpsFailed: r.topUps.failed.length,
          });
        if (r.settled.length + r.found.length + r.failed.length > 0)
          services.log.info('x402: unsettled payments retried', {
            settled: r.settled.length,
            found: r.found.length,
            failed: r.failed.length,
          });
      })
      .catch((err: Error) =>
        services.log.warn('x402: settle retry failed; retrying later', { error: err.message.split('\n')[0] }),
      ),
  );
}
