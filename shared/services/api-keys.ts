import { createHash, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../db/index.ts';
import { randomBase62 } from '../ids.ts';
import { NotFound } from '../errors.ts';
import {
  findApiKey,
  findApiKeyByHash,
  insertApiKey,
  listApiKeys,
  revokeApiKey,
  type ApiKeyRecord,
  type Role,
} from '../store/accounts.ts';
import { reachableOnly, requireReachable } from './test-mode.ts';

export type KeyMode = 'live' | 'test';

export interface Principal {
  accountId: string;
  keyId: string;
  role: Role;
  /**
   * false for a cp_test_ key (Stripe's convention): its calls are held against, charged to and
   * credited in test balances only, which never settle on chain. Billing passes it to every
   * balance read and ledger write; the database refuses a test key's live transaction.
   */
  livemode: boolean;
  /** balance and holds read with the key at admission: for the early 402 only (charges re-read under the lock) */
  credits?: { balance: bigint; held: bigint } | undefined;
}

/** Whose money a call moves: an account's balance in one mode. */
export interface Payer {
  accountId: string;
  livemode: boolean;
}

const KEY_PATTERN = /^cp_(live|test)_[A-Za-z0-9]{24,64}$/;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateKey(mode: KeyMode = 'live'): string {
  return `cp_${mode}_${randomBase62(32)}`;
}

/** Stores only the hash; the plaintext is returned once, to be shown once. */
export async function issueKey(
  db: Queryable,
  params: { accountId: string; role: Role; name?: string | null; key?: string; mode?: KeyMode },
): Promise<{ key: string; record: ApiKeyRecord }> {
  const key = params.key ?? generateKey(params.mode);
  if (!KEY_PATTERN.test(key)) throw new Error('api key has the wrong format');
  const record = await insertApiKey(db, {
    accountId: params.accountId,
    role: params.role,
    name: params.name ?? null,
    prefix: key.slice(0, 12),
    secretHash: hashKey(key),
    livemode: key.startsWith('cp_live_'),
  });
  return { key, record };
}

/** The hash a presented key is looked up by; null for something that is not a key at all. */
export function presentedKeyHash(presented: string): string | null {
  return KEY_PATTERN.test(presented) ? hashKey(presented) : null;
}

/** The principal of a key record found by `hash`, or null when it is revoked, its account disabled, or (constant-time) not the same hash. */
export function principalOf(
  record: (ApiKeyRecord & { accountDisabled?: boolean }) | null,
  hash: string,
): Principal | null {
  // a disabled account's keys are refused like revoked ones (migration 0050)
  if (!record || record.revokedAt || record.accountDisabled) return null;
  if (!timingSafeEqual(Buffer.from(record.secretHash, 'hex'), Buffer.from(hash, 'hex'))) return null;
  return { accountId: record.accountId, keyId: record.id, role: record.role, livemode: record.livemode };
}

/** The caller's own keys, as far as its mode reaches (a cp_test_ key sees the account's test keys only). */
export async function ownKeys(
  db: Queryable,
  actor: Pick<Principal, 'accountId' | 'livemode'>,
): Promise<ApiKeyRecord[]> {
  return reachableOnly(actor, await listApiKeys(db, actor.accountId));
}

/**
 * Revokes a key: an admin any key, anyone else only their account's, and a test actor only test
 * keys (anything else is 404, as another tenant's key). Revoking ends the dashboard sessions the
 * key opened, in the same statement (migration 0050).
 */
export async function revokeKeyAs(
  db: Queryable,
  actor: Pick<Principal, 'accountId' | 'role' | 'livemode'>,
  id: string,
): Promise<ApiKeyRecord> {
  const key = await findApiKey(db, id);
  if (!key || (actor.role !== 'admin' && key.accountId !== actor.accountId))
    throw new NotFound(`no key ${id}`, 'key', id);
  requireReachable(actor, key, 'key', id);
  return (await revokeApiKey(db, id))!;
}

/** Looks the key up by its hash (no secret-dependent branching), then compares in constant time. */
export async function authenticate(db: Queryable, presented: string): Promise<Principal | null> {
  const hash = presentedKeyHash(presented);
  if (!hash) return null;
  return principalOf(await findApiKeyByHash(db, hash), hash);
}
