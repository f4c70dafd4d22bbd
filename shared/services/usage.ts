import { earningsSummary, refreshRollups, usageSummary } from '../store/dashboard.ts';
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

// Plain reads and writes that routes need as they are: routes reach the store only through services.
export { usageSplitOf } from '../store/usage-split.ts';
