import { Hono, type Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Hex } from 'viem';
import { ANVIL_CHAIN_ID, ANVIL_DEV_ACCOUNTS } from '../../shared/chain/dev-accounts.ts';
import { DomainError, Forbidden, InvalidInput, Unauthorized, type AnyDomainError } from '../../shared/errors.ts';
import { issueKey } from '../../shared/services/api-keys.ts';
import { endSession, issueSiweNonce, signInWithEthereum, signInWithKey } from '../../shared/services/dashboard-auth.ts';
import {
  chainIdOf, consumerOverview, ownerPageData, ownerReceipt, ownerStatement, requireOwnKey,
} from '../../shared/services/dashboard.ts';
import { relayClaim } from '../../shared/services/payouts.ts';
import { cursorFromString, cursorToString, renameKey, type FunnelLevel, type FunnelSort } from '../../shared/store/dashboard.ts';
import { revokeApiKey, type Account } from '../../shared/store/accounts.ts';
import { findDatanet } from '../../shared/store/datanets.ts';
import { findDocument } from '../../shared/store/documents.ts';
import { ERROR_STATUS, toHttpError } from '../api/errors.ts';
import { dashboardScript } from './assets.ts';
import { statementCsv } from './statement.ts';
import { DASHBOARD_CSS } from './styles.ts';
import { SESSION_COOKIE, clearSessionCookie, csrfProtection, loadSession, loginToken, securityHeaders, setSessionCookie, type DashEnv } from './security.ts';
import { ConsumerPage, RevokeKeyPage, keyLabel } from './views/consumer.tsx';
import { holdNewKey, takeNewKey } from './new-key-flash.ts';
import { registerDatanetPages } from './datanets.tsx';
import { registerWebhookPages } from './webhooks.tsx';
import { FAVICON_SVG, usd } from './views/parts.tsx';
import { Layout } from './views/layout.tsx';
import { OwnerPage, ReceiptPage, type FunnelView } from './views/owner.tsx';
import { SignInPage, type DevWallet } from './views/sign-in.tsx';

// /dashboard: server-rendered pages for data owners (contributors) and consumers, on the same
// services as the API. Not part of the OpenAPI document.

const PAGE_SIZE = 25;
const LEVELS: FunnelLevel[] = ['datanet', 'document', 'passage'];
const SORTS: FunnelSort[] = ['earned', 'retrieved', 'cited', 'supported', 'name'];

const pageParam = (v: string | undefined) => Math.min(Math.max(Number.parseInt(v ?? '1', 10) || 1, 1), 1_000_000);

/** Public anvil keys, offered only when the chain is a local development chain (id 31337) where they are public anyway. */
async function devWallets(c: Context<DashEnv>): Promise<DevWallet[]> {
  if ((await chainIdOf(c.get('services'))) !== ANVIL_CHAIN_ID) return [];
  return ANVIL_DEV_ACCOUNTS.map((a, i) => ({ address: a.address, privateKey: a.privateKey, label: `anvil #${i} ${a.address}` }));
}

function signedIn(c: Context<DashEnv>, kind?: Account['kind']) {
  const session = c.get('session');
  if (!session) throw new Unauthorized('sign in first');
  if (kind && session.account.kind !== kind) throw new Forbidden(`this page is for ${kind} accounts`);
  return session;
}

const KEY_REFUSED = 'That API key is not valid for the dashboard (unknown, revoked, or an admin key).';

const home = (account: Account) => (account.kind === 'contributor' ? '/dashboard/owner' : '/dashboard/consumer');

export function dashboardRoutes() {
  const app = new Hono<DashEnv>();
  app.use('/dashboard/*', securityHeaders, loadSession, csrfProtection);
  app.use('/dashboard', securityHeaders, loadSession);

  app.get('/dashboard/assets/dashboard.css', (c) => c.body(DASHBOARD_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=300' }));
  app.get('/dashboard/assets/dashboard.js', async (c) =>
    c.body(dashboardScript(), 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=300' }));

  const favicon = (c: Context) => c.body(FAVICON_SVG, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=86400' });
  app.get('/dashboard/assets/favicon.svg', favicon);
  app.get('/favicon.ico', favicon);

  app.get('/dashboard', (c) => {
    const session = c.get('session');
    return c.redirect(session ? home(session.account) : '/dashboard/sign-in');
  });

  // ---- sign-in -------------------------------------------------------------------------------
  app.get('/dashboard/sign-in', async (c) => {
    const session = c.get('session');
    if (session) return c.redirect(home(session.account));
    return c.html(<SignInPage csrf={loginToken(c)} devWallets={await devWallets(c)} chainId={await chainIdOf(c.get('services'))} error={c.req.query('error') === 'key' ? KEY_REFUSED : undefined} />);
  });
  app.post('/dashboard/sign-in/key', async (c) => {
    const form = await c.req.parseBody();
    const key = typeof form.key === 'string' ? form.key : '';
    try {
      const { token, session } = await signInWithKey(c.get('services').db, key);
      setSessionCookie(c, token);
      return c.redirect(home(session.account), 303);
    } catch (err) {
      if (!(err instanceof Unauthorized)) throw err;
      return c.redirect('/dashboard/sign-in?error=key', 303); // a fixed message: no text from the URL is shown
    }
  });
  app.get('/dashboard/sign-in/nonce', async (c) => {
    const services = c.get('services');
    return c.json({ nonce: await issueSiweNonce(services.db), chainId: (await chainIdOf(services)) ?? 1 });
  });
  app.post('/dashboard/sign-in/siwe', async (c) => {
    const body = (await c.req.json().catch(() => null)) as { message?: unknown; signature?: unknown } | null;
    if (typeof body?.message !== 'string' || typeof body.signature !== 'string' || !/^0x[0-9a-fA-F]+$/.test(body.signature) || body.message.length > 4000)
      throw new InvalidInput('send { message, signature }');
    const services = c.get('services');
    const url = new URL(c.req.url);
    const { token, session } = await signInWithEthereum(services.db, {
      message: body.message, signature: body.signature as Hex, domain: url.host, origin: url.origin, chainId: await chainIdOf(services),
    });
    setSessionCookie(c, token);
    return c.json({ next: home(session.account) });
  });
  app.post('/dashboard/sign-out', async (c) => {
    await endSession(c.get('services').db, getCookie(c, SESSION_COOKIE));
    clearSessionCookie(c);
    return c.redirect('/dashboard/sign-in', 303);
  });

  // ---- data owner ----------------------------------------------------------------------------
  app.get('/dashboard/owner', async (c) => {
    const { account, livemode } = signedIn(c, 'contributor');
    const services = c.get('services');
    const q = c.req.query();
    const level = LEVELS.includes(q.level as FunnelLevel) ? (q.level as FunnelLevel) : 'datanet';
    const sort = SORTS.includes(q.sort as FunnelSort) ? (q.sort as FunnelSort) : 'earned';
    const parent = level === 'datanet' ? undefined : q.parent;
    if (level !== 'datanet' && !parent) throw new InvalidInput('parent: required below the datanet level');
    const page = pageParam(q.page);
    const after = cursorFromString(q.after);
    const { overview: o, funnel, calls } = await ownerPageData(services, account, livemode, { level, parent, sort, page, pageSize: PAGE_SIZE }, { after, pageSize: PAGE_SIZE + 1 });
    const f: FunnelView = { level, parent, sort, page, total: funnel.total, pages: Math.max(1, Math.ceil(funnel.total / PAGE_SIZE)), rows: funnel.rows };
    if (level === 'document' && parent) {
      const dn = await findDatanet(services.db, parent);
      f.datanet = { id: parent, name: dn?.name ?? parent };
    }
    if (level === 'passage' && parent) {
      const doc = await findDocument(services.db, parent);
      f.parentName = doc?.title ?? parent;
      if (doc) f.datanet = { id: doc.datanetId, name: (await findDatanet(services.db, doc.datanetId))?.name ?? doc.datanetId };
    }
    const claimed = q.claimed !== undefined && /^\d{1,30}$/.test(q.claimed) ? BigInt(q.claimed) : null;
    const flash = claimed !== null ? { text: claimed === 0n ? 'Nothing was due.' : `Claimed ${usd(claimed)}: transaction ${/^0x[0-9a-fA-F]{64}$/.test(q.tx ?? '') ? q.tx : '(unknown)'}.` } : undefined;
    return c.html(
      <OwnerPage csrf={c.get('session')!.csrf} account={account} testmode={!livemode} o={o} funnel={f} flash={flash}
        calls={{ first: after === null, next: calls.length > PAGE_SIZE ? cursorToString(calls[PAGE_SIZE - 1]!) : null, rows: calls.slice(0, PAGE_SIZE) }} />,
    );
  });
  registerDatanetPages(app);
  registerWebhookPages(app);
  app.get('/dashboard/owner/receipts/:id', async (c) => {
    const { account, livemode } = signedIn(c, 'contributor');
    const r = await ownerReceipt(c.get('services'), account, livemode, c.req.param('id'));
    return c.html(<ReceiptPage csrf={c.get('session')!.csrf} account={account} r={r} />);
  });
  app.post('/dashboard/owner/claim', async (c) => {
    const { account } = signedIn(c, 'contributor');
    const outcome = await relayClaim(c.get('services'), account.wallet! as Hex);
    return c.redirect(`/dashboard/owner?claimed=${outcome.paid}${outcome.txHash ? `&tx=${outcome.txHash}` : ''}#settlement`, 303);
  });
  app.get('/dashboard/owner/statement.csv', async (c) => {
    const { account, livemode } = signedIn(c, 'contributor');
    const services = c.get('services');
    const [earnings, payout] = await ownerStatement(services, account, livemode);
    return c.body(statementCsv(account, earnings, payout), 200, {
      'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="citepay-statement-${account.id}.csv"`,
    });
  });

  // ---- consumer ------------------------------------------------------------------------------
  // Every form posts, then redirects here (Post/Redirect/Get): a reload repeats nothing.
  app.get('/dashboard/consumer', async (c) => {
    const { account, livemode } = signedIn(c, 'consumer');
    const o = await consumerOverview(c.get('services'), account, livemode);
    const byId = new Map(o.keys.map((k) => [k.id, k]));
    const made = takeNewKey(c, new Set(byId.keys()));
    const newKey = made ? { ...made, name: byId.get(made.id)!.name } : undefined;
    const { revoked, renamed } = c.req.query();
    const named = (id: string | undefined) => (id && byId.get(id) ? keyLabel(byId.get(id)!) : null);
    const flash = named(revoked) ? { text: `Key ${named(revoked)} revoked: it is refused from now on.` }
      : named(renamed) ? { text: `Key renamed to ${named(renamed)}.` } : undefined;
    return c.html(<ConsumerPage csrf={c.get('session')!.csrf} account={account} testmode={!livemode} o={o} newKey={newKey} flash={flash} />);
  });
  app.get('/dashboard/consumer/keys/:id/revoke', async (c) => {
    const { account, livemode } = signedIn(c, 'consumer');
    const k = await requireOwnKey(c.get('services'), account, c.req.param('id'));
    return c.html(<RevokeKeyPage csrf={c.get('session')!.csrf} account={account} testmode={!livemode} k={k} />);
  });
  const keyName = async (c: Context<DashEnv>) => {
    const name = (await c.req.parseBody()).name;
    if (typeof name !== 'string' || !name.trim() || name.length > 100) throw new InvalidInput('name: 1 to 100 characters', 'name');
    return name.trim();
  };
  app.post('/dashboard/consumer/keys', async (c) => {
    const { account, livemode } = signedIn(c, 'consumer');
    const name = await keyName(c);
    // A key of the session's mode: a test session makes cp_test_ keys.
    const { key, record } = await issueKey(c.get('services').db, { accountId: account.id, role: 'consumer', name, mode: livemode ? 'live' : 'test' });
    // Shown once, by the GET this redirects to (never stored or put in a URL).
    holdNewKey(c, { id: record.id, key });
    return c.redirect('/dashboard/consumer#new-key', 303);
  });
  app.post('/dashboard/consumer/keys/:id/rename', async (c) => {
    const { account } = signedIn(c, 'consumer');
    const key = await requireOwnKey(c.get('services'), account, c.req.param('id'));
    await renameKey(c.get('services').db, account.id, key.id, await keyName(c));
    return c.redirect(`/dashboard/consumer?renamed=${key.id}#keys`, 303);
  });
  app.post('/dashboard/consumer/keys/:id/revoke', async (c) => {
    const { account } = signedIn(c, 'consumer');
    const key = await requireOwnKey(c.get('services'), account, c.req.param('id'));
    await revokeApiKey(c.get('services').db, key.id);
    return c.redirect(`/dashboard/consumer?revoked=${key.id}#keys`, 303);
  });

  app.onError((err, c) => {
    if (!(err instanceof DomainError)) throw err;
    const http = toHttpError(err as AnyDomainError);
    if (c.req.path === '/dashboard/sign-in/siwe' || c.req.header('accept')?.startsWith('application/json')) return c.json({ error: { code: http.code, message: http.message, requestId: c.get('requestId') } }, ERROR_STATUS[http.code]);
    if (http.code === 'UNAUTHORIZED' && c.req.method === 'GET') return c.redirect('/dashboard/sign-in');
    c.header('content-security-policy', CSP_FALLBACK);
    return c.html(
      <Layout title="Something went wrong" csrf="" account={c.get('session')?.account ?? null}>
        <p class="flash error" role="alert">{http.message}</p>
        <p><a href="/dashboard">Back to the dashboard</a></p>
      </Layout>,
      ERROR_STATUS[http.code],
    );
  });
  return app;
}

const CSP_FALLBACK = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
