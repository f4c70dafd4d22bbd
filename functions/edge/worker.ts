import type { ExecutionContext } from 'hono';
import { buildApp, EDGE_ROUTES } from '../api/app.ts';
import { prefetchQueryVector, type PrefetchedQuery } from './query-prefetch.ts';
import { isolateServices, requestServices, type EdgeEnv } from './services.ts';

// Cloudflare Worker entry (nodejs_compat): the retrieval path of the same Hono app and services
// the Node and Lambda APIs run — API-key auth, balance check, paid retrieve with spans, one ledger
// transaction per call, receipts, usage and earnings. Built by SST (stacks/edge.ts) and by
// test/edge/build.ts with the same settings (stacks/edge-settings.ts).
let isolate: ReturnType<typeof isolateServices> | undefined;

/** the request's query vector, fetched from its arrival (query-prefetch.ts), passed to the app beside the bindings */
const PREFETCHED = Symbol('prefetched query vector');
type RequestEnv = EdgeEnv & { [PREFETCHED]?: PrefetchedQuery | undefined };

const app = buildApp((c) => {
  const env = c.env as RequestEnv;
  isolate ??= isolateServices(env);
  return requestServices(isolate, (p) => c.executionCtx.waitUntil(p), env[PREFETCHED]);
}, EDGE_ROUTES);

export default {
  fetch(request: Request, env: EdgeEnv, ctx: ExecutionContext) {
    let prefetched: PrefetchedQuery | undefined;
    try {
      isolate ??= isolateServices(env);
      // EDGE_QUERY_PREFETCH=off: the vector is fetched when the service asks (bench:edge's comparison)
      if (env.EDGE_QUERY_PREFETCH !== 'off') prefetched = prefetchQueryVector(request, isolate.embedder);
    } catch {
      // a configuration error: the app's scope raises it again and answers in the API's error shape
    }
    return app.fetch(request, prefetched ? { ...env, [PREFETCHED]: prefetched } : env, ctx);
  },
};
