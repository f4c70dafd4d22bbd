import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { WEBHOOK_EVENTS, webhookGivesUp, webhookRetryDelayMs } from '../core/webhook-retries.ts';
import { InvalidInput, NotFound } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Account } from '../store/accounts.ts';
import {
  deleteEndpoint,
  findEndpoint,
  insertEndpoint,
  leaseDueDeliveries,
  listDeliveries,
  listEndpoints,
  recordAttempt,
  replayDelivery,
  type DueDelivery,
  type WebhookEndpoint,
} from '../store/webhooks.ts';
import type { Services } from './container.ts';

// Signed webhooks (Standard Webhooks, via the `standardwebhooks` package: the spec authors' own
// library, so ids, timestamps and `v1,` signatures are exactly what receivers' verifiers expect).

export interface WebhookOwner {
  account: Account;
  livemode: boolean;
}

export interface NewEndpoint {
  url: string;
  events: string[];
  balanceLowThreshold?: bigint | null | undefined;
}

export async function createWebhookEndpoint(
  services: Services,
  owner: WebhookOwner,
  input: NewEndpoint,
): Promise<WebhookEndpoint> {
  const allowed: readonly string[] =
    owner.account.kind === 'contributor'
      ? WEBHOOK_EVENTS.contributor
      : owner.account.kind === 'consumer'
        ? WEBHOOK_EVENTS.consumer
        : [];
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw new InvalidInput('url: an absolute http(s) URL', 'url');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new InvalidInput('url: an absolute http(s) URL', 'url');
  if (url.username || url.password) throw new InvalidInput('url: must not hold credentials', 'url');
  const events = [...new Set(input.events)];
  if (events.length === 0) throw new InvalidInput(`events: choose at least one of ${allowed.join(', ')}`, 'events');
  for (const e of events)
    if (!allowed.includes(e))
      throw new InvalidInput(
        `events: ${e} is not an event for ${owner.account.kind} accounts (${allowed.join(', ')})`,
        'events',
      );
  const threshold = input.balanceLowThreshold ?? null;
  if (events.includes('balance.low') && threshold === null)
    throw new InvalidInput('balanceLowThreshold: required with balance.low (micro-USD)', 'balanceLowThreshold');
  return insertEndpoint(services.db, {
    id: newId('webhook'),
    accountId: owner.account.id,
    livemode: owner.livemode,
    url: url.toString(),
    secret: `whsec_${randomBytes(24).toString('base64')}`,
    events,
    balanceLowThreshold: events.includes('balance.low') ? threshold : null,
  });
}

export const webhookEndpoints = (services: Services, owner: WebhookOwner) =>
  listEndpoints(services.db, owner.account.id, owner.livemode);

export async function requireOwnEndpoint(
  services: Services,
  owner: WebhookOwner,
  id: string,
): Promise<WebhookEndpoint> {
  const e = await findEndpoint(services.db, owner.account.id, id);
  if (!e || e.livemode !== owner.livemode) throw new NotFound(`no webhook endpoint ${id}`, 'webhook', id);
  return e;
}

export async function removeWebhookEndpoint(services: Services, owner: WebhookOwner, id: string): Promise<void> {
  const e = await requireOwnEndpoint(services, owner, id);
  await services.db.transaction((tx) => deleteEndpoint(tx, e.id));
}

export async function webhookDeliveries(services: Services, owner: WebhookOwner, id: string, limit = 50) {
  const endpoint = await requireOwnEndpoint(services, owner, id);
  return { endpoint, deliveries: await listDeliveries(services.db, endpoint.id, limit) };
}

export async function replayWebhook(
  services: Services,
  owner: WebhookOwner,
  endpointId: string,
  eventId: string,
): Promise<void> {
  const endpoint = await requireOwnEndpoint(services, owner, endpointId);
  if (!(await replayDelivery(services.db, endpoint.id, eventId)))
    throw new NotFound(`no delivery of ${eventId} to ${endpointId}`, 'webhook delivery', eventId);
}

export interface DeliveryOptions {
  /** per request; a slower receiver counts as a failure and is tried again */
  timeoutMs?: number;
  /** first retry delay (see core/webhook-retries.ts) */
  retryBaseMs?: number;
  /** how long a leased delivery stays with this worker */
  leaseMs?: number;
  batch?: number;
  fetch?: typeof fetch;
}

/** Sends every due delivery once (in order per endpoint); returns how many were attempted. */
/** Needs the database and a logger only, so the scheduled Lambda opens no embedder (stacks: NO_EMBEDDER). */
export async function deliverDueWebhooks(
  services: Pick<Services, 'db' | 'log'>,
  opts: DeliveryOptions = {},
): Promise<number> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const due = await leaseDueDeliveries(services.db, opts.leaseMs ?? timeoutMs + 30_000, opts.batch ?? 50);
  await Promise.all(due.map((d) => deliverOne(services, d, timeoutMs, opts.retryBaseMs, opts.fetch ?? fetch)));
  return due.length;
}

async function deliverOne(
  services: Pick<Services, 'db' | 'log'>,
  d: DueDelivery,
  timeoutMs: number,
  retryBaseMs: number | undefined,
  send: typeof fetch,
) {
  const body = JSON.stringify({ type: d.type, timestamp: d.createdAt.toISOString(), data: d.payload });
  const now = new Date();
  // Same webhook-id on every attempt (receivers dedupe on it); a fresh timestamp and signature each time.
  const signature = new Webhook(d.secret).sign(d.eventId, now, body);
  const started = performance.now();
  let statusCode: number | null = null;
  let error: string | null = null;
  try {
    const res = await send(d.url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'citepay-webhooks/1',
        'webhook-id': d.eventId,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signature,
      },
    });
    statusCode = res.status;
    await res.body?.cancel().catch(() => undefined);
    if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
  } catch (err) {
    error =
      (err as Error).name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : `request failed: ${(err as Error).message}`.slice(0, 300);
  }
  const delivered = error === null;
  const attempts = d.attempts + 1;
  await recordAttempt(services.db, d, {
    statusCode,
    error,
    durationMs: performance.now() - started,
    delivered,
    retryInMs: delivered || webhookGivesUp(attempts) ? null : webhookRetryDelayMs(attempts, retryBaseMs),
  });
  if (!delivered)
    services.log.warn('webhook delivery failed', {
      eventId: d.eventId,
      endpointId: d.endpointId,
      attempt: attempts,
      error,
    });
}

/** The delivery loop of a long-lived process (npm start): polls, sends, repeats until stopped. */
export function startWebhookWorker(services: Services, opts: DeliveryOptions & { intervalMs?: number } = {}) {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = deliverDueWebhooks(services, opts)
      .then(
        () => undefined,
        (err: unknown) => services.log.error('webhook worker pass failed', { error: String(err) }),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, opts.intervalMs ?? 1000);
      });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
