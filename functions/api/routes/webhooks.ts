import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { parseMicros } from '../../../shared/core/money.ts';
import { requireAccount } from '../../../shared/services/accounts.ts';
import type { Principal } from '../../../shared/services/api-keys.ts';
import type { Services } from '../../../shared/services/container.ts';
import {
  createWebhookEndpoint,
  removeWebhookEndpoint,
  replayWebhook,
  webhookDeliveries,
  webhookEndpoints,
  type WebhookOwner,
} from '../../../shared/services/webhooks.ts';
import type { WebhookEndpoint } from '../../../shared/store/webhooks.ts';
import { requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorResponses } from '../errors.ts';
import { Micros, idParam, security } from '../schemas.ts';

// Webhook endpoints of the caller's account (in the key's mode): owners hear earnings.settled and
// payout.claimed, consumers balance.low and answer.completed; signed per Standard Webhooks.

const EndpointView = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    livemode: z.boolean(),
    balanceLowThreshold: Micros.nullable(),
    createdAt: z.string(),
  })
  .openapi('WebhookEndpoint');
const endpointView = (e: WebhookEndpoint) => ({
  id: e.id,
  url: e.url,
  events: e.events,
  livemode: e.livemode,
  balanceLowThreshold: e.balanceLowThreshold?.toString() ?? null,
  createdAt: e.createdAt.toISOString(),
});

const owner = async (services: Services, p: Principal): Promise<WebhookOwner> => ({
  account: await requireAccount(services.db, p.accountId),
  livemode: p.livemode,
});
const roles = [requireRole('consumer', 'contributor')];

const createEndpointRoute = createRoute({
  method: 'post',
  path: '/v1/webhooks',
  tags: ['webhooks'],
  security,
  middleware: roles,
  summary: 'Subscribe a URL to events; the signing secret (whsec_…) is returned once',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              url: z.string().url().max(2000),
              events: z
                .array(z.enum(['earnings.settled', 'payout.claimed', 'balance.low', 'answer.completed']))
                .min(1)
                .max(4),
              balanceLowThreshold: Micros.optional().openapi({
                description: 'balance.low fires when a charge takes the balance below this (micro-USD)',
              }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: {
      description: 'Created',
      content: { 'application/json': { schema: EndpointView.extend({ secret: z.string() }) } },
    },
    ...errorResponses,
  },
});
const listRoute = createRoute({
  method: 'get',
  path: '/v1/webhooks',
  tags: ['webhooks'],
  security,
  middleware: roles,
  summary: 'Your webhook endpoints',
  responses: {
    200: { description: 'OK', content: { 'application/json': { schema: z.object({ data: z.array(EndpointView) }) } } },
    ...errorResponses,
  },
});
const deleteRoute = createRoute({
  method: 'delete',
  path: '/v1/webhooks/{id}',
  tags: ['webhooks'],
  security,
  middleware: roles,
  summary: 'Stop sending to an endpoint',
  request: { params: idParam('whe') },
  responses: { 204: { description: 'Deleted' }, ...errorResponses },
});
const DeliveryView = z.object({
  eventId: z.string(),
  type: z.string(),
  createdAt: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  nextAttemptAt: z.string(),
});
const deliveriesRoute = createRoute({
  method: 'get',
  path: '/v1/webhooks/{id}/deliveries',
  tags: ['webhooks'],
  security,
  middleware: roles,
  summary: 'The delivery log of an endpoint, newest first',
  request: { params: idParam('whe') },
  responses: {
    200: { description: 'OK', content: { 'application/json': { schema: z.object({ data: z.array(DeliveryView) }) } } },
    ...errorResponses,
  },
});
const replayRoute = createRoute({
  method: 'post',
  path: '/v1/webhooks/{id}/deliveries/{eventId}/replay',
  tags: ['webhooks'],
  security,
  middleware: roles,
  summary: 'Send an event to this endpoint again, now, with the same webhook-id',
  request: {
    params: idParam('whe').extend({
      eventId: z
        .string()
        .regex(/^msg_[0-9a-f]{32}$/, 'must be a msg_… id')
        .openapi({ param: { name: 'eventId', in: 'path' } }),
    }),
  },
  responses: {
    202: { description: 'Queued', content: { 'application/json': { schema: z.object({ queued: z.literal(true) }) } } },
    ...errorResponses,
  },
});

export const webhookRoutes = new OpenAPIHono<AppEnv>()
  .openapi(createEndpointRoute, async (c) => {
    const services = c.get('services');
    const body = c.req.valid('json');
    const e = await createWebhookEndpoint(services, await owner(services, c.get('principal')), {
      url: body.url,
      events: body.events,
      balanceLowThreshold: body.balanceLowThreshold === undefined ? null : parseMicros(body.balanceLowThreshold),
    });
    return c.json({ ...endpointView(e), secret: e.secret }, 201);
  })
  .openapi(listRoute, async (c) => {
    const services = c.get('services');
    return c.json(
      { data: (await webhookEndpoints(services, await owner(services, c.get('principal')))).map(endpointView) },
      200,
    );
  })
  .openapi(deleteRoute, async (c) => {
    const services = c.get('services');
    await removeWebhookEndpoint(services, await owner(services, c.get('principal')), c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(deliveriesRoute, async (c) => {
    const services = c.get('services');
    const { deliveries } = await webhookDeliveries(
      services,
      await owner(services, c.get('principal')),
      c.req.valid('param').id,
    );
    return c.json(
      {
        data: deliveries.map((d) => ({
          eventId: d.eventId,
          type: d.type,
          createdAt: d.createdAt.toISOString(),
          status: d.status as 'pending' | 'delivered' | 'failed',
          attempts: d.attempts,
          lastStatus: d.lastStatus,
          lastError: d.lastError,
          deliveredAt: d.deliveredAt?.toISOString() ?? null,
          nextAttemptAt: d.nextAttemptAt.toISOString(),
        })),
      },
      200,
    );
  })
  .openapi(replayRoute, async (c) => {
    const services = c.get('services');
    const { id, eventId } = c.req.valid('param');
    await replayWebhook(services, await owner(services, c.get('principal')), id, eventId);
    return c.json({ queued: true as const }, 202);
  });
