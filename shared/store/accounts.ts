import type { Queryable } from '../db/index.ts';
import { newId } from '../ids.ts';

export type AccountKind = 'admin' | 'consumer' | 'contributor';
export type Role = AccountKind;

export interface Account {
  id: string;
  kind: AccountKind | 'system';
  name: string;
  wallet: string | null;
  createdAt: Date;
  /** set by an admin: the account's keys are refused and its dashboard sessions end */
  disabledAt: Date | null;
}

export interface ApiKeyRecord {
  id: string;
  accountId: string;
  role: Role;
  name: string | null;
  prefix: string;
  secretHash: string;
  /** false for a cp_test_ key: it acts on test balances only */
  livemode: boolean;
  createdAt: Date;
  revokedAt: Date | null;
}

export const PROTOCOL_ACCOUNT_ID = 'acct_protocol';
export const FUNDING_ACCOUNT_ID = 'acct_funding';
/** Earnings that settlement moved on chain (held by the distributor until claimed). */
export const SETTLED_ACCOUNT_ID = 'acct_settled';

type AccountRow = {
  id: string;
  kind: Account['kind'];
  name: string;
  wallet: string | null;
  created_at: Date;
  disabled_at: Date | null;
};
const toAccount = (r: AccountRow): Account => ({
  id: r.id,
  kind: r.kind,
  name: r.name,
  wallet: r.wallet,
  createdAt: r.created_at,
  disabledAt: r.disabled_at,
});

export async function insertAccount(
  db: Queryable,
  a: { kind: AccountKind; name: string; wallet?: string | null },
): Promise<Account> {
  const r = await db.query<AccountRow>(
    `INSERT INTO accounts (id, kind, name, wallet) VALUES ($1, $2, $3, $4) RETURNING *`,
    [newId('account'), a.kind, a.name, a.wallet ?? null],
  );
  return toAccount(r.rows[0]!);
}

export async function findAccount(db: Queryable, id: string): Promise<Account | null> {
  const r = await db.query<AccountRow>(`SELECT * FROM accounts WHERE id = $1`, [id]);
  return r.rows[0] ? toAccount(r.rows[0]) : null;
}

export async function findAccountByWallet(db: Queryable, wallet: string): Promise<Account | null> {
  const r = await db.query<AccountRow>(`SELECT * FROM accounts WHERE wallet = $1`, [wallet]);
  return r.rows[0] ? toAccount(r.rows[0]) : null;
}

/** Wallet of each account that has one, in one query. */
export async function walletsOf(db: Queryable, accountIds: readonly string[]): Promise<Map<string, string>> {
  const r = await db.query<{ id: string; wallet: string }>(
    `SELECT id, wallet FROM accounts WHERE id = ANY($1::text[]) AND wallet IS NOT NULL`,
    [[...new Set(accountIds)]],
  );
  return new Map(r.rows.map((row) => [row.id, row.wallet]));
}

export async function hasAdmin(db: Queryable): Promise<boolean> {
  return (await firstAdminId(db)) !== null;
}

/** The first admin account made (bootstrap's), or null on a fresh database. */
export async function firstAdminId(db: Queryable): Promise<string | null> {
  const r = await db.query<{ id: string }>(
    `SELECT id FROM accounts WHERE kind = 'admin' ORDER BY created_at, id LIMIT 1`,
  );
  return r.rows[0]?.id ?? null;
}

type KeyRow = {
  id: string;
  account_id: string;
  role: Role;
  name: string | null;
  prefix: string;
  secret_hash: string;
  livemode: boolean;
  created_at: Date;
  revoked_at: Date | null;
};
const toKey = (r: KeyRow): ApiKeyRecord => ({
  id: r.id,
  accountId: r.account_id,
  role: r.role,
  name: r.name,
  prefix: r.prefix,
  secretHash: r.secret_hash,
  livemode: r.livemode,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

export async function insertApiKey(
  db: Queryable,
  k: { accountId: string; role: Role; name: string | null; prefix: string; secretHash: string; livemode: boolean },
): Promise<ApiKeyRecord> {
  const r = await db.query<KeyRow>(
    `INSERT INTO api_keys (id, account_id, role, name, prefix, secret_hash, livemode) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [newId('key'), k.accountId, k.role, k.name, k.prefix, k.secretHash, k.livemode],
  );
  return toKey(r.rows[0]!);
}

/** The key with that hash, and whether its account is disabled (a disabled account's keys are refused). */
export async function findApiKeyByHash(
  db: Queryable,
  secretHash: string,
): Promise<(ApiKeyRecord & { accountDisabled: boolean }) | null> {
  const r = await db.query<KeyRow & { account_disabled: boolean }>(
    `SELECT k.*, a.disabled_at IS NOT NULL AS account_disabled FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.secret_hash = $1`,
    [secretHash],
  );
  return r.rows[0] ? { ...toKey(r.rows[0]), accountDisabled: r.rows[0].account_disabled } : null;
}

export async function findApiKey(db: Queryable, id: string): Promise<ApiKeyRecord | null> {
  const r = await db.query<KeyRow>(`SELECT * FROM api_keys WHERE id = $1`, [id]);
  return r.rows[0] ? toKey(r.rows[0]) : null;
}

export async function listApiKeys(db: Queryable, accountId: string): Promise<ApiKeyRecord[]> {
  const r = await db.query<KeyRow>(`SELECT * FROM api_keys WHERE account_id = $1 ORDER BY created_at`, [accountId]);
  return r.rows.map(toKey);
}

/** Disables (or enables again) an account; disabling ends its dashboard sessions (trigger, migration 0050). */
export async function setAccountDisabled(db: Queryable, id: string, disabled: boolean): Promise<Account | null> {
  const r = await db.query<AccountRow>(
    `UPDATE accounts SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END WHERE id = $1 AND kind <> 'system' RETURNING *`,
    [id, disabled],
  );
  return r.rows[0] ? toAccount(r.rows[0]) : null;
}

/** Revoking ends the dashboard sessions the key opened, in the same statement (trigger, migration 0050). */
export async function revokeApiKey(db: Queryable, id: string): Promise<ApiKeyRecord | null> {
  const r = await db.query<KeyRow>(
    `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING *`,
    [id],
  );
  return r.rows[0] ? toKey(r.rows[0]) : null;
}

/** Gives an account without a wallet this one (an x402 payer's account, when its wallet signs in). */
export async function attachWallet(db: Queryable, accountId: string, wallet: string): Promise<Account | null> {
  const r = await db.query<AccountRow>(`UPDATE accounts SET wallet = $2 WHERE id = $1 AND wallet IS NULL RETURNING *`, [
    accountId,
    wallet,
  ]);
  return r.rows[0] ? toAccount(r.rows[0]) : null;
}
