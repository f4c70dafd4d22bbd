import type { Address } from 'viem';
import type { PublishedEpoch, SettlementChain } from '../chain/distributor.ts';
import type { Queryable } from '../db/index.ts';
import { FUNDING_ACCOUNT_ID, SETTLED_ACCOUNT_ID } from '../store/accounts.ts';
import { X402_ACCOUNT_ID } from '../store/x402.ts';
import { balanceMismatches, balanceOf } from '../store/ledger.ts';
import {
  confirmedEpochs,
  epochPayouts,
  findEpoch,
  inFlightEpoch,
  paidWallets,
  relayedClaimTotals,
} from '../store/settlement.ts';

// Whole-database money invariants, for `npm run check:ledger`, the multi-process and fault tests,
// and operators after an incident. Each check is one query that lists offenders (a few, for the
// report); an empty list passes.
export interface LedgerCheck {
  name: string;
  ok: boolean;
  /** what was checked, in numbers */
  checked: string;
  /** up to 5 offending rows, as text */
  offenders: string[];
}

const LIMIT = 5;

/** With `chain`, the distributor is read too (checkChain): roots, funding and claims against the ledger. */
export async function checkLedger(
  db: Queryable,
  opts: { chain?: SettlementChain | undefined } = {},
): Promise<LedgerCheck[]> {
  const checks = await checkDatabase(db);
  return opts.chain ? [...checks, ...(await checkChain(db, opts.chain))] : checks;
}

async function checkDatabase(db: Queryable): Promise<LedgerCheck[]> {
  const checks: LedgerCheck[] = [];
  const add = async (name: string, checked: () => Promise<string>, sql: string, params: unknown[] = []) => {
    const r = await db.query<Record<string, unknown>>(`${sql} LIMIT ${LIMIT}`, params);
    const offenders = r.rows.map((row) =>
      Object.entries(row)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' '),
    );
    checks.push({ name, ok: offenders.length === 0, checked: await checked(), offenders });
  };
  const count = async (sql: string) => String((await db.query<{ n: bigint }>(sql)).rows[0]?.n ?? 0n);

  await add(
    'every ledger transaction sums to zero',
    async () => `${await count(`SELECT count(*)::bigint AS n FROM ledger_transactions`)} transactions`,
    `SELECT transaction_id, sum(amount)::text AS total FROM ledger_entries GROUP BY transaction_id HAVING sum(amount) <> 0`,
  );
  await add(
    'every transaction has entries',
    async () => 'all transactions',
    `SELECT t.id FROM ledger_transactions t WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.transaction_id = t.id)`,
  );
  // Live and test money are two ledgers over the same accounts (migration 0012): each balances on
  // its own, no account goes below zero in either, and nothing crosses between them.
  await add(
    'all balances together sum to zero, live and test each',
    async () => `${await count(`SELECT count(DISTINCT account_id)::bigint AS n FROM ledger_entries`)} accounts`,
    `SELECT livemode, sum(amount)::text AS total FROM ledger_entries GROUP BY livemode HAVING sum(amount) <> 0`,
  );
  // Balances are derived from entries (never stored), so "balance = entries" holds by construction;
  // what can go wrong is an account spent below zero. Only the outside world's accounts may be:
  // admin funding, and stablecoin paid in with x402.
  await add(
    'no account below zero but the funding account',
    async () => `${await count(`SELECT count(*)::bigint AS n FROM accounts`)} accounts`,
    `SELECT account_id, livemode, sum(amount)::text AS balance FROM ledger_entries WHERE account_id <> ALL($1::text[])
      GROUP BY account_id, livemode HAVING sum(amount) < 0`,
    [[FUNDING_ACCOUNT_ID, X402_ACCOUNT_ID]],
  );
  await add(
    'test and live never in one transaction',
    async () =>
      `${await count(`SELECT count(*)::bigint AS n FROM ledger_transactions WHERE NOT livemode`)} test transactions`,
    `SELECT DISTINCT t.id, t.livemode FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id WHERE e.livemode <> t.livemode`,
  );
  // Only an admin's credit grant may be made in the other mode than its key's, and only live → test.
  await add(
    "a test key never moves live money; a live key's calls are live",
    async () =>
      `${await count(`SELECT count(*)::bigint AS n FROM ledger_transactions WHERE key_id IS NOT NULL`)} transactions by a key`,
    `SELECT t.id, t.kind, t.key_id FROM ledger_transactions t JOIN api_keys k ON k.id = t.key_id
      WHERE (t.livemode AND NOT k.livemode) OR (k.livemode AND NOT t.livemode AND t.kind <> 'credit_grant')`,
  );
  await add(
    'test money never settles',
    async () => `${await count(`SELECT count(*)::bigint AS n FROM receipts WHERE NOT livemode`)} test receipts`,
    `SELECT DISTINCT 'transaction' AS what, e.transaction_id AS id FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
      WHERE NOT e.livemode AND (e.account_id = $1 OR t.kind = 'payout')
     UNION ALL
     SELECT 'receipt', id FROM receipts WHERE NOT livemode AND epoch IS NOT NULL`,
    [SETTLED_ACCOUNT_ID],
  );
  await add(
    'every charge has its receipt',
    async () =>
      `${await count(`SELECT count(*)::bigint AS n FROM ledger_transactions WHERE kind IN ('retrieve', 'answer')`)} charges`,
    `SELECT t.id, t.request_id FROM ledger_transactions t LEFT JOIN receipts r ON r.request_id = t.request_id AND r.livemode = t.livemode
      WHERE t.kind IN ('retrieve', 'answer') AND r.id IS NULL`,
  );
  // A call that found nothing to pay for has a receipt of 0 and no ledger transaction.
  await add(
    'every receipt of a charge has its ledger transaction',
    async () => `${await count(`SELECT count(*)::bigint AS n FROM receipts`)} receipts`,
    `SELECT r.id, r.request_id FROM receipts r LEFT JOIN ledger_transactions t ON t.request_id = r.request_id
      WHERE t.id IS NULL AND (r.canonical::jsonb ->> 'charged') <> '0'`,
  );
  await add(
    'the settled account equals the last confirmed cumulative total',
    async () =>
      `${await count(`SELECT count(*)::bigint AS n FROM settlement_epochs WHERE status = 'confirmed'`)} confirmed epochs`,
    `SELECT settled::text, published::text FROM (
       SELECT (SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE account_id = $1 AND livemode) AS settled,
              (SELECT coalesce(max(total_cumulative), 0) FROM settlement_epochs WHERE status = 'confirmed') AS published) x
      WHERE settled <> published`,
    [SETTLED_ACCOUNT_ID],
  );
  await add(
    "each epoch's payouts add up to its amount",
    async () => `${await count(`SELECT count(*)::bigint AS n FROM settlement_epochs`)} epochs`,
    `SELECT e.epoch, e.amount::text, coalesce(sum(p.amount), 0)::text AS payouts FROM settlement_epochs e
       LEFT JOIN epoch_payouts p ON p.epoch = e.epoch GROUP BY e.epoch, e.amount HAVING e.amount <> coalesce(sum(p.amount), 0)`,
  );
  await add(
    'each confirmed epoch paid out once in the ledger',
    async () => 'confirmed epochs with an amount',
    `SELECT e.epoch, count(t.id) AS payouts FROM settlement_epochs e
       LEFT JOIN ledger_transactions t ON t.request_id = 'settlement-epoch-' || e.epoch
      WHERE e.status = 'confirmed' AND e.amount > 0 GROUP BY e.epoch HAVING count(t.id) <> 1`,
  );
  // x402 (migration 0060): what the ledger took in equals the payments it kept (a refused payment
  // was reversed and never settled); unsettled ones are receivables, listed until settled.
  await add(
    'x402 inflows equal the payments not refused',
    async () => `${await count(`SELECT count(*)::bigint AS n FROM x402_payments`)} x402 payments`,
    `SELECT ledger::text, payments::text FROM (
       SELECT (SELECT -coalesce(sum(amount), 0) FROM ledger_entries WHERE account_id = $1) AS ledger,
              (SELECT coalesce(sum(amount), 0) FROM x402_payments WHERE status <> 'refused') AS payments) x
      WHERE ledger <> payments`,
    [X402_ACCOUNT_ID],
  );
  await add(
    'no x402 payment left unsettled after a successful call',
    async () =>
      `${await count(`SELECT count(*)::bigint AS n FROM x402_payments WHERE status = 'settled'`)} settled on chain`,
    `SELECT id, payer, amount::text, error FROM x402_payments WHERE status = 'unsettled'`,
  );
  checks.push(await runningBalancesCheck(db));
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

/** The running balances (migration 0040) equal what they sum: Σ entries and Σ open holds, per account and mode. */
async function runningBalancesCheck(db: Queryable): Promise<LedgerCheck> {
  const offenders = (await balanceMismatches(db, LIMIT)).map(
    (m) => `account_id=${m.accountId} livemode=${m.livemode} stored: ${m.stored}; entries: ${m.derived}`,
  );
  const n = (await db.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM account_balances`)).rows[0]!.n;
  return {
    name: 'running balances and holds equal their entries and open answers',
    ok: offenders.length === 0,
    checked: `${n} account balances`,
    offenders,
  };
}
