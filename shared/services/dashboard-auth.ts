import { createHash, randomBytes } from 'node:crypto';
import { getAddress, verifyMessage, type Hex } from 'viem';
import { generateSiweNonce, parseSiweMessage, validateSiweMessage } from 'viem/siwe';
import type { Config } from '../config.ts';
import type { Queryable } from '../db/index.ts';
import { Forbidden, InvalidInput, NotFound, Unauthorized, Unavailable } from '../errors.ts';
import { newId } from '../ids.ts';
import { findAccount, findAccountByWallet, type Account } from '../store/accounts.ts';
import {
  consumeNonce,
  deleteAccountSessions,
  deleteSession,
  deleteSessionById,
  findSession,
  insertNonce,
  insertSession,
  listSessions,
  setSessionNotice,
  takeSessionNotice,
  type SessionListing,
  type SessionRecord,
} from '../store/dashboard.ts';
import { authenticate } from './api-keys.ts';

// Dashboard sign-in: Sign-In with Ethereum (EIP-4361) for contributors, or an API key exchanged
// for a session (the key is checked once and never kept by the browser). A session is a random
// token; the database stores its sha256, so a leaked table cannot be replayed as cookies.
//
// A session lives only as long as the credential that opened it: revoking the key, disabling the
// account or changing its wallet ends it (store/dashboard.ts findSession, migration 0050). A
// session is in the mode of its key (a cp_test_ key's session is a test actor: services/test-mode.ts).

export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const NONCE_TTL_MS = 10 * 60 * 1000;
/** Creating a key from the dashboard needs a sign-in this recent: a stolen, idle cookie cannot mint keys. */
export const FRESH_SIGN_IN_MS = 10 * 60 * 1000;
/** How far ahead of our clock a wallet's issuedAt may be (clock skew), no more. */
const ISSUED_AT_SKEW_MS = 2 * 60 * 1000;

export interface DashboardSession extends SessionRecord {
  account: Account;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

async function openSession(
  db: Queryable,
  account: Account,
  opened: { method: SessionRecord['method']; livemode: boolean; keyId: string | null; wallet: string | null },
): Promise<{ token: string; session: DashboardSession }> {
  const token = randomBytes(32).toString('base64url');
  const now = Date.now();
  const record: SessionRecord = {
    id: newId('session'),
    accountId: account.id,
    ...opened,
    csrf: randomBytes(24).toString('base64url'),
    createdAt: new Date(now),
    expiresAt: new Date(now + SESSION_TTL_MS),
  };
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

/** The account's open sessions (every browser and sign-in), newest first. */
export function sessionsOf(db: Queryable, session: DashboardSession): Promise<SessionListing[]> {
  return listSessions(db, session.accountId);
}

/** Ends one of the account's sessions by id (another browser, or an older sign-in). */
export async function endSessionById(db: Queryable, session: DashboardSession, id: string): Promise<void> {
  if (!(await deleteSessionById(db, session.accountId, id))) throw new NotFound(`no session ${id}`, 'session', id);
}

/** "Sign out everywhere": every session of the account, this one included. */
export function endAllSessions(db: Queryable, session: DashboardSession): Promise<number> {
  return deleteAccountSessions(db, session.accountId);
}

/** Key-minting and other sensitive actions need a recent sign-in, not only a valid cookie. */
export function requireFreshSignIn(session: DashboardSession, what: string, now = Date.now()): void {
  if (now - session.createdAt.getTime() > FRESH_SIGN_IN_MS)
    throw new Forbidden(
      `${what} needs a sign-in within the last ${FRESH_SIGN_IN_MS / 60_000} minutes: sign in again, then retry`,
    );
}

export const leaveNotice = (db: Queryable, session: DashboardSession, text: string) =>
  setSessionNotice(db, session.id, text);
export const takeNotice = (db: Queryable, session: DashboardSession) => takeSessionNotice(db, session.id);

/** A consumer or contributor API key, checked once; admin keys do not open dashboards. The session takes the key's mode and ends when the key is revoked. */
export async function signInWithKey(db: Queryable, presented: string) {
  const principal = await authenticate(db, presented.trim());
  if (!principal || principal.role === 'admin')
    throw new Unauthorized('that API key is not valid for the dashboard (revoked, unknown, or an admin key)');
  const account = (await findAccount(db, principal.accountId))!;
  return openSession(db, account, {
    method: 'api_key',
    livemode: principal.livemode,
    keyId: principal.keyId,
    wallet: account.wallet,
  });
}

/** What a wallet signs for: the configured origin and chain (never the request's Host header). */
export interface SiweExpectation {
  domain: string;
  uri: string;
  chainId: number;
}

/**
 * The expected domain, URI and chain id, all from configuration: PUBLIC_URL, and CHAIN_ID (or the
 * chain's own id when it answers). Unknown either → sign-in with Ethereum is refused (503), never
 * checked loosely.
 */
export function siweExpectation(config: Pick<Config, 'publicUrl'>, chainId: number | null): SiweExpectation {
  if (!config.publicUrl)
    throw new Unavailable(
      'sign-in with Ethereum needs PUBLIC_URL (the origin browsers use) to be configured',
      'config',
    );
  if (chainId === null)
    throw new Unavailable(
      'sign-in with Ethereum needs the chain id: set CHAIN_ID, or make the chain reachable',
      'chain',
    );
  const url = new URL(config.publicUrl);
  return { domain: url.host, uri: url.origin, chainId };
}

export async function issueSiweNonce(db: Queryable): Promise<string> {
  const nonce = generateSiweNonce();
  await insertNonce(db, nonce, new Date(Date.now() + NONCE_TTL_MS));
  return nonce;
}

/** An EIP-4361 message's fields, or 400 naming what is malformed. */
function parseMessage(message: string) {
  const parsed = parseSiweMessage(message);
  const malformed = (what: string) => new InvalidInput(`message: not a valid EIP-4361 message (${what})`, 'message');
  if (
    !parsed.address ||
    !parsed.nonce ||
    !parsed.domain ||
    !parsed.uri ||
    !parsed.version ||
    parsed.chainId === undefined
  )
    throw malformed('address, domain, URI, version, chain ID and nonce are required');
  if (!URL.canParse(parsed.uri)) throw malformed(`URI is not a URL: ${parsed.uri.slice(0, 100)}`);
  if (!Number.isSafeInteger(parsed.chainId)) throw malformed('chain ID is not an integer');
  for (const [name, date] of [
    ['Issued At', parsed.issuedAt],
    ['Expiration Time', parsed.expirationTime],
    ['Not Before', parsed.notBefore],
  ] as const)
    if (date !== undefined && Number.isNaN(date.getTime())) throw malformed(`${name} is not a date`);
  if (!parsed.issuedAt) throw malformed('Issued At is required');
  return { ...parsed, address: parsed.address, nonce: parsed.nonce, uri: parsed.uri, issuedAt: parsed.issuedAt };
}

/**
 * Checks an EIP-4361 message and its EIP-191 signature: the configured domain and origin, the
 * configured chain, a nonce we issued (used once), issued recently and not in the future, not
 * expired, signed by the address it names, which must be an enabled contributor or consumer (or,
 * with `signUp`, a wallet without an account, which gets a consumer account). Malformed → 400;
 * well-formed but refused → 401.
 */
export async function signInWithEthereum(
  db: Queryable,
  params: {
    message: string;
    signature: Hex;
    expect: SiweExpectation;
    /** makes an account for a wallet that has none (self-serve); without it, unknown wallets are refused */
    signUp?: (wallet: string) => Promise<Account>;
  },
) {
  const fail = (why: string) => new Unauthorized(`sign-in with Ethereum failed: ${why}`);
  const parsed = parseMessage(params.message);
  const now = Date.now();
  if (parsed.domain !== params.expect.domain || new URL(parsed.uri).origin !== params.expect.uri)
    throw fail(`the message is for ${parsed.domain}, not ${params.expect.domain}`);
  if (!validateSiweMessage({ message: parsed, domain: params.expect.domain, time: new Date(now) }))
    throw fail('the message expired or is not valid yet');
  if (parsed.chainId !== params.expect.chainId) throw fail(`wrong chain id (expected ${params.expect.chainId})`);
  if (parsed.issuedAt.getTime() > now + ISSUED_AT_SKEW_MS) throw fail('the message is issued in the future');
  if (now - parsed.issuedAt.getTime() > NONCE_TTL_MS) throw fail('the message is too old');
  const valid = await verifyMessage({
    address: parsed.address,
    message: params.message,
    signature: params.signature,
  }).catch(() => false);
  if (!valid) throw fail('the signature does not match the address');
  if (!(await consumeNonce(db, parsed.nonce))) throw fail('unknown or already used nonce');
  const wallet = getAddress(parsed.address);
  // No account yet: self-serve sign-up makes a consumer account for the wallet (services/self-serve.ts).
  const account = (await findAccountByWallet(db, wallet)) ?? (params.signUp ? await params.signUp(wallet) : null);
  if (!account || (account.kind !== 'contributor' && account.kind !== 'consumer'))
    throw fail(`no contributor or consumer account has the wallet ${wallet}`);
  if (account.disabledAt) throw fail('this account is disabled');
  return openSession(db, account, { method: 'siwe', livemode: true, keyId: null, wallet });
}
