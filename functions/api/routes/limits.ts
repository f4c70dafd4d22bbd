import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { effectiveLimits } from '../../../shared/core/rate-limit.ts';
import { requireAccount } from '../../../shared/services/accounts.ts';
import { limitOverrides, setLimitOverrides } from '../../../shared/services/rate-limits.ts';
import { requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorResponses } from '../errors.ts';
import { idParam, security } from '../schemas.ts';

// Per-account rate-limit overrides (admin). A field left out or null keeps the configured
// default (RATE_LIMIT_*); 0 means no limit.
const Limit = z.number().int().min(0).max(1_000_000).nullable();
const LimitsBody = z
  .object({
    requestsPerMinute: Limit.optional().openapi({
      description: 'requests per window for the whole account (the window is RATE_LIMIT_WINDOW_SECONDS)',
    }),
    keyRequestsPerMinute: Limit.optional().openapi({ description: 'requests per window for each of its keys' }),
    concurrentAnswers: Limit.optional().openapi({ description: 'answers queued or running at once for the account' }),
    keyConcurrentAnswers: Limit.optional().openapi({ description: 'answers queued or running at once for each key' }),
  })
  .strict()
  .openapi('AccountLimits');
const LimitsView = z.object({
  accountId: z.string(),
  windowSeconds: z.number().int(),
  overrides: LimitsBody,
  effective: z.object({
    requestsPerMinute: z.number().int(),
    keyRequestsPerMinute: z.number().int(),
    concurrentAnswers: z.number().int(),
    keyConcurrentAnswers: z.number().int(),
  }),
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/admin/accounts/{id}/limits',
  tags: ['admin'],
  summary: "An account's rate limits: its overrides and what applies",
  security,
  middleware: [requireRole('admin')] as const,
  request: { params: idParam('acct') },
  responses: { 200: { description: 'OK', content: { 'application/json': { schema: LimitsView } } }, ...errorResponses },
});
const putRoute = createRoute({
  method: 'put',
  path: '/v1/admin/accounts/{id}/limits',
  tags: ['admin'],
  summary: "Set an account's rate-limit overrides (replaces them all)",
  security,
  middleware: [requireRole('admin')] as const,
  request: {
    params: idParam('acct'),
    body: { required: true, content: { 'application/json': { schema: LimitsBody } } },
  },
  responses: {
    200: { description: 'Saved', content: { 'application/json': { schema: LimitsView } } },
    ...errorResponses,
  },
});

async function view(c: { get(k: 'services'): AppEnv['Variables']['services'] }, accountId: string) {
  const { db, config } = c.get('services');
  const o = await limitOverrides(db, accountId);
  const e = effectiveLimits(config.rateLimits.defaults, o);
  return {
    accountId,
    windowSeconds: config.rateLimits.windowSeconds,
    overrides: {
      requestsPerMinute: o?.accountRequests ?? null,
      keyRequestsPerMinute: o?.keyRequests ?? null,
      concurrentAnswers: o?.accountAnswers ?? null,
      keyConcurrentAnswers: o?.keyAnswers ?? null,
    },
    effective: {
      requestsPerMinute: e.accountRequests,
      keyRequestsPerMinute: e.keyRequests,
      concurrentAnswers: e.accountAnswers,
      keyConcurrentAnswers: e.keyAnswers,
    },
  };
}

export const limitRoutes = new OpenAPIHono<AppEnv>()
  .openapi(getRoute, async (c) => {
    const account = await requireAccount(c.get('services').db, c.req.valid('param').id);
    return c.json(await view(c, account.id), 200);
  })
  .openapi(putRoute, async (c) => {
    const { db } = c.get('services');
    const account = await requireAccount(db, c.req.valid('param').id);
    const b = c.req.valid('json');
    await setLimitOverrides(db, account.id, {
      accountRequests: b.requestsPerMinute,
      keyRequests: b.keyRequestsPerMinute,
      accountAnswers: b.concurrentAnswers,
      keyAnswers: b.keyConcurrentAnswers,
    });
    return c.json(await view(c, account.id), 200);
  });
