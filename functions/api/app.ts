import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { PayloadTooLarge } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import { logScope } from '../../shared/logger.ts';
import type { Services } from '../../shared/services/container.ts';
import { docsRoutes } from './docs.ts';
import type { AppEnv } from './env.ts';
import { errorJson, onError, validationHook } from './errors.ts';
import { LIMITS, inputGuard } from './input-guard.ts';
import { transportSecurity } from './transport-security.ts';
import { methodIndex } from './methods.ts';
import { accountRoutes } from './routes/accounts.ts';
import { datanetRoutes } from './routes/datanets.ts';
import { rateCardRoutes } from './routes/rate-cards.ts';
import { documentRoutes } from './routes/documents.ts';
import { healthRoutes } from './routes/health.ts';
import { retrieveRoutes } from './routes/retrieve.ts';
import { usageRoutes } from './routes/usage.ts';
import { answerRoutes } from './routes/answers.ts';
import { chatRoutes } from './routes/chat.ts';
import { embeddingRoutes } from './routes/embeddings.ts';
import { adapterRoutes } from './routes/adapters.ts';
import { settlementRoutes } from './routes/settlement.ts';
import { reembedRoutes } from './routes/reembed.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { limitRoutes } from './routes/limits.ts';
import { dashboardRoutes } from '../dashboard/app.tsx';
import { mcpRoutes } from './routes/mcp.ts';
import { TOOL_NAMES } from './mcp/tools.ts';
import { X402_PATHS, x402Payment } from './x402.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { creditRoutes } from './routes/credits.ts';

// Every route group, in the order the docs list them.
const ALL_ROUTES = [
  healthRoutes,
  accountRoutes,
  datanetRoutes,
  rateCardRoutes,
  documentRoutes,
  retrieveRoutes,
  usageRoutes,
  creditRoutes,
  answerRoutes,
  chatRoutes,
  embeddingRoutes,
  adapterRoutes,
  settlementRoutes,
  reembedRoutes,
  webhookRoutes,
  limitRoutes,
  metricsRoutes,
  docsRoutes,
];

/** The retrieval path the edge Worker serves: auth, balance check, paid retrieve with receipts, usage and earnings. */
export const EDGE_ROUTES = [healthRoutes, retrieveRoutes, usageRoutes];

type RouteGroup = (typeof ALL_ROUTES)[number];

/** Each MCP tool calls one route group; an app offers the tools whose routes it serves. */
const TOOL_ROUTES = {
  search: retrieveRoutes,
  answer: answerRoutes,
  get_receipt: settlementRoutes,
  list_datanets: datanetRoutes,
} as const;

/**
 * Services for one request. Node and Lambda hand every request the same container; the edge
 * Worker opens a database connection per request (Hyperdrive: a client may not outlive its
 * request) and releases it when the response is done.
 */
export type ServicesScope = (c: Context<AppEnv>) => { services: Services; release?: () => void };

/** The whole HTTP API over a services container; Node, Lambda and tests all use this. */
export function createApp(services: Services) {
  const app = buildApp(() => ({ services }), ALL_ROUTES);
  // HTML pages on the same services, outside the OpenAPI document.
  app.route('/', dashboardRoutes());
  return app;
}

/** An API app serving `routes`, with the request context, body limits, errors and OpenAPI document. */
export function buildApp(scope: ServicesScope, routes: readonly RouteGroup[]) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use('*', requestContext(scope));
  app.use('*', transportSecurity);
  app.use('*', async (c, next) => {
    // Documents may be large; everything else is small JSON.
    const isUpload =
      c.req.method === 'POST' && /^\/(?:v1|dashboard\/owner)\/datanets\/[^/]+\/documents$/.test(c.req.path);
    const maxSize = isUpload ? c.get('services').config.maxDocumentBytes + 64 * 1024 : LIMITS.jsonBodyBytes;
    return bodyLimit({
      maxSize,
      onError: () => {
        throw new PayloadTooLarge(`request body exceeds ${maxSize} bytes`);
      },
    })(c, next);
  });
  // NUL and lone surrogates, deep JSON, long query values: a 400 naming the field, before any work.
  app.use('*', inputGuard());

  // Pay per call: a caller without an API key may pay the paid routes with x402.
  for (const path of X402_PATHS) app.use(path, x402Payment());
  for (const group of routes) app.route('/', group);
  // MCP over the same routes (and so the same auth, limits, billing and errors).
  const tools = TOOL_NAMES.filter((t) => routes.includes(TOOL_ROUTES[t]));
  app.route(
    '/',
    mcpRoutes((request, env, ctx) => app.fetch(request, env, ctx), tools),
  );

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'API key: cp_live_… or cp_test_…',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'citepay',
      version: '1.0.0',
      description:
        'Paid, cited retrieval with per-source attribution. Money is micro-USD as strings. ' +
        'Every error is `{ "error": { "code", "message", "requestId" } }`. ' +
        `Limits, checked before any work: JSON bodies ${LIMITS.jsonBodyBytes / 1024} KiB (uploads: MAX_DOCUMENT_BYTES + 64 KiB) → 413; ` +
        `JSON nesting ${LIMITS.jsonDepth} levels → 400; no U+0000 or unpaired surrogates in any string, key, query value or path → 400 naming the field; ` +
        `query values ${LIMITS.queryValueChars} characters; request headers ${LIMITS.headerBytes / 1024} KiB → 431; every field's own maximum is in its schema; ` +
        'a known path with another method → 405 with Allow.',
    },
  });
  app.get('/', (c) => c.redirect(routes.includes(docsRoutes) ? '/docs' : '/openapi.json'));

  const allowed = methodIndex(() => app.routes);
  app.notFound((c) => {
    const allow = allowed(c.req.path);
    if (allow.length === 0 || allow.includes(c.req.method))
      return errorJson(c, 'NOT_FOUND', `no route ${c.req.method} ${c.req.path}`);
    c.header('Allow', allow.join(', '));
    return errorJson(
      c,
      'METHOD_NOT_ALLOWED',
      `${c.req.method} is not allowed on ${c.req.path}: use ${allow.join(', ')}`,
    );
  });
  app.onError(onError);
  return app;
}

export type App = ReturnType<typeof createApp>;

/** Request id, services on the context, and one JSON summary line per request. */
function requestContext(scope: ServicesScope) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now();
    const requestId = newId('request');
    const { services, release } = scope(c);
    c.set('services', services);
    c.set('requestId', requestId);
    c.header('x-request-id', requestId);
    try {
      // every log line written while this request is handled carries its id
      await logScope.run({ requestId }, next);
    } finally {
      release?.();
    }
    const labels = { method: c.req.method, route: c.req.routePath, status: String(c.res.status) };
    services.metrics?.httpRequests.inc(labels);
    services.metrics?.httpSeconds.observe(labels, (performance.now() - started) / 1000);
    if (services.config.logRequests)
      services.log.info('request', {
        requestId,
        method: c.req.method,
        route: c.req.routePath,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        cost: c.get('cost'),
        ...(c.get('principal') ? { keyId: c.get('principal').keyId } : {}),
      });
  });
}
