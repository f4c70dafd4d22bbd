import { balanceOf } from '../store/ledger.ts';
import { topUpsOfAccount, treasuryOf } from './top-ups.ts';
import type { Address, Hex } from 'viem';
import { NotFound } from '../errors.ts';
import {
  consumerByDatanet,
  earningsSummary,
  refreshRollups,
  usageSummary,
  type CallCursor,
  consumerSpendByDay,
  consumerSpendSplit,
  keysWithLastUse,
  ownerEarningsByDay,
  ownerEpochs,
  ownerFunnel,
  ownerRecentCalls,
  type FunnelLevel,
  type FunnelSort,
} from '../store/dashboard.ts';
import type { Account } from '../store/accounts.ts';
import { findDatanet } from '../store/datanets.ts';
import { findDocument } from '../store/documents.ts';
import type { Services } from './container.ts';
import { receiptFor, settledPayoutOf } from './payouts.ts';
import { reachableOnly } from './test-mode.ts';

// What the dashboard pages show, read through the same stores and services as the API, so
// every figure equals the API's (/v1/earnings, /v1/payouts/{wallet}, /v1/usage).

export const CHART_DAYS = 30;

/** The chain's id, read once (null: no chain configured, or unreachable). */
const chainIds = new WeakMap<object, Promise<number | null>>();
export function chainIdOf(services: Services): Promise<number | null> {
  const chain = services.chain;
  if (!chain) return Promise.resolve(null);
  let id = chainIds.get(chain);
  if (!id) {
    id = chain.readState().then(
      (s) => s.chainId,
      () => null,
    );
    id.then((v) => v === null && chainIds.delete(chain));
    chainIds.set(chain, id);
  }
  return id;
}

/** What a test-mode session sees of settlement: nothing (test earnings never settle; live payouts are live things). */
const noSettlement = (wallet: Address): Awaited<ReturnType<typeof settledPayoutOf>> => ({
  wallet,
  epoch: null,
  cumulative: 0n,
  claimed: 0n,
  claimable: 0n,
  proof: [],
  payoutRoot: null,
});

/** `upto`: a rollup bound this page view already refreshed (see ownerPageData). */
export async function ownerOverview(services: Services, account: Account, livemode: boolean, bound?: Date) {
  const wallet = account.wallet! as Address;
  const upto = bound ?? (await refreshRollups(services.db));
  const [earnings, payout, byDay, epochs] = await Promise.all([
    earningsSummary(services.db, upto, account.id, livemode),
    livemode ? settledPayoutOf(services, wallet) : noSettlement(wallet),
    ownerEarningsByDay(services.db, upto, wallet, livemode, CHART_DAYS),
    livemode ? ownerEpochs(services.db, wallet) : [],
  ]);
  // What the chain says now, for the browser's proof check (the database's copy is not the authority).
  const chainRoot =
    services.chain && payout.epoch !== null
      ? await services.chain.readState().then(
          (s) => s.payoutRoot,
          () => null,
        )
      : null;
  return {
    wallet,
    earnings,
    payout,
    byDay,
    epochs,
    chainRoot,
    minPayout: services.config.settlement.minPayout,
    status: {
      unsettled: earnings.unsettled,
      /** published in a confirmed epoch, not yet claimed (null: chain unreachable) */
      unclaimed: payout.claimable,
      claimed: payout.claimed,
    },
  };
}

export async function ownerStatement(services: Services, account: Account, livemode: boolean) {
  const upto = await refreshRollups(services.db);
  return Promise.all([
    earningsSummary(services.db, upto, account.id, livemode),
    settledPayoutOf(services, account.wallet! as Address),
  ]);
}

/**
 * The funnel's parent, named only when it is this owner's: a datanet it owns, or a live (not
 * deleted) document in one. Anything else is 404, so the page never names another owner's document.
 */
export async function ownedFunnelParent(
  services: Services,
  account: Account,
  level: 'document' | 'passage',
  parent: string,
) {
  const notFound = new NotFound(
    `no ${level === 'document' ? 'datanet' : 'document'} ${parent}`,
    level === 'document' ? 'datanet' : 'document',
    parent,
  );
  const doc = level === 'passage' ? await findDocument(services.db, parent) : null;
  if (level === 'passage' && (!doc || doc.deletedAt)) throw notFound;
  const datanet = await findDatanet(services.db, doc?.datanetId ?? parent);
  if (!datanet || datanet.ownerAccountId !== account.id) throw notFound;
  return { datanet: { id: datanet.id, name: datanet.name }, parentName: doc?.title ?? datanet.name };
}

export function ownerCallsPage(
  services: Services,
  account: Account,
  livemode: boolean,
  after: CallCursor | null,
  pageSize: number,
) {
  return ownerRecentCalls(services.db, account.wallet!, livemode, pageSize, after);
}

/** A receipt this owner was paid by, its proof, and the receipts root the chain holds for its epoch. */
export async function ownerReceipt(services: Services, account: Account, livemode: boolean, id: string) {
  const view = await receiptFor(services, { accountId: account.id, keyId: '', role: 'contributor', livemode }, id);
  const chainRoot: Hex | null =
    view.settlement?.status === 'confirmed' && services.chain
      ? await services.chain.receiptsRootOf(BigInt(view.settlement.epoch)).catch(() => null)
      : null;
  return { ...view, chainRoot };
}

export async function consumerOverview(services: Services, account: Account, livemode: boolean) {
  const upto = await refreshRollups(services.db);
  const [usage, byDay, split, byDatanet, keys] = await Promise.all([
    usageSummary(services.db, upto, account.id, livemode),
    consumerSpendByDay(services.db, upto, account.id, livemode, CHART_DAYS),
    consumerSpendSplit(services.db, upto, account.id, livemode),
    consumerByDatanet(services.db, upto, account.id, livemode),
    keysWithLastUse(services.db, account.id),
  ]);
  return {
    usage,
    byDay,
    split,
    byDatanet,
    keys: reachableOnly({ livemode }, keys),
    selfServe: await selfServeOf(services, account),
  };
}

/**
 * A consumer's self-serve side (issue 20 §3): test credits, the treasury to pay, its top-ups. For a
 * wallet account, and for any consumer that bought credits with x402 (POST /v1/credits/top-up).
 */
async function selfServeOf(services: Services, account: Account) {
  if (account.kind !== 'consumer') return null;
  const [testBalance, topUps] = await Promise.all([
    balanceOf(services.db, account.id, false),
    topUpsOfAccount(services, account.id),
  ]);
  if (!account.wallet && topUps.length === 0) return null;
  return {
    wallet: account.wallet,
    testBalance,
    treasury: services.config.chain.token ? treasuryOf(services) : null,
    token: services.config.chain.token ?? null,
    confirmations: services.config.selfServe.topUpConfirmations,
    topUps,
  };
}

/** One of the account's keys that the session's mode reaches (a test session: test keys only), or 404. */
export async function requireOwnKey(services: Services, account: Account, livemode: boolean, keyId: string) {
  const keys = reachableOnly({ livemode }, await keysWithLastUse(services.db, account.id));
  const key = keys.find((k) => k.id === keyId);
  if (!key) throw new NotFound(`no key ${keyId}`, 'key', keyId);
  return key;
}

/**
 * Everything the owner page shows, over ONE rollup refresh (a write): overview, funnel and the
 * recent calls of a page view read the same bound.
 */
export async function ownerPageData(
  services: Services,
  account: Account,
  livemode: boolean,
  funnel: { level: FunnelLevel; parent?: string | undefined; sort: FunnelSort; page: number; pageSize: number },
  calls: { after: CallCursor | null; pageSize: number },
) {
  const upto = await refreshRollups(services.db);
  const [overview, funnelPage, recent] = await Promise.all([
    ownerOverview(services, account, livemode, upto),
    ownerFunnel(services.db, upto, account.wallet!, {
      level: funnel.level,
      parent: funnel.parent,
      sort: funnel.sort,
      limit: funnel.pageSize,
      offset: (funnel.page - 1) * funnel.pageSize,
      livemode,
    }),
    ownerCallsPage(services, account, livemode, calls.after, calls.pageSize),
  ]);
  return { overview, funnel: funnelPage, calls: recent };
}

// Plain reads and writes that routes need as they are: routes reach the store only through services.
export { cursorFromString, cursorToString, renameKey } from '../store/dashboard.ts';
