import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import { PayloadTooLarge } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import type { Services } from '../../shared/services/container.ts';
import { docsRoutes } from './docs.ts';
import type { AppEnv } from './env.ts';
import { errorJson, onError, validationHook } from './errors.ts';
import { accountRoutes } from './routes/accounts.ts';
import { datanetRoutes } from './routes/datanets.ts';
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

const JSON_BODY_LIMIT = 256 * 1024;

/** The whole HTTP API over a services container; Node, Lambda and tests all use this. */
export function createApp(services: Services) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use('*', requestContext(services));
  app.use('*', async (c, next) => {
    // Documents may be large; everything else is small JSON.
    const isUpload = c.req.method === 'POST' && /^\/v1\/datanets\/[^/]+\/documents$/.test(c.req.path);
    const maxSize = isUpload ? services.config.maxDocumentBytes + 64 * 1024 : JSON_BODY_LIMIT;
    return bodyLimit({
      maxSize,
      onError: () => {
        throw new PayloadTooLarge(`request body exceeds ${maxSize} bytes`);
      },
    })(c, next);
  });

  app.route('/', healthRoutes);
  app.route('/', accountRoutes);
  app.route('/', datanetRoutes);
  app.route('/', documentRoutes);
  app.route('/', retrieveRoutes);
  app.route('/', usageRoutes);
  app.route('/', answerRoutes);
  app.route('/', chatRoutes);
  app.route('/', embeddingRoutes);
  app.route('/', adapterRoutes);
  app.route('/', settlementRoutes);
  app.route('/', reembedRoutes);
  app.route('/', docsRoutes);

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
        'Every error is `{ "error": { "code", "message", "requestId" } }`.',
    },
  });
  app.get('/', (c) => c.redirect('/docs'));

  app.notFound((c) => errorJson(c, 'NOT_FOUND', `no route ${c.req.method} ${c.req.path}`));
  app.onError(onError);
  return app;
}

export type App = ReturnType<typeof createApp>;

/** Request id, services on the context, and one JSON summary line per request. */
function requestContext(services: Services) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now();
    const requestId = newId('request');
    c.set('services', services);
    c.set('requestId', requestId);
    c.header('x-request-id', requestId);
    await next();
    if (services.config.logRequests)
      services.log.info('request', {
        requestId, method: c.req.method, route: c.req.routePath, status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10, cost: c.get('cost'),
        ...(c.get('principal') ? { keyId: c.get('principal').keyId } : {}),
      });
  });
}
