import type { Hono } from 'hono';
import type { Hex } from 'viem';
import { z } from 'zod';
import { InvalidInput } from '../../../shared/errors.ts';
import { leaveNotice, takeNotice } from '../../../shared/services/dashboard-auth.ts';
import {
  cursorFromString,
  cursorToString,
  ownedFunnelParent,
  ownerPageData,
  ownerReceipt,
  ownerStatement,
} from '../../../shared/services/dashboard.ts';
import { relayClaim } from '../../../shared/services/payouts.ts';
import { requireLive } from '../../../shared/services/test-mode.ts';
import { registerDatanetPages } from '../datanets.tsx';
import type { DashEnv } from '../security.ts';
import { statementCsv } from '../statement.ts';
import { usd } from '../views/parts.tsx';
import { OwnerPage, ReceiptPage, type FunnelView } from '../views/owner.tsx';
import { registerWebhookPages } from '../webhooks.tsx';
import { registerRateCardPages } from '../rate-card.tsx';
import { PAGE_SIZE, signedIn, validQuery } from './common.ts';

// The data owner's pages: the overview (earnings funnel and recent calls), receipts, claiming,
// the CSV statement; the datanet and webhook pages register beside them.

/** The overview's query: which funnel level (below datanets, whose rows), its order and page, the calls cursor. */
const OwnerQuery = z
  .object({
    level: z.enum(['datanet', 'document', 'passage']).default('datanet'),
    parent: z.string().min(1).max(200).optional(),
    sort: z.enum(['earned', 'retrieved', 'cited', 'supported', 'name']).default('earned'),
    page: z.coerce.number().int().min(1).max(1_000_000).default(1),
    after: z.string().max(200).optional(),
  })
  .transform((q) => ({ ...q, parent: q.level === 'datanet' ? undefined : q.parent }));

export function registerOwnerPages(app: Hono<DashEnv>) {
  app.get('/dashboard/owner', validQuery(OwnerQuery), async (c) => {
    const { account, livemode } = signedIn(c, 'contributor');
    const services = c.get('services');
    const { level, parent, sort, page, after: cursor } = c.req.valid('query');
    if (level !== 'datanet' && !parent) throw new InvalidInput('parent: required below the datanet level');
    const after = cursorFromString(cursor);
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
  registerRateCardPages(app);
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
}
