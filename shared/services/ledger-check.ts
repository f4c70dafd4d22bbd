import type { Address } from 'viem';
import type { PublishedEpoch, SettlementChain } from '../chain/distributor.ts';
import type { TokenInflows } from '../chain/token-inflows.ts';
import type { Queryable } from '../db/index.ts';
import { SETTLED_ACCOUNT_ID } from '../store/accounts.ts';
import { balanceOf } from '../store/ledger.ts';
import { LIMIT, ledgerInvariants, type LedgerCheck } from '../store/ledger-invariants.ts';
import { checkInflows } from './inflow-check.ts';
import type { ChannelReader } from '../chain/x402-channel-reader.ts';
import { checkChannelClaims, checkChannelLedger } from './channel-check.ts';
import {
  confirmedEpochs,
  epochPayouts,
  findEpoch,
  inFlightEpoch,
  paidWallets,
  relayedClaimTotals,
} from '../store/settlement.ts';

// Whole-database money invariants, for `npm run check:ledger`, the multi-process and fault tests,
// and operators after an incident: the database's (store/ledger-invariants.ts, one query each) and,
// with a chain, the distributor's against the ledger. An empty list of offenders passes.
export type { LedgerCheck };

/**
 * With `chain`, the distributor is read too (checkChain): roots, funding and claims against the
 * ledger; with `inflows`, the stablecoin paid in (x402 payments, top-ups) against its Transfers;
 * with `channels`, each x402 batch-settlement channel's claimed total against the channel contract.
 */
export async function checkLedger(
  db: Queryable,
  opts: {
    chain?: SettlementChain | undefined;
    inflows?: TokenInflows | undefined;
    channels?: ChannelReader | undefined;
  } = {},
): Promise<LedgerCheck[]> {
  const checks = await ledgerInvariants(db);
  checks.push(await checkChannelLedger(db));
  if (opts.channels) checks.push(await checkChannelClaims(db, opts.channels));
  if (opts.chain) checks.push(...(await checkChain(db, opts.chain)));
  if (opts.inflows) checks.push(...(await checkInflows(db, opts.inflows)));
  return checks;
}

/**
 * The chain against the ledger: the distributor holds every confirmed epoch with its roots; its
 * total is what the ledger settled (or, while an epoch awaits finality, that epoch's); its token
 * balance is that total minus every wallet's claims; every claim this deployment relayed is there;
 * and no wallet claimed more than it was settled.
 */
export async function checkChain(db: Queryable, chain: SettlementChain): Promise<LedgerCheck[]> {
  const state = await chain.readState();
  const confirmed = await confirmedEpochs(db);
  const last = confirmed.at(-1) ?? null;
  const inFlight = await inFlightEpoch(db);
  const checks: LedgerCheck[] = [];
  const add = (name: string, checked: string, offenders: string[]) =>
    checks.push({ name, ok: offenders.length === 0, checked, offenders: offenders.slice(0, LIMIT) });

  add(
    'chain: the distributor holds every confirmed epoch',
    `${confirmed.length} confirmed epochs, chain at epoch ${state.epoch}`,
    confirmed
      .filter((e) => BigInt(e.epoch) > state.epoch)
      .map((e) => `epoch=${e.epoch} missing (chain at ${state.epoch})`),
  );

  const roots: string[] = [];
  for (const e of confirmed.filter((x) => BigInt(x.epoch) <= state.epoch)) {
    const onChain = await chain.receiptsRootOf(BigInt(e.epoch));
    if (onChain.toLowerCase() !== e.receiptsRoot.toLowerCase())
      roots.push(`epoch=${e.epoch} receiptsRoot=${e.receiptsRoot} chain=${onChain}`);
  }
  add("chain: each confirmed epoch's receipts root is on chain", `${confirmed.length} epochs`, roots);

  // The publish events: each confirmed epoch once, with the ledger's payout root and total, having
  // pulled in exactly that epoch's growth (a lost epoch re-published later must not be paid for twice,
  // nor the next epoch fund what the chain forgot).
  const events = new Map<bigint, PublishedEpoch[]>();
  for (const p of await chain.publishedEpochs()) events.set(p.epoch, [...(events.get(p.epoch) ?? []), p]);
  const published: string[] = [];
  for (const e of confirmed.filter((x) => BigInt(x.epoch) <= state.epoch)) {
    const found = events.get(BigInt(e.epoch)) ?? [];
    if (found.length !== 1) {
      published.push(`epoch=${e.epoch} published ${found.length} times`);
      continue;
    }
    const p = found[0]!;
    if (p.payoutRoot.toLowerCase() !== e.payoutRoot.toLowerCase())
      published.push(`epoch=${e.epoch} payoutRoot=${e.payoutRoot} chain=${p.payoutRoot}`);
    if (p.totalCumulative !== e.totalCumulative)
      published.push(`epoch=${e.epoch} total=${e.totalCumulative} chain=${p.totalCumulative}`);
    if (p.funded !== e.amount) published.push(`epoch=${e.epoch} amount=${e.amount} funded on chain=${p.funded}`);
  }
  const funded = [...events.values()].flat().reduce((sum, p) => sum + p.funded, 0n);
  add(
    'chain: each confirmed epoch was published once with its payout root and total, funded with its amount',
    `${confirmed.length} epochs, ${funded} funded in all`,
    published,
  );

  // The epoch the chain is at: the last confirmed one, or the one in flight (published, awaiting finality).
  const current = state.epoch === 0n ? null : await findEpoch(db, Number(state.epoch));
  const settled = await balanceOf(db, SETTLED_ACCOUNT_ID, true);
  const expectedTotal =
    current && (current.status === 'confirmed' || current.epoch === inFlight?.epoch) ? current.totalCumulative : null;
  const head: string[] = [];
  if (state.epoch > 0n && !current) head.push(`chain epoch=${state.epoch} is unknown to this database`);
  if (current && current.payoutRoot.toLowerCase() !== state.payoutRoot.toLowerCase())
    head.push(`epoch=${current.epoch} root=${current.payoutRoot} chain=${state.payoutRoot}`);
  if (expectedTotal !== null && expectedTotal !== state.totalCumulative)
    head.push(`epoch=${current!.epoch} total=${expectedTotal} chain=${state.totalCumulative}`);
  if (current?.status === 'confirmed' && state.totalCumulative !== settled)
    head.push(`ledger settled=${settled} chain total=${state.totalCumulative}`);
  if (!current && last === null && state.totalCumulative !== 0n)
    head.push(`nothing settled but chain total=${state.totalCumulative}`);
  add(
    "chain: the distributor's root and total are the ledger's settled amount",
    `settled ${settled}, chain total ${state.totalCumulative}`,
    head,
  );

  // Claims: read per wallet any epoch paid (the only wallets a proof can exist for).
  const wallets = await paidWallets(db);
  const claimed = new Map<string, bigint>();
  for (let i = 0; i < wallets.length; i += 20)
    await Promise.all(wallets.slice(i, i + 20).map(async (w) => claimed.set(w, await chain.claimed(w as Address))));
  const totalClaimed = [...claimed.values()].reduce((a, b) => a + b, 0n);
  const balance = await chain.tokenBalance(chain.distributor);
  add(
    'chain: distributor balance = settled − claimed',
    `balance ${balance}, total ${state.totalCumulative}, claimed ${totalClaimed} by ${wallets.length} wallets`,
    balance === state.totalCumulative - totalClaimed
      ? []
      : [`balance=${balance} expected=${state.totalCumulative - totalClaimed}`],
  );

  const relayed = await relayedClaimTotals(db);
  add(
    'chain: every relayed claim is on chain',
    `${relayed.length} wallets with relayed claims`,
    relayed
      .filter((r) => (claimed.get(r.wallet) ?? 0n) < r.cumulative)
      .map((r) => `wallet=${r.wallet} relayed=${r.cumulative} chain=${claimed.get(r.wallet) ?? 0n}`),
  );

  const over: string[] = [];
  const tree = current
    ? new Map((await epochPayoutsUpTo(db, current.epoch)).map((p) => [p.wallet, p.cumulative]))
    : new Map<string, bigint>();
  for (const [w, c] of claimed)
    if (c > (tree.get(w) ?? 0n)) over.push(`wallet=${w} claimed=${c} settled=${tree.get(w) ?? 0n}`);
  add('chain: no wallet claimed more than it was settled', `${wallets.length} wallets`, over);
  return checks;
}

/** Every wallet's cumulative amount as of `epoch` (its latest payout at or before it). */
async function epochPayoutsUpTo(db: Queryable, epoch: number): Promise<{ wallet: string; cumulative: bigint }[]> {
  const byWallet = new Map<string, bigint>();
  for (let e = 1; e <= epoch; e++) for (const p of await epochPayouts(db, e)) byWallet.set(p.wallet, p.cumulative);
  return [...byWallet].map(([wallet, cumulative]) => ({ wallet, cumulative }));
}
