import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { hashRequest } from '../../../shared/services/idempotency.ts';
import { paidRetrieve } from '../../../shared/services/paid-retrieval.ts';
import { requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorResponses, paymentResponses } from '../errors.ts';
import { IdempotencyHeader, Metadata, security } from '../schemas.ts';
import { RetrieveResponse, retrieveView } from '../views/retrieval.ts';

const RetrieveRequest = z
  .object({
    query: z.string().trim().min(1, 'must not be empty').max(2000),
    datanets: z
      .array(z.string().regex(/^dn_[A-Za-z0-9]+$/, 'must be a dn_… id'))
      .max(50)
      .optional()
      .openapi({ description: 'default: every datanet' }),
    topK: z.number().int().min(1).max(50).default(5).openapi({
      description:
        'the most sources to return: documents below the relevance floor (far below the best one, or not similar enough to the query) are left out, so fewer, or none (200, an empty list, no data fee), can come back. See README, Retrieval quality',
    }),
    perDocument: z
      .number()
      .int()
      .min(1)
      .max(50)
      .optional()
      .openapi({ description: 'passages per document (default 1: the best passage of each of the best documents)' }),
    filter: z
      .object({ metadata: Metadata.optional() })
      .strict()
      .optional()
      .openapi({ description: 'metadata: JSON containment on document metadata' }),
  })
  .strict()
  .openapi('RetrieveRequest');

const route = createRoute({
  method: 'post',
  path: '/v1/retrieve',
  tags: ['retrieval'],
  summary: 'Find passages for a query; bills the listed price of each returned source and credits its contributor',
  security,
  middleware: [requireRole('consumer')] as const,
  request: {
    headers: IdempotencyHeader,
    body: { required: true, content: { 'application/json': { schema: RetrieveRequest } } },
  },
  responses: {
    200: {
      description: 'Sources with usage and attribution (an empty list is not an error)',
      content: { 'application/json': { schema: RetrieveResponse } },
    },
    ...paymentResponses,
    ...errorResponses,
  },
});

export const retrieveRoutes = new OpenAPIHono<AppEnv>().openapi(route, async (c) => {
  const services = c.get('services');
  const body = c.req.valid('json');
  const key = c.req.valid('header')['idempotency-key'];
  const idempotency = key ? { key, requestHash: hashRequest('POST', '/v1/retrieve', body) } : undefined;
  const paid = await paidRetrieve(
    services,
    c.get('principal'),
    c.get('requestId'),
    {
      query: body.query,
      datanetIds: body.datanets,
      topK: body.topK,
      metadata: body.filter?.metadata,
      perDocument: body.perDocument,
    },
    idempotency,
  );
  if (paid.replayed) c.header('Idempotent-Replayed', 'true');
  if (paid.result === null) return c.json(paid.legacyBody as z.infer<typeof RetrieveResponse>, 200);
  if (!paid.replayed) c.set('cost', paid.result.charge.total.toString());
  return c.json(retrieveView(paid.result), 200);
});
