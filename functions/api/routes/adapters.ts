import { createHash } from 'node:crypto';
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { InvalidInput, Forbidden } from '../../../shared/errors.ts';
import { checksumWallet } from '../../../shared/services/accounts.ts';
import { findAccount, findAccountByWallet, walletsOf } from '../../../shared/services/accounts.ts';
import { insertAdapter, listAdapters } from '../../../shared/services/adapters.ts';
import type { Adapter } from '../../../shared/store/adapters.ts';
import { anyRole, requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorResponses } from '../errors.ts';
import { security } from '../schemas.ts';

const AdapterView = z
  .object({
    id: z.string(),
    name: z.string(),
    ownerAccountId: z.string(),
    ownerWallet: z.string(),
    baseModel: z.string(),
    objectKey: z.string(),
    sha256: z.string(),
    shareBps: z.number().int(),
    createdAt: z.string(),
  })
  .openapi('Adapter');

const view = (a: Adapter, wallet: string) => ({
  id: a.id,
  name: a.name,
  ownerAccountId: a.ownerAccountId,
  ownerWallet: wallet,
  baseModel: a.baseModel,
  objectKey: a.objectKey,
  sha256: a.sha256,
  shareBps: a.shareBps,
  createdAt: a.createdAt.toISOString(),
});

const registerRoute = createRoute({
  method: 'post',
  path: '/v1/adapters',
  tags: ['adapters'],
  summary:
    'Register a LoRA adapter already in the object store; its owner earns shareBps of the token charge of every answer that uses it',
  security,
  middleware: [requireRole('contributor', 'admin')] as const,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              name: z.string().trim().min(1).max(200),
              ownerWallet: z
                .string()
                .max(64)
                .optional()
                .openapi({ description: 'admins: a registered contributor wallet; contributors: their own (default)' }),
              baseModel: z.string().min(1).max(200),
              objectKey: z.string().min(1).max(500),
              sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters'),
              shareBps: z.number().int().min(0).max(10_000),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: { description: 'Registered', content: { 'application/json': { schema: AdapterView } } },
    ...errorResponses,
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/adapters',
  tags: ['adapters'],
  summary: 'Registered adapters',
  security,
  middleware: [anyRole()] as const,
  responses: {
    200: { description: 'OK', content: { 'application/json': { schema: z.object({ data: z.array(AdapterView) }) } } },
    ...errorResponses,
  },
});

export const adapterRoutes = new OpenAPIHono<AppEnv>()
  .openapi(registerRoute, async (c) => {
    const { db, config, objectStore } = c.get('services');
    const principal = c.get('principal');
    const body = c.req.valid('json');
    const me = (await findAccount(db, principal.accountId))!;
    const wallet = body.ownerWallet ? checksumWallet(body.ownerWallet) : me.wallet;
    if (!wallet) throw new InvalidInput('ownerWallet: required for admin keys');
    const owner = await findAccountByWallet(db, wallet);
    if (!owner || owner.kind !== 'contributor')
      throw new InvalidInput(`ownerWallet: ${wallet} is not a registered contributor`);
    if (principal.role !== 'admin' && owner.id !== principal.accountId)
      throw new Forbidden('contributors register adapters for their own wallet only');
    const base = config.models.get(body.baseModel);
    if (!base) throw new InvalidInput(`baseModel: unknown model ${body.baseModel}`);
    if (!base.supportsAdapters) throw new InvalidInput(`baseModel: ${base.id} does not take adapters`);
    let bytes: Uint8Array | null;
    try {
      bytes = await objectStore.get(body.objectKey);
    } catch {
      throw new InvalidInput(`objectKey: not a valid object key`);
    }
    if (!bytes) throw new InvalidInput(`objectKey: no object ${body.objectKey} in the store`);
    if (createHash('sha256').update(bytes).digest('hex') !== body.sha256)
      throw new InvalidInput('sha256: does not match the stored object');
    const adapter = await insertAdapter(db, {
      ownerAccountId: owner.id,
      name: body.name,
      baseModel: base.id,
      objectKey: body.objectKey,
      sha256: body.sha256,
      shareBps: body.shareBps,
    });
    return c.json(view(adapter, wallet), 201);
  })
  .openapi(listRoute, async (c) => {
    const { db } = c.get('services');
    const adapters = await listAdapters(db);
    const wallets = await walletsOf(
      db,
      adapters.map((a) => a.ownerAccountId),
    );
    return c.json({ data: adapters.map((a) => view(a, wallets.get(a.ownerAccountId)!)) }, 200);
  });
