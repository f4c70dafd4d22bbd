import type { Context, Hono } from 'hono';
import { InvalidInput } from '../../../shared/errors.ts';
import { issueKey, revokeKeyAs } from '../../../shared/services/api-keys.ts';
import { FRESH_SIGN_IN_MS, leaveNotice, takeNotice } from '../../../shared/services/dashboard-auth.ts';
import { consumerOverview, renameKey, requireOwnKey } from '../../../shared/services/dashboard.ts';
import { holdNewKey, takeNewKey } from '../new-key-flash.ts';
import type { DashEnv } from '../security.ts';
import { ConsumerPage, RevokeKeyPage } from '../views/consumer.tsx';
import { signedIn } from './common.ts';

// The consumer's pages: the overview with its keys, and the key forms (issue, rename, revoke).
export function registerConsumerPages(app: Hono<DashEnv>) {
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
    // A test session makes cp_test_ keys only; a live one either (a test key can do less, never more).
    const asked = (await c.req.parseBody()).mode;
    const { key, record } = await issueKey(c.get('services').db, {
      accountId: account.id,
      role: 'consumer',
      name,
      mode: livemode && asked !== 'test' ? 'live' : 'test',
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
}
