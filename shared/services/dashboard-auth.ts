import { createHash, randomBytes } from 'node:crypto';
import { getAddress, verifyMessage, type Hex } from 'viem';
import { generateSiweNonce, parseSiweMessage, validateSiweMessage } from 'viem/siwe';
import type { Queryable } from '../db/index.ts';
import { Unauthorized } from '../errors.ts';
import { findAccount, findAccountByWallet, type Account } from '../store/accounts.ts';
import { consumeNonce, deleteSession, findSession, insertNonce, insertSession, type SessionRecord } from '../store/dashboard.ts';
import { authenticate } from './api-keys.ts';

// Dashboard sign-in: Sign-In with Ethereum (EIP-4361) for contributors, or an API key exchanged
// for a session (the key is checked once and never kept by the browser). A session is a random
// token; the database stores its sha256, so a leaked table cannot be replayed as cookies.

export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const NONCE_TTL_MS = 10 * 60 * 1000;

export interface DashboardSession extends SessionRecord {
  account: Account;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

async function openSession(db: Queryable, account: Account, method: SessionRecord['method'], livemode: boolean, wallet: string | null): Promise<{ token: string; session: DashboardSession }> {
  const token = randomBytes(32).toString('base64url');
  const record: SessionRecord = { accountId: account.id, method, livemode, wallet, csrf: randomBytes(24).toString('base64url'), expiresAt: new Date(Date.now() + SESSION_TTL_MS) };
  await insertSession(db, hashToken(token), record);
  return { token, session: { ...record, account } };
}

export async function sessionFor(db: Queryable, token: string | undefined): Promise<DashboardSession | null> {
  if (!token || token.length > 100) return null;
  const record = await findSession(db, hashToken(token));
  if (!record) return null;
  const account = await findAccount(db, record.accountId);
  return account ? { ...record, account } : null;
}

export async function endSession(db: Queryable, token: string | undefined): Promise<void> {
  if (token) await deleteSession(db, hashToken(token));
}

/** A consumer or contributor API key, checked once; admin keys do not open dashboards. The session takes the key's mode. */
export async function signInWithKey(db: Queryable, presented: string) {
  const principal = await authenticate(db, presented.trim());
  if (!principal || principal.role === 'admin') throw new Unauthorized('that API key is not valid for the dashboard (revoked, unknown, or an admin key)');
  const account = (await findAccount(db, principal.accountId))!;
  return openSession(db, account, 'api_key', principal.livemode, account.wallet);
}

export async function issueSiweNonce(db: Queryable): Promise<string> {
  const nonce = generateSiweNonce();
  await insertNonce(db, nonce, new Date(Date.now() + NONCE_TTL_MS));
  return nonce;
}

/**
 * Checks an EIP-4361 message and its EIP-191 signature: our domain and origin, a nonce we issued
 * (used once), not expired and recent, signed by the address it names, which must be a contributor.
 */
export async function signInWithEthereum(
  db: Queryable,
  params: { message: string; signature: Hex; domain: string; origin: string; chainId: number | null },
) {
  const fail = (why: string) => new Unauthorized(`sign-in with Ethereum failed: ${why}`);
  const parsed = parseSiweMessage(params.message);
  if (!parsed.address || !parsed.nonce) throw fail('not an EIP-4361 message');
  if (!validateSiweMessage({ message: parsed, domain: params.domain })) throw fail('wrong domain, or the message expired');
  if (parsed.uri && new URL(parsed.uri).origin !== params.origin) throw fail('wrong URI');
  if (params.chainId !== null && parsed.chainId !== params.chainId) throw fail(`wrong chain id (expected ${params.chainId})`);
  if (!parsed.issuedAt || Date.now() - parsed.issuedAt.getTime() > NONCE_TTL_MS) throw fail('the message is too old');
  const valid = await verifyMessage({ address: parsed.address, message: params.message, signature: params.signature }).catch(() => false);
  if (!valid) throw fail('the signature does not match the address');
  if (!(await consumeNonce(db, parsed.nonce))) throw fail('unknown or already used nonce');
  const wallet = getAddress(parsed.address);
  const account = await findAccountByWallet(db, wallet);
  if (!account || account.kind !== 'contributor') throw fail(`no contributor account has the wallet ${wallet}`);
  return openSession(db, account, 'siwe', true, wallet);
}
