import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { databaseReachable } from '../../../shared/services/health.ts';
import type { AppEnv } from '../env.ts';

const route = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['operations'],
  summary: 'Liveness and dependency health (no key needed)',
  responses: {
    200: {
      description: 'Healthy',
      content: {
        'application/json': {
          schema: z
            .object({ status: z.enum(['ok', 'degraded']), checks: z.record(z.string(), z.string()) })
            .openapi('Health'),
        },
      },
    },
    503: {
      description: 'A dependency is down',
      content: {
        'application/json': {
          schema: z.object({ status: z.literal('down'), checks: z.record(z.string(), z.string()) }),
        },
      },
    },
  },
});

export const healthRoutes = new OpenAPIHono<AppEnv>().openapi(route, async (c) => {
  const { db, embedder, vectorIndex } = c.get('services');
  const checks: Record<string, string> = {
    embedder: `${embedder.modelId} (${embedder.dimension}d)`,
    vectorIndex: vectorIndex.kind,
  };
  if (!(await databaseReachable(db))) {
    checks.database = 'unreachable';
    return c.json({ status: 'down' as const, checks }, 503);
  }
  checks.database = `ok (${db.kind})`;
  return c.json({ status: 'ok' as const, checks }, 200);
});
