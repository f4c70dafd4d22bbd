import { Hono, type Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Hex } from 'viem';
import { ANVIL_CHAIN_ID, ANVIL_DEV_ACCOUNTS } from '../../shared/chain/dev-accounts.ts';
import { InvalidInput, Unauthorized } from '../../shared/errors.ts';
import {
  endAllSessions,
  endSession,
  endSessionById,
  issueSiweNonce,
  leaveNotice,
  sessionsOf,
  signInWithEthereum,
  signInWithKey,
  siweExpectation,
  takeNotice,
} from '../../shared/services/dashboard-auth.ts';
import { chainIdOf } from '../../shared/services/dashboard.ts';
import { signUpWallet } from '../../shared/services/self-serve.ts';
import type { Account } from '../../shared/store/accounts.ts';
import { SESSION_COOKIE, clearSessionCookie, loginToken, setSessionCookie, type DashEnv } from './security.ts';
import { SessionsPage } from './views/sessions.tsx';
import { SignInPage, type DevWallet } from './views/sign-in.tsx';

// Signing in and out, and the sessions page: each session is listed with the credential that
// opened it and can be ended; "sign out everywhere" ends them all. A session ends by itself when
// its key is revoked or its account disabled (shared/services/dashboard-auth.ts).

export const home = (account: Account) => (account.kind === 'contributor' ? '/dashboard/owner' : '/dashboard/consumer');

/** The chain id wallets must sign for: CHAIN_ID (npm start: the local chain's), else what the chain reports; null when neither is known. */
async function expectedChainId(c: Context<DashEnv>): Promise<number | null> {
  const services = c.get('services');
  return services.config.chain.chainId ?? (await chainIdOf(services));
}

/**
 * anvil's public keys, offered only by `npm start` running its own local chain with anvil's own
 * settler key (config.chain.devAccounts): never with a configured SETTLER_PRIVATE_KEY or CHAIN_RPC_URL.
 */
function devWallets(c: Context<DashEnv>, chainId: number | null): DevWallet[] {
  if (!c.get('services').config.chain.devAccounts || chainId !== ANVIL_CHAIN_ID) return [];
  return ANVIL_DEV_ACCOUNTS.map((a, i) => ({
    address: a.address,
    privateKey: a.privateKey,
    label: `anvil #${i} ${a.address}`,
  }));
}

/** Fixed texts the sign-in page may show, picked by a code in the URL (no text from the URL is shown). */
const SIGN_IN_NOTICES: Record<string, { text: string; error?: boolean }> = {
  key: { text: 'That API key is not valid for the dashboard (unknown, revoked, or an admin key).', error: true },
  fresh: {
    text: 'Creating an API key needs a recent sign-in (within 10 minutes): sign in again, then create the key.',
  },
};

/** A new sign-in in this browser replaces its previous session (the cookie is rotated; the old row would be orphaned). */
async function replaceSession(c: Context<DashEnv>, token: string) {
  const previous = getCookie(c, SESSION_COOKIE);
  if (previous) await endSession(c.get('services').db, previous);
  setSessionCookie(c, token);
}

export function sessionRoutes() {
  const app = new Hono<DashEnv>();

  app.get('/dashboard/sign-in', async (c) => {
    const session = c.get('session');
    const code = c.req.query('notice') ?? c.req.query('error');
    // Signed in: go home, unless asked to sign in again (a fresh sign-in for a sensitive action).
    if (session && code !== 'fresh') return c.redirect(home(session.account));
    const chainId = await expectedChainId(c);
    const notice = code ? SIGN_IN_NOTICES[code] : undefined;
    return c.html(
      <SignInPage
        csrf={loginToken(c)}
        devWallets={devWallets(c, chainId)}
        chainId={chainId}
        error={notice?.error ? notice.text : undefined}
        notice={notice?.error ? undefined : notice?.text}
      />,
    );
  });

  app.post('/dashboard/sign-in/key', async (c) => {
    const form = await c.req.parseBody();
    const key = typeof form.key === 'string' ? form.key : '';
    try {
      const { token, session } = await signInWithKey(c.get('services').db, key);
      await replaceSession(c, token);
      return c.redirect(home(session.account), 303);
    } catch (err) {
      if (!(err instanceof Unauthorized)) throw err;
      return c.redirect('/dashboard/sign-in?error=key', 303);
    }
  });

  app.get('/dashboard/sign-in/nonce', async (c) => {
    const services = c.get('services');
    const expect = siweExpectation(services.config, await expectedChainId(c));
    return c.json({ nonce: await issueSiweNonce(services.db), ...expect });
  });

  app.post('/dashboard/sign-in/siwe', async (c) => {
    const body = (await c.req.json().catch(() => null)) as { message?: unknown; signature?: unknown } | null;
    if (
      typeof body?.message !== 'string' ||
      typeof body.signature !== 'string' ||
      !/^0x[0-9a-fA-F]+$/.test(body.signature) ||
      body.message.length > 4000
    )
      throw new InvalidInput('send { message, signature }');
    const services = c.get('services');
    const expect = siweExpectation(services.config, await expectedChainId(c));
    const { token, session } = await signInWithEthereum(services.db, {
      message: body.message,
      signature: body.signature as Hex,
      expect,
      signUp: (wallet) => signUpWallet(services, wallet),
    });
    await replaceSession(c, token);
    return c.json({ next: home(session.account) });
  });

  app.post('/dashboard/sign-out', async (c) => {
    await endSession(c.get('services').db, getCookie(c, SESSION_COOKIE));
    clearSessionCookie(c);
    return c.redirect('/dashboard/sign-in', 303);
  });

  // ---- sessions ------------------------------------------------------------------------------
  app.get('/dashboard/sessions', async (c) => {
    const session = c.get('session');
    if (!session) throw new Unauthorized('sign in first');
    const db = c.get('services').db;
    const [sessions, notice] = await Promise.all([sessionsOf(db, session), takeNotice(db, session)]);
    return c.html(
      <SessionsPage
        csrf={session.csrf}
        account={session.account}
        testmode={!session.livemode}
        current={session.id}
        sessions={sessions}
        notice={notice}
      />,
    );
  });
  app.post('/dashboard/sessions/:id/end', async (c) => {
    const session = c.get('session');
    if (!session) throw new Unauthorized('sign in first');
    const id = c.req.param('id');
    await endSessionById(c.get('services').db, session, id);
    if (id === session.id) {
      clearSessionCookie(c);
      return c.redirect('/dashboard/sign-in', 303);
    }
    await leaveNotice(c.get('services').db, session, 'Session ended: that browser is signed out.');
    return c.redirect('/dashboard/sessions', 303);
  });
  app.post('/dashboard/sessions/end-all', async (c) => {
    const session = c.get('session');
    if (!session) throw new Unauthorized('sign in first');
    await endAllSessions(c.get('services').db, session);
    clearSessionCookie(c);
    return c.redirect('/dashboard/sign-in', 303);
  });

  return app;
}
