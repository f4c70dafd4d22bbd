import {
  consumerSpendSplit,
  earningsSummary,
  refreshRollups,
  usageSummary,
  type SpendSplit,
} from '../store/dashboard.ts';
import type { EarningsSummary, UsageSummary } from '../store/ledger.ts';
import type { Services } from './container.ts';

// GET /v1/usage and GET /v1/earnings read what the dashboards read (issue 18): the daily rollups
// plus the tail since their bound, so their cost stays flat however long the account's history.
// The figures equal a sum over the whole ledger to the micro-unit (test/dashboard/rollups.test.ts).

export async function accountUsage(
  services: Pick<Services, 'db'>,
  accountId: string,
  livemode: boolean,
): Promise<UsageSummary> {
  return usageSummary(services.db, await refreshRollups(services.db), accountId, livemode);
}

export async function accountEarnings(
  services: Pick<Services, 'db'>,
  accountId: string,
  livemode: boolean,
): Promise<EarningsSummary> {
  return earningsSummary(services.db, await refreshRollups(services.db), accountId, livemode);
}

/**
 * GET /v1/usage's summary and its `split` (where receipted spend went) against one rollup bound:
 * the split from the payer's daily rollup plus the receipts since the bound, as the consumer
 * dashboard reads it (issue 18: it summed every receipt of the account, 12x slower at 1M calls).
 */
export async function accountUsageWithSplit(
  services: Pick<Services, 'db'>,
  accountId: string,
  livemode: boolean,
): Promise<{ usage: UsageSummary; split: SpendSplit }> {
  const upto = await refreshRollups(services.db);
  const [usage, split] = await Promise.all([
    usageSummary(services.db, upto, accountId, livemode),
    consumerSpendSplit(services.db, upto, accountId, livemode),
  ]);
  return { usage, split };
}
