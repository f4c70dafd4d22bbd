import { createHash, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../db/index.ts';
import { randomBase62 } from '../ids.ts';
import { findApiKeyByHash, insertApiKey, type ApiKeyRecord, type Role } from '../store/accounts.ts';

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

/** The principal of a key record found by `hash`, or null when it is revoked or (constant-time) not the same hash. */
export function principalOf(record: ApiKeyRecord | null, hash: string): Principal | null {
  if (!record || record.revokedAt) return null;
  if (!timingSafeEqual(Buffer.from(record.secretHash, 'hex'), Buffer.from(hash, 'hex'))) return null;
  return { accountId: record.accountId, keyId: record.id, role: record.role, livemode: record.livemode };
}

/** Looks the key up by its hash (no secret-dependent branching), then compares in constant time. */
export async function authenticate(db: Queryable, presented: string): Promise<Principal | null> {
  const hash = presentedKeyHash(presented);
  if (!hash) return null;
  return principalOf(await findApiKeyByHash(db, hash), hash);
}
