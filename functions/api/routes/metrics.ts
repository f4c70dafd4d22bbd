import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { NotFound } from '../../../shared/errors.ts';
import { requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorResponses } from '../errors.ts';
import { security } from '../schemas.ts';

// Prometheus scrape endpoint. Not public: it needs an admin key (a scraper sends it as a bearer
// token: `authorization: { credentials: cp_live_… }` in prometheus.yml).
const route = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['operations'],
  summary:
    'Prometheus metrics: requests and latency, money charged and credited, queue, worker, settlement, embedder (admin)',
  security,
  middleware: [requireRole('admin')] as const,
  responses: {
    200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } },
    ...errorResponses,
  },
});

export const metricsRoutes = new OpenAPIHono<AppEnv>().openapi(route, async (c) => {
  const metrics = c.get('services').metrics;
  if (!metrics) throw new NotFound('this process keeps no metrics', 'route', '/metrics');
  const { registry } = metrics;
  return c.text(await registry.metrics(), 200, { 'content-type': registry.contentType });
});
