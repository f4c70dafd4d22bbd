import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { NotFound } from '../../../shared/errors.ts';
import { parseMicros } from '../../../shared/core/money.ts';
import { createDatanet } from '../../../shared/services/datanets.ts';
import type { Datanet } from '../../../shared/store/datanets.ts';
import { findDatanet, listDatanets } from '../../../shared/services/datanets.ts';
import { findAccount, walletsOf } from '../../../shared/services/accounts.ts';
import { anyRole, requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorResponses } from '../errors.ts';
import { Micros, idParam, security } from '../schemas.ts';

export const DatanetView = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    ownerAccountId: z.string(),
    ownerWallet: z.string(),
    pricePerSource: Micros,
    embedding: z.object({ model: z.string(), dimension: z.number().int() }),
    createdAt: z.string(),
  })
  .openapi('Datanet');

const datanetView = (d: Datanet, ownerWallet: string) => ({
  id: d.id,
  name: d.name,
  description: d.description,
  ownerAccountId: d.ownerAccountId,
  ownerWallet,
  pricePerSource: d.pricePerSource.toString(),
  embedding: { model: d.embeddingModel, dimension: d.embeddingDim },
  createdAt: d.createdAt.toISOString(),
});

const createDatanetRoute = createRoute({
  method: 'post',
  path: '/v1/datanets',
  tags: ['datanets'],
  summary: 'Create a datanet: a document collection owned by a contributor, priced per retrieved source',
  security,
  middleware: [requireRole('admin', 'contributor')] as const,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              name: z.string().trim().min(1).max(200),
              description: z.string().max(2000).optional(),
              pricePerSource: Micros,
              ownerAccountId: z
                .string()
                .max(100)
                .optional()
                .openapi({ description: 'admins only: the contributor who owns it' }),
              embeddingModel: z
                .string()
                .min(1)
                .max(64)
                .optional()
                .openapi({ description: 'default: the server default; POST /v1/datanets/{id}/reembed switches later' }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: DatanetView } } },
    ...errorResponses,
  },
});

const listDatanetsRoute = createRoute({
  method: 'get',
  path: '/v1/datanets',
  tags: ['datanets'],
  summary: 'All datanets a consumer can retrieve from (contributors: add ?mine=true)',
  security,
  middleware: [anyRole()] as const,
  request: { query: z.object({ mine: z.enum(['true', 'false']).optional() }) },
  responses: {
    200: { description: 'OK', content: { 'application/json': { schema: z.object({ data: z.array(DatanetView) }) } } },
    ...errorResponses,
  },
});

const getDatanetRoute = createRoute({
  method: 'get',
  path: '/v1/datanets/{id}',
  tags: ['datanets'],
  summary: 'One datanet',
  security,
  middleware: [anyRole()] as const,
  request: { params: idParam('dn') },
  responses: {
    200: { description: 'OK', content: { 'application/json': { schema: DatanetView } } },
    ...errorResponses,
  },
});

export const datanetRoutes = new OpenAPIHono<AppEnv>()
  .openapi(createDatanetRoute, async (c) => {
    const body = c.req.valid('json');
    const { datanet, owner } = await createDatanet(c.get('services'), c.get('principal'), {
      ...body,
      pricePerSource: parseMicros(body.pricePerSource),
    });
    return c.json(datanetView(datanet, owner.wallet!), 201);
  })
  .openapi(listDatanetsRoute, async (c) => {
    const { db } = c.get('services');
    const principal = c.get('principal');
    const mine = c.req.valid('query').mine === 'true';
    const datanets = await listDatanets(db, mine ? principal.accountId : undefined);
    const wallets = await walletsOf(
      db,
      datanets.map((d) => d.ownerAccountId),
    );
    return c.json({ data: datanets.map((d) => datanetView(d, wallets.get(d.ownerAccountId)!)) }, 200);
  })
  .openapi(getDatanetRoute, async (c) => {
    const { db } = c.get('services');
    const datanet = await findDatanet(db, c.req.valid('param').id);
    if (!datanet) throw new NotFound(`no datanet ${c.req.valid('param').id}`, 'datanet', c.req.valid('param').id);
    const owner = await findAccount(db, datanet.ownerAccountId);
    return c.json(datanetView(datanet, owner!.wallet!), 200);
  });
