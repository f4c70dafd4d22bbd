import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { reembedStatus, startReembed } from '../../../shared/services/reembed.ts';
import type { ReembedJob } from '../../../shared/store/reembed.ts';
import { requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorResponses } from '../errors.ts';
import { idParam, iso, security } from '../schemas.ts';

const ReembedView = z
  .object({
    id: z.string(),
    datanetId: z.string(),
    fromModel: z.string(),
    toModel: z.string(),
    status: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
    progress: z.object({ done: z.number().int(), total: z.number().int(), fraction: z.number() }),
    error: z.string().nullable(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi('ReembedJob');

const view = (j: ReembedJob) => ({
  id: j.id,
  datanetId: j.datanetId,
  fromModel: j.fromModel,
  toModel: j.toModel,
  status: j.status,
  progress: {
    done: j.done,
    total: j.total,
    fraction: j.total > 0 ? j.done / j.total : j.status === 'succeeded' ? 1 : 0,
  },
  error: j.error,
  createdAt: j.createdAt.toISOString(),
  finishedAt: iso(j.finishedAt),
});

const startRoute = createRoute({
  method: 'post',
  path: '/v1/datanets/{id}/reembed',
  tags: ['datanets'],
  summary:
    'Move a datanet to another embedding model in the background; queries use the old vectors until the new ones are complete',
  security,
  middleware: [requireRole('contributor', 'admin')] as const,
  request: {
    params: idParam('dn'),
    body: {
      required: true,
      content: { 'application/json': { schema: z.object({ model: z.string().min(1).max(64) }).strict() } },
    },
  },
  responses: {
    202: { description: 'Started', content: { 'application/json': { schema: ReembedView } } },
    ...errorResponses,
  },
});

const statusRoute = createRoute({
  method: 'get',
  path: '/v1/datanets/{id}/reembed',
  tags: ['datanets'],
  summary: "The datanet's latest re-embedding job and its progress",
  security,
  middleware: [requireRole('contributor', 'admin')] as const,
  request: { params: idParam('dn') },
  responses: {
    200: { description: 'OK', content: { 'application/json': { schema: ReembedView } } },
    ...errorResponses,
  },
});

export const reembedRoutes = new OpenAPIHono<AppEnv>()
  .openapi(startRoute, async (c) =>
    c.json(
      view(
        await startReembed(c.get('services'), c.get('principal'), c.req.valid('param').id, c.req.valid('json').model),
      ),
      202,
    ),
  )
  .openapi(statusRoute, async (c) =>
    c.json(view(await reembedStatus(c.get('services'), c.get('principal'), c.req.valid('param').id)), 200),
  );
