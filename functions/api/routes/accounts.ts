import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { Forbidden, InvalidInput } from '../../../shared/errors.ts';
import { parseMicros } from '../../../shared/core/money.ts';
import {
  createAccount,
  grantCreditsIn,
  requireAccount,
  setAccountDisabledAs,
} from '../../../shared/services/accounts.ts';
import { issueKey, ownKeys, revokeKeyAs, type Principal } from '../../../shared/services/api-keys.ts';
import { reachableOnly } from '../../../shared/services/test-mode.ts';
import type { Account, ApiKeyRecord } from '../../../shared/store/accounts.ts';
import { balanceOf, listApiKeys } from '../../../shared/services/accounts.ts';
import { requireRole, anyRole, requireLiveKey } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorResponses } from '../errors.ts';
import { Micros, idParam, iso, security } from '../schemas.ts';

const AccountView = z
  .object({
    id: z.string(),
    kind: z.enum(['admin', 'consumer', 'contributor']),
    name: z.string(),
    wallet: z.string().nullable(),
    createdAt: z.string(),
    disabledAt: z.string().nullable().openapi({
      description: "set: the account's keys are refused, its dashboard sessions ended, its wallet cannot sign in",
    }),
  })
  .openapi('Account');

const KeyView = z
  .object({
    id: z.string(),
    role: z.string(),
    name: z.string().nullable(),
    prefix: z.string(),
    livemode: z.boolean().openapi({ description: 'false for a cp_test_ key: it acts on test balances only' }),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .openapi('ApiKey');

const NewKeyView = z
  .object({ id: z.string(), key: z.string().openapi({ description: 'shown once; store it now' }) })
  .openapi('NewApiKey');

const accountView = (a: Account) => ({
  id: a.id,
  kind: a.kind as 'admin',
  name: a.name,
  wallet: a.wallet,
  createdAt: a.createdAt.toISOString(),
  disabledAt: iso(a.disabledAt),
});
const keyView = (k: ApiKeyRecord) => ({
  id: k.id,
  role: k.role,
  name: k.name,
  prefix: k.prefix,
  livemode: k.livemode,
  createdAt: k.createdAt.toISOString(),
  revokedAt: iso(k.revokedAt),
});

/** A cp_test_ admin key acts in test mode only: it may issue test keys and grant test credits, never live ones. */
function assertModeAllowed(principal: Principal, livemode: boolean): void {
  if (livemode && !principal.livemode)
    throw new Forbidden('a cp_test_ key can only issue test keys and grant test credits: use a live admin key');
}

const createAccountRoute = createRoute({
  method: 'post',
  path: '/v1/admin/accounts',
  tags: ['admin'],
  summary: 'Create a consumer (with prepaid credits) or a contributor (with a wallet), and its first API key',
  security,
  middleware: [requireRole('admin')] as const,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              kind: z.enum(['consumer', 'contributor']),
              name: z.string().trim().min(1).max(200),
              wallet: z.string().max(64).optional().openapi({
                description: 'EVM address (contributors); returned EIP-55 checksummed',
                example: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
              }),
              credits: Micros.optional().openapi({
                description:
                  'prepaid credits for a consumer, micro-USD; in the mode of the first key (test credits with keyMode test)',
              }),
              keyMode: z
                .enum(['live', 'test'])
                .default('live')
                .openapi({ description: 'test: a cp_test_ key, acting on test balances only' }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: {
      description: 'Created',
      content: {
        'application/json': {
          schema: z.object({
            account: AccountView,
            apiKey: NewKeyView,
            balance: Micros.openapi({ description: "in the first key's mode" }),
            livemode: z.boolean(),
          }),
        },
      },
    },
    ...errorResponses,
  },
});

const getAccountRoute = createRoute({
  method: 'get',
  path: '/v1/admin/accounts/{id}',
  tags: ['admin'],
  summary: 'An account with its balance and keys',
  security,
  middleware: [requireRole('admin')] as const,
  request: { params: idParam('acct') },
  responses: {
    200: {
      description: 'OK',
      content: {
        'application/json': {
          schema: z.object({
            account: AccountView,
            balance: Micros.nullable().openapi({
              description: 'live; null for a cp_test_ admin key, which sees test things only',
            }),
            testBalance: Micros.openapi({ description: 'test credits (cp_test_ keys)' }),
            keys: z.array(KeyView),
          }),
        },
      },
    },
    ...errorResponses,
  },
});

const grantCreditsRoute = createRoute({
  method: 'post',
  path: '/v1/admin/accounts/{id}/credits',
  tags: ['admin'],
  summary: 'Add prepaid credits to a consumer account (livemode false: test credits, granted freely)',
  security,
  middleware: [requireRole('admin')] as const,
  request: {
    params: idParam('acct'),
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              amount: Micros,
              livemode: z.boolean().default(true).openapi({
                description: "false: test credits, spent only by the account's cp_test_ keys; never live money",
              }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: {
      description: 'Credited',
      content: {
        'application/json': { schema: z.object({ transactionId: z.string(), balance: Micros, livemode: z.boolean() }) },
      },
    },
    ...errorResponses,
  },
});

const createKeyRoute = createRoute({
  method: 'post',
  path: '/v1/admin/accounts/{id}/keys',
  tags: ['admin'],
  summary: 'Issue another API key for an account (shown once)',
  security,
  middleware: [requireRole('admin')] as const,
  request: {
    params: idParam('acct'),
    body: {
      required: false,
      content: {
        'application/json': {
          schema: z
            .object({ name: z.string().max(100).optional(), mode: z.enum(['live', 'test']).default('live') })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: NewKeyView } } },
    ...errorResponses,
  },
});

const disableRoute = (action: 'disable' | 'enable') =>
  createRoute({
    method: 'post',
    path: `/v1/admin/accounts/{id}/${action}`,
    tags: ['admin'],
    summary:
      action === 'disable'
        ? 'Disable an account: its keys are refused and its dashboard sessions end at once; its wallet cannot sign in (live admin key)'
        : 'Enable a disabled account again (its keys work again; sessions must be opened anew)',
    security,
    middleware: [requireRole('admin'), requireLiveKey()] as const,
    request: { params: idParam('acct') },
    responses: {
      200: { description: 'The account', content: { 'application/json': { schema: AccountView } } },
      ...errorResponses,
    },
  });

const revokeKeyRoute = createRoute({
  method: 'delete',
  path: '/v1/keys/{id}',
  tags: ['keys'],
  summary: 'Revoke a key: admins any key, others only their own',
  security,
  middleware: [anyRole()] as const,
  request: { params: idParam('key') },
  responses: {
    200: { description: 'Revoked', content: { 'application/json': { schema: KeyView } } },
    ...errorResponses,
  },
});

const listKeysRoute = createRoute({
  method: 'get',
  path: '/v1/keys',
  tags: ['keys'],
  summary: "The caller's own API keys (never the secrets)",
  security,
  middleware: [anyRole()] as const,
  responses: {
    200: { description: 'OK', content: { 'application/json': { schema: z.object({ data: z.array(KeyView) }) } } },
    ...errorResponses,
  },
});

export const accountRoutes = new OpenAPIHono<AppEnv>()
  .openapi(createAccountRoute, async (c) => {
    const body = c.req.valid('json');
    if (body.kind === 'contributor' && body.credits)
      throw new InvalidInput('credits: only consumer accounts hold prepaid credits');
    const { db } = c.get('services');
    const principal = c.get('principal');
    const livemode = body.keyMode === 'live';
    assertModeAllowed(principal, livemode);
    const created = await createAccount(db, {
      kind: body.kind,
      name: body.name,
      wallet: body.wallet,
      keyMode: body.keyMode,
      grantedBy: principal.keyId,
      credits: body.credits ? parseMicros(body.credits) : undefined,
    });
    const balance = await balanceOf(db, created.account.id, livemode);
    return c.json(
      { account: accountView(created.account), apiKey: created.apiKey!, balance: balance.toString(), livemode },
      201,
    );
  })
  .openapi(getAccountRoute, async (c) => {
    const { db } = c.get('services');
    const account = await requireAccount(db, c.req.valid('param').id);
    const principal = c.get('principal');
    // A cp_test_ admin key sees test things only: no live balance, no live keys.
    const [balance, testBalance, keys] = await Promise.all([
      principal.livemode ? balanceOf(db, account.id, true) : null,
      balanceOf(db, account.id, false),
      listApiKeys(db, account.id),
    ]);
    return c.json(
      {
        account: accountView(account),
        balance: balance?.toString() ?? null,
        testBalance: testBalance.toString(),
        keys: reachableOnly(principal, keys).map(keyView),
      },
      200,
    );
  })
  .openapi(grantCreditsRoute, async (c) => {
    const { db } = c.get('services');
    const body = c.req.valid('json');
    const amount = parseMicros(body.amount);
    if (amount === 0n) throw new InvalidInput('amount: must be greater than 0');
    assertModeAllowed(c.get('principal'), body.livemode);
    const id = c.req.valid('param').id;
    const result = await db.transaction(async (tx) => {
      await requireAccount(tx, id, 'consumer');
      const transactionId = await grantCreditsIn(tx, id, amount, c.get('principal').keyId, body.livemode);
      return { transactionId, balance: (await balanceOf(tx, id, body.livemode)).toString(), livemode: body.livemode };
    });
    return c.json(result, 201);
  })
  .openapi(createKeyRoute, async (c) => {
    const { db } = c.get('services');
    const account = await requireAccount(db, c.req.valid('param').id);
    const body = c.req.valid('json');
    assertModeAllowed(c.get('principal'), body.mode === 'live');
    const { key, record } = await issueKey(db, {
      accountId: account.id,
      role: account.kind as 'consumer',
      name: body.name ?? null,
      mode: body.mode,
    });
    return c.json({ id: record.id, key }, 201);
  })
  .openapi(disableRoute('disable'), async (c) =>
    c.json(accountView(await setAccountDisabledAs(c.get('services').db, c.req.valid('param').id, true)), 200),
  )
  .openapi(disableRoute('enable'), async (c) =>
    c.json(accountView(await setAccountDisabledAs(c.get('services').db, c.req.valid('param').id, false)), 200),
  )
  .openapi(listKeysRoute, async (c) => {
    const keys = await ownKeys(c.get('services').db, c.get('principal'));
    return c.json({ data: keys.map(keyView) }, 200);
  })
  .openapi(revokeKeyRoute, async (c) => {
    return c.json(keyView(await revokeKeyAs(c.get('services').db, c.get('principal'), c.req.valid('param').id)), 200);
  });
