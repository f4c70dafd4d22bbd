import { loadConfig } from '../../shared/config.ts';
import { openPaymentPasses } from '../../shared/services/create.ts';
import { scanTopUps } from '../../shared/services/top-ups.ts';
import { claimVouchers } from '../../shared/services/x402-channels.ts';
import { settleUnsettledPayments } from '../../shared/services/x402-settle-retry.ts';

// Scheduled Lambda (stacks/api.ts, `Payments`): the cloud twin of what `npm start` repeats in the
// background for money coming in. One pass of each per invocation:
// - x402: sweep the payments a process left pending when it ended (refund, or hand to the retry),
//   then settle those left unsettled — reading the chain first, so nothing is sent twice;
// - top-ups: read the stablecoin's Transfers into the treasury, credit the confirmed ones once;
// - batch-settlement: claim the vouchers taken since the last claim, many channels in one
//   transaction (the chain keeps each channel's claimed total, so a repeated claim moves nothing).
// Each pass holds its own advisory lock, so overlapping invocations (or an `npm start` on the
// same database) never run one twice at once. The chain reconciler runs with the Settlement cron.
let deps: ReturnType<typeof openPaymentPasses> | undefined;

export interface PaymentPassesReport {
  x402: { status: string; settled: number; found: number; failed: number; refunded: number; owed: number };
  topUps: { status: string; seen: number; credited: number };
  channels: { claimTransactions: number; vouchers: number };
}

export async function handler(): Promise<PaymentPassesReport> {
  deps ??= openPaymentPasses(loadConfig());
  deps.catch(() => (deps = undefined)); // a failed start is tried again by the next tick
  const d = await deps;
  const [x402, topUps, claims] = await Promise.all([settleUnsettledPayments(d), scanTopUps(d), claimVouchers(d)]);
  return {
    x402: {
      status: x402.status,
      settled: x402.settled.length,
      found: x402.found.length,
      failed: x402.failed.length,
      refunded: x402.swept.refunded.length,
      owed: x402.swept.owed.length,
    },
    topUps: { status: topUps.status, seen: topUps.seen, credited: topUps.credited.length },
    channels: {
      claimTransactions: claims.claims.length,
      vouchers: claims.claims.reduce((n, c) => n + c.vouchers, 0),
    },
  };
}
