import type { ExecutionContext } from 'hono';
import { buildApp, EDGE_ROUTES } from '../api/app.ts';
import { isolateServices, requestServices, type EdgeEnv } from './services.ts';

// Cloudflare Worker entry (nodejs_compat): the retrieval path of the same Hono app and services
// the Node and Lambda APIs run — API-key auth, balance check, paid retrieve with spans, one ledger
// transaction per call, receipts, usage and earnings. Built by SST (stacks/edge.ts) and by
// test/edge/build.ts with the same settings (stacks/edge-settings.ts).
let isolate: ReturnType<typeof isolateServices> | undefined;

const app = buildApp((c) => {
  isolate ??= isolateServices(c.env as EdgeEnv);
  return requestServices(isolate, (p) => c.executionCtx.waitUntil(p));
}, EDGE_ROUTES);

export default {
  fetch: (request: Request, env: EdgeEnv, ctx: ExecutionContext) => app.fetch(request, env, ctx),
};
