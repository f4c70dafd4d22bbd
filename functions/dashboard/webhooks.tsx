import type { Context, Hono } from 'hono';
import { WEBHOOK_EVENTS } from '../../shared/core/webhook-retries.ts';
import { Unauthorized } from '../../shared/errors.ts';
import {
  createWebhookEndpoint,
  removeWebhookEndpoint,
  replayWebhook,
  webhookDeliveries,
  webhookEndpoints,
} from '../../shared/services/webhooks.ts';
import { parseUsd } from './datanets.tsx';
import { holdOnce, takeOnce } from './new-key-flash.ts';
import { z } from 'zod';
import { validQuery } from './pages/common.ts';
import type { DashEnv } from './security.ts';
import { WebhooksPage } from './views/webhooks.tsx';

// /dashboard/webhooks: owners and consumers manage their endpoints, read the delivery log and
// replay a delivery; every form posts and redirects. The new endpoint's secret rides to the next
// GET the way a new API key does (new-key-flash.ts).

function who(c: Context<DashEnv>) {
  const session = c.get('session');
  if (!session) throw new Unauthorized('sign in first');
  return { account: session.account, livemode: session.livemode, csrf: session.csrf };
}
const eventsFor = (kind: string): readonly string[] =>
  kind === 'contributor' ? WEBHOOK_EVENTS.contributor : WEBHOOK_EVENTS.consumer;

/** What the redirect that led here reports. */
const WebhooksQuery = z.object({ replayed: z.string().max(10).optional(), deleted: z.string().max(10).optional() });

export function registerWebhookPages(app: Hono<DashEnv>) {
  app.get('/dashboard/webhooks', validQuery(WebhooksQuery), async (c) => {
    const { account, livemode, csrf } = who(c);
    const services = c.get('services');
    const owner = { account, livemode };
    const endpoints = await Promise.all(
      (await webhookEndpoints(services, owner)).map((e) => webhookDeliveries(services, owner, e.id, 20)),
    );
    const held = takeOnce(c, 'cp_new_secret', '/dashboard/webhooks');
    const secret =
      held && endpoints.some((e) => e.endpoint.id === held.id) && /^whsec_[A-Za-z0-9+/=]+$/.test(held.value)
        ? { id: held.id, secret: held.value }
        : undefined;
    const q = c.req.valid('query');
    const flash = q.replayed
      ? { text: 'Replay queued: it is sent again with the same webhook-id.' }
      : q.deleted
        ? { text: 'Endpoint removed: nothing more is sent to it.' }
        : undefined;
    return c.html(
      <WebhooksPage
        csrf={csrf}
        account={account}
        testmode={!livemode}
        events={eventsFor(account.kind)}
        endpoints={endpoints}
        secret={secret}
        flash={flash}
      />,
    );
  });
  app.post('/dashboard/webhooks', async (c) => {
    const { account, livemode } = who(c);
    const form = await c.req.parseBody({ all: true });
    const events = ([] as unknown[]).concat(form.events ?? []).filter((e): e is string => typeof e === 'string');
    const threshold = typeof form.threshold === 'string' && form.threshold.trim() ? parseUsd(form.threshold) : null;
    const e = await createWebhookEndpoint(
      c.get('services'),
      { account, livemode },
      { url: typeof form.url === 'string' ? form.url.trim() : '', events, balanceLowThreshold: threshold },
    );
    holdOnce(c, 'cp_new_secret', '/dashboard/webhooks', e.id, e.secret);
    return c.redirect('/dashboard/webhooks#new-secret', 303);
  });
  app.post('/dashboard/webhooks/:id/delete', async (c) => {
    const { account, livemode } = who(c);
    await removeWebhookEndpoint(c.get('services'), { account, livemode }, c.req.param('id'));
    return c.redirect('/dashboard/webhooks?deleted=1', 303);
  });
  app.post('/dashboard/webhooks/:id/deliveries/:event/replay', async (c) => {
    const { account, livemode } = who(c);
    await replayWebhook(c.get('services'), { account, livemode }, c.req.param('id'), c.req.param('event'));
    return c.redirect(`/dashboard/webhooks?replayed=1#h-${c.req.param('id')}`, 303);
  });
}
