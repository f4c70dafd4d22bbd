import { getAddress } from 'viem';
import { lockInTransaction } from '../db/lock.ts';
import { attachWallet, findAccountByWallet, insertAccount, type Account } from '../store/accounts.ts';
import { findPayer } from '../store/x402.ts';
import { grantCreditsIn } from './accounts.ts';
import type { Services } from './container.ts';

// Self-serve sign-up (issue 20 §3): a wallet that signs in to the dashboard (SIWE, already checked)
// and has no account gets a consumer account of its own, with SIGNUP_TEST_CREDITS of test credits
// at once (spendable by its cp_test_ keys only). A wallet that paid with x402 before already has a
// consumer account (made by its first payment, without a wallet): signing in takes that one, so
// what its payments left as credit becomes spendable with keys.

export async function signUpWallet(services: Services, address: string): Promise<Account> {
  const wallet = getAddress(address);
  return services.db.transaction(async (tx) => {
    // concurrent first sign-ins of one wallet make one account
    await lockInTransaction(tx, `citepay:signup:${wallet}`);
    const existing = await findAccountByWallet(tx, wallet);
    if (existing) return existing;
    const payer = await findPayer(tx, wallet);
    const account =
      (payer && (await attachWallet(tx, payer.accountId, wallet))) ??
      (await insertAccount(tx, { kind: 'consumer', name: `wallet ${wallet.slice(0, 6)}…${wallet.slice(-4)}`, wallet }));
    const credits = services.config.selfServe.signupTestCredits;
    if (credits > 0n) await grantCreditsIn(tx, account.id, credits, null, false);
    return account;
  });
}
