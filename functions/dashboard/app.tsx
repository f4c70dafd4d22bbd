import { Hono, type Context } from 'hono';
import type { Hex } from 'viem';
import { DomainError, Forbidden, InvalidInput, Unauthorized, type AnyDomainError } from '../../shared/errors.ts';
import { issueKey } from '../../shared/services/api-keys.ts';
import { FRESH_SIGN_IN_MS, leaveNotice, takeNotice } from '../../shared/services/dashboard-auth.ts';
import {
  consumerOverview,
  ownedFunnelParent,
  ownerPageData,
  ownerReceipt,
  ownerStatement,
  cursorFromString,
  cursorToString,
  renameKey,
  requireOwnKey,
} from '../../shared/services/dashboard.ts';
import { requireLive } from '../../shared/services/test-mode.ts';
import { relayClaim } from '../../shared/services/payouts.ts';
import type { FunnelLevel, FunnelSort } from '../../shared/store/dashboard.ts';
import { revokeKeyAs } from '../../shared/services/api-keys.ts';
import type { Account } from '../../shared/store/accounts.ts';
import { ERROR_STATUS, toHttpError } from '../api/errors.ts';
import { dashboardScript } from './assets.ts';
import { statementCsv } from './statement.ts';
import { DASHBOARD_CSS } from './styles.ts';
import { csrfProtection, loadSession, securityHeaders, type DashEnv } from './security.ts';
import { home, sessionRoutes } from './session-routes.tsx';
import { ConsumerPage, RevokeKeyPage } from './views/consumer.tsx';
import { holdNewKey, takeNewKey } from './new-key-flash.ts';
import { registerDatanetPages } from './datanets.tsx';
import { registerWebhookPages } from './webhooks.tsx';
import { FAVICON_SVG, usd } from './views/parts.tsx';
import { Layout } from './views/layout.tsx';
import { OwnerPage, ReceiptPage, type FunnelView } from './views/owner.tsx';

// /dashboard: server-rendered pages for data owners (contributors) and consumers, on the same
// services as the API. Not part of the OpenAPI document.

const PAGE_SIZE = 25;
const LEVELS: FunnelLevel[] = ['datanet', 'document', 'passage'];
const SORTS: FunnelSort[] = ['earned', 'retrieved', 'cited', 'supported', 'name'];

const pageParam = (v: string | undefined) => Math.min(Math.max(Number.parseInt(v ?? '1', 10) || 1, 1), 1_000_000);

function signedIn(c: Context<DashEnv>, kind?: Account['kind']) {
  const session = c.get('session');
  if (!session) throw new Unauthorized('sign in first');
  if (kind && session.account.kind !== kind) throw new Forbidden(`this page is for ${kind} accounts`);
  return session;
}

export function dashboardRoutes() {
  const app = new Hono<DashEnv>();
  app.use('/dashboard/*', securityHeaders, loadSession, csrfProtection);
  app.use('/dashboard', securityHeaders, loadSession);

  app.get('/dashboard/assets/dashboard.css', (c) =>
    c.body(DASHBOARD_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=300' }),
  );
  app.get('/dashboard/assets/dashboard.js', async (c) =>
    c.body(dashboardScript(), 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=300',
    }),
  );

  const favicon = (c: Context) =>
    c.body(FAVICON_SVG, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=86400' });
  app.get('/dashboard/assets/favicon.svg', favicon);
  app.get('/favicon.ico', favicon);

  app.get('/dashboard', (c) => {
    const session = c.get('session');
    return c.redirect(session ? home(session.account) : '/dashboard/sign-in');
  });

  app.route('/', sessionRoutes());

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
    const {
      overview: o,
      funnel,
      calls,
    } = await ownerPageData(
      services,
      account,
      livemode,
      { level, parent, sort, page, pageSize: PAGE_SIZE },
      { after, pageSize: PAGE_SIZE + 1 },
    );
    const f: FunnelView = {
      level,
      parent,
      sort,
      page,
      total: funnel.total,
      pages: Math.max(1, Math.ceil(funnel.total / PAGE_SIZE)),
      rows: funnel.rows,
    };
    if (level !== 'datanet' && parent) {
      // Named only when it is this owner's (another owner's or a deleted document: 404).
      const named = await ownedFunnelParent(services, account, level, parent);
      f.datanet = named.datanet;
      if (level === 'passage') f.parentName = named.parentName;
    }
    const notice = await takeNotice(services.db, c.get('session')!);
    const flash = notice ? { text: notice } : undefined;
    return c.html(
      <OwnerPage
        csrf={c.get('session')!.csrf}
        account={account}
        testmode={!livemode}
        o={o}
        funnel={f}
        flash={flash}
        calls={{
          first: after === null,
          next: calls.length > PAGE_SIZE ? cursorToString(calls[PAGE_SIZE - 1]!) : null,
          rows: calls.slice(0, PAGE_SIZE),
        }}
      />,
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
    const session = signedIn(c, 'contributor');
    requireLive(session, 'claim');
    const outcome = await relayClaim(c.get('services'), session.account.wallet! as Hex);
    // The notice is written here, from the claim's outcome, and shown once: never read from the URL.
    await leaveNotice(
      c.get('services').db,
      session,
      outcome.paid === 0n ? 'Nothing was due.' : `Claimed ${usd(outcome.paid)}: transaction ${outcome.txHash ?? ''}.`,
    );
    return c.redirect('/dashboard/owner#settlement', 303);
  });
  app.get('/dashboard/owner/statement.csv', async (c) => {
    const { account, livemode } = signedIn(c, 'contributor');
    const services = c.get('services');
    const [earnings, payout] = await ownerStatement(services, account, livemode);
    return c.body(statementCsv(account, earnings, payout), 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="citepay-statement-${account.id}.csv"`,
    });
  });

  // ---- consumer ------------------------------------------------------------------------------
  // Every form posts, then redirects here (Post/Redirect/Get): a reload repeats nothing.
  app.get('/dashboard/consumer', async (c) => {
    const { account, livemode } = signedIn(c, 'consumer');
    const o = await consumerOverview(c.get('services'), account, livemode);
    // Notices are written by the POST that redirected here and shown once (never read from the URL).
    const notice = await takeNotice(c.get('services').db, c.get('session')!);
    const byId = new Map(o.keys.map((k) => [k.id, k]));
    const made = takeNewKey(c, new Set(byId.keys()));
    const newKey = made ? { ...made, name: byId.get(made.id)!.name } : undefined;
    return c.html(
      <ConsumerPage
        csrf={c.get('session')!.csrf}
        account={account}
        testmode={!livemode}
        o={o}
        newKey={newKey}
        flash={notice ? { text: notice } : undefined}
      />,
    );
  });
  app.get('/dashboard/consumer/keys/:id/revoke', async (c) => {
    const { account, livemode } = signedIn(c, 'consumer');
    const k = await requireOwnKey(c.get('services'), account, livemode, c.req.param('id'));
    return c.html(<RevokeKeyPage csrf={c.get('session')!.csrf} account={account} testmode={!livemode} k={k} />);
  });
  const keyName = async (c: Context<DashEnv>) => {
    const name = (await c.req.parseBody()).name;
    if (typeof name !== 'string' || !name.trim() || name.length > 100)
      throw new InvalidInput('name: 1 to 100 characters', 'name');
    return name.trim();
  };
  app.post('/dashboard/consumer/keys', async (c) => {
    const session = signedIn(c, 'consumer');
    const { account, livemode } = session;
    // Minting a key needs a recent sign-in: a stolen or long-idle cookie cannot mint keys.
    if (Date.now() - session.createdAt.getTime() > FRESH_SIGN_IN_MS)
      return c.redirect('/dashboard/sign-in?notice=fresh', 303);
    const name = await keyName(c);
    // A key of the session's mode: a test session makes cp_test_ keys.
    const { key, record } = await issueKey(c.get('services').db, {
      accountId: account.id,
      role: 'consumer',
      name,
      mode: livemode ? 'live' : 'test',
    });
    // Shown once, by the GET this redirects to (never stored or put in a URL).
    holdNewKey(c, { id: record.id, key });
    return c.redirect('/dashboard/consumer#new-key', 303);
  });
  app.post('/dashboard/consumer/keys/:id/rename', async (c) => {
    const { account, livemode } = signedIn(c, 'consumer');
    const key = await requireOwnKey(c.get('services'), account, livemode, c.req.param('id'));
    const name = await keyName(c);
    await renameKey(c.get('services').db, account.id, key.id, name);
    await leaveNotice(c.get('services').db, c.get('session')!, `Key renamed to “${name}” (${key.prefix}…).`);
    return c.redirect('/dashboard/consumer#keys', 303);
  });
  app.post('/dashboard/consumer/keys/:id/revoke', async (c) => {
    const session = signedIn(c, 'consumer');
    const db = c.get('services').db;
    // Same rule as DELETE /v1/keys/{id}: own keys, and a test session test keys only. Ends the key's sessions.
    const key = await revokeKeyAs(
      db,
      { accountId: session.accountId, role: session.account.kind as 'consumer', livemode: session.livemode },
      c.req.param('id'),
    );
    if (key.id === session.keyId) return c.redirect('/dashboard/sign-in', 303); // this session's own key: it just ended
    await leaveNotice(
      db,
      session,
      `Key ${key.name ? `“${key.name}” ` : ''}(${key.prefix}…) revoked: it is refused from now on, and its dashboard sessions have ended.`,
    );
    return c.redirect('/dashboard/consumer#keys', 303);
  });

  app.onError((err, c) => {
    if (!(err instanceof DomainError)) throw err;
    const http = toHttpError(err as AnyDomainError);
    if (
      c.req.path === '/dashboard/sign-in/siwe' ||
      c.req.path === '/dashboard/sign-in/nonce' ||
      c.req.header('accept')?.startsWith('application/json')
    )
      return c.json(
        { error: { code: http.code, message: http.message, requestId: c.get('requestId') } },
        ERROR_STATUS[http.code],
      );
    if (http.code === 'UNAUTHORIZED' && c.req.method === 'GET') return c.redirect('/dashboard/sign-in');
    c.header('content-security-policy', CSP_FALLBACK);
    return c.html(
      <Layout title="Something went wrong" csrf="" account={c.get('session')?.account ?? null}>
        <p class="flash error" role="alert">
          {http.message}
        </p>
        <p>
          <a href="/dashboard">Back to the dashboard</a>
        </p>
      </Layout>,
      ERROR_STATUS[http.code],
    );
  });
  return app;
}

const CSP_FALLBACK =
  "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
