import { getAddress, type Hex } from 'viem';
import type { TokenInflows } from '../chain/token-inflows.ts';
import type { Queryable } from '../db/index.ts';
import { creditedTopUps } from '../store/top-ups.ts';
import { settledPayments } from '../store/x402.ts';
import type { LedgerCheck } from './ledger-check.ts';

// check:ledger's stablecoin inflows against the chain (issue 20): every x402 payment the ledger
// records as settled is a Transfer of its amount from the payer to the treasury in the transaction
// it names, and the total the chain shows equals the ledger's. Self-serve top-ups add their own
// check (services/top-ups.ts).

const LIMIT = 5;
const READS_AT_ONCE = 10;

export async function checkX402Inflows(db: Queryable, inflows: TokenInflows): Promise<LedgerCheck> {
  const payments = await settledPayments(db);
  const offenders: string[] = [];
  let onChain = 0n;
  let recorded = 0n;
  for (let i = 0; i < payments.length; i += READS_AT_ONCE)
    await Promise.all(
      payments.slice(i, i + READS_AT_ONCE).map(async (p) => {
        recorded += p.amount;
        const transfers = await inflows.transfersIn(p.txHash as Hex);
        const match = transfers.find(
          (t) =>
            t.from === getAddress(p.payer) &&
            t.to === getAddress(p.payTo) &&
            t.value === p.amount &&
            getAddress(p.asset) === inflows.token,
        );
        if (match) onChain += match.value;
        else
          offenders.push(
            `payment=${p.id} tx=${p.txHash} amount=${p.amount}: no such Transfer on chain (${transfers.length} token transfers in it)`,
          );
      }),
    );
  return {
    name: 'chain: every settled x402 payment is its Transfer to the treasury',
    ok: offenders.length === 0,
    checked: `${payments.length} settled payments, ${recorded} in the ledger, ${onChain} on chain`,
    offenders: offenders.slice(0, LIMIT),
  };
}

/** Every credited top-up is its Transfer (same log) from the account's wallet to the treasury. */
export async function checkTopUpInflows(db: Queryable, inflows: TokenInflows): Promise<LedgerCheck> {
  const topUps = await creditedTopUps(db);
  const offenders: string[] = [];
  let onChain = 0n;
  let recorded = 0n;
  for (let i = 0; i < topUps.length; i += READS_AT_ONCE)
    await Promise.all(
      topUps.slice(i, i + READS_AT_ONCE).map(async (t) => {
        recorded += t.amount;
        const match = (await inflows.transfersIn(t.txHash as Hex)).find(
          (x) =>
            x.logIndex === t.logIndex &&
            x.from === getAddress(t.wallet) &&
            x.to === getAddress(t.treasury) &&
            x.value === t.amount,
        );
        if (match && getAddress(t.token) === inflows.token) onChain += match.value;
        else
          offenders.push(
            `top-up=${t.id} tx=${t.txHash} log=${t.logIndex} amount=${t.amount}: no such Transfer on chain`,
          );
      }),
    );
  return {
    name: 'chain: every credited top-up is its Transfer to the treasury',
    ok: offenders.length === 0,
    checked: `${topUps.length} credited top-ups, ${recorded} in the ledger, ${onChain} on chain`,
    offenders: offenders.slice(0, LIMIT),
  };
}

/** Every inflow check: x402 payments and self-serve top-ups. */
export async function checkInflows(db: Queryable, inflows: TokenInflows): Promise<LedgerCheck[]> {
  return [await checkX402Inflows(db, inflows), await checkTopUpInflows(db, inflows)];
}
