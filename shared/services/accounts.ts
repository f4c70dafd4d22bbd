import { getAddress, isAddress } from 'viem';
import type { Db, Queryable } from '../db/index.ts';
import { InvalidInput, NotFound, Conflict, Forbidden } from '../errors.ts';
import { newId } from '../ids.ts';
import {
  FUNDING_ACCOUNT_ID,
  findAccount,
  findAccountByWallet,
  insertAccount,
  setAccountDisabled,
  type Account,
  type AccountKind,
} from '../store/accounts.ts';
import { postTransaction } from '../store/ledger.ts';
import { issueKey, type KeyMode } from './api-keys.ts';

/** Checksummed (EIP-55) form; a mixed-case address with a wrong checksum is refused. */
export function checksumWallet(wallet: string): string {
  if (!isAddress(wallet, { strict: false }))
    throw new InvalidInput(`wallet is not an EVM address: ${wallet}`, 'wallet');
  // viem's strict mode accepts all-lowercase and checks EIP-55 on mixed case.
  if (!isAddress(wallet, { strict: true }))
    throw new InvalidInput(`wallet has an invalid EIP-55 checksum: ${wallet}`, 'wallet');
  return getAddress(wallet);
}

export interface CreatedAccount {
  account: Account;
  apiKey: { id: string; key: string } | null;
}

export async function createAccount(
  db: Db,
  input: {
    kind: AccountKind;
    name: string;
    wallet?: string | undefined;
    credits?: bigint | undefined;
    withKey?: boolean;
    keyMode?: KeyMode;
    key?: string;
    /** the admin key creating it, recorded on the credit grant */
    grantedBy?: string | null;
  },
): Promise<CreatedAccount> {
  if (input.kind === 'contributor' && !input.wallet)
    throw new InvalidInput('a contributor needs a wallet address', 'wallet');
  if (input.kind !== 'consumer' && input.credits !== undefined && input.credits > 0n)
    throw new InvalidInput('only consumer accounts hold prepaid credits', 'credits');
  const wallet = input.wallet ? checksumWallet(input.wallet) : null;
  return db.transaction(async (tx) => {
    if (wallet && (await findAccountByWallet(tx, wallet))) throw new Conflict(`wallet ${wallet} is already registered`);
    const account = await insertAccount(tx, { kind: input.kind, name: input.name, wallet });
    // Opening credits are in the first key's mode: a trial with a cp_test_ key gets test credits.
    const livemode = (input.keyMode ?? 'live') === 'live';
    if (input.credits && input.credits > 0n)
      await grantCreditsIn(tx, account.id, input.credits, input.grantedBy ?? null, livemode);
    const issued =
      input.withKey === false
        ? null
        : await issueKey(tx, {
            accountId: account.id,
            role: input.kind,
            name: 'default',
            mode: input.keyMode,
            ...(input.key ? { key: input.key } : {}),
          });
    return { account, apiKey: issued ? { id: issued.record.id, key: issued.key } : null };
  });
}

/** `livemode` false: test credits, spendable by the account's cp_test_ keys only. */
export async function grantCreditsIn(
  tx: Queryable,
  accountId: string,
  amount: bigint,
  keyId: string | null,
  livemode: boolean,
): Promise<string> {
  const id = newId('transaction');
  await postTransaction(tx, {
    id,
    kind: 'credit_grant',
    requestId: null,
    keyId,
    livemode,
    entries: [
      { accountId: FUNDING_ACCOUNT_ID, amount: -amount },
      { accountId, amount },
    ],
  });
  return id;
}

export async function requireAccount(db: Queryable, id: string, kind?: AccountKind): Promise<Account> {
  const account = await findAccount(db, id);
  if (!account || account.kind === 'system') throw new NotFound(`no account ${id}`, 'account', id);
  if (kind && account.kind !== kind)
    throw new InvalidInput(`account ${id} is a ${account.kind}, not a ${kind}`, 'kind');
  return account;
}

/**
 * Disables a consumer or contributor account (or enables it again). Disabled: its keys are refused
 * (authenticate), its dashboard sessions are deleted in the same statement (trigger, migration 0050)
 * and refused if any remained, and its wallet cannot sign in with Ethereum.
 */
export async function setAccountDisabledAs(db: Queryable, id: string, disabled: boolean): Promise<Account> {
  const account = await requireAccount(db, id);
  if (account.kind === 'admin') throw new Forbidden('admin accounts cannot be disabled: revoke their keys instead');
  return (await setAccountDisabled(db, id, disabled))!;
}

// Plain reads and writes that routes need as they are: routes reach the store only through services.
export { findAccount, findAccountByWallet, listApiKeys, walletsOf } from '../store/accounts.ts';
export { balanceOf } from '../store/ledger.ts';
