import { dirname } from 'node:path';
import { Miniflare } from 'miniflare';
import { EDGE_WORKER } from '../../stacks/edge-settings.ts';

// Runs a built edge Worker bundle in workerd through miniflare, as deployed: the Hyperdrive
// binding (miniflare's local stand-in connects straight to the given database) and the variables
// stacks/edge.ts sets. The module is listed explicitly (scriptPath + modules: true would
// re-resolve the bundle's node:/cloudflare: imports itself).
export interface EdgeWorker {
  /** the Worker's address on this machine (miniflare's entry server) */
  url: string;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  dispose(): Promise<void>;
}

export interface EdgeWorkerOptions {
  bundle: string;
  databaseUrl: string;
  /** citepay's own OpenAI-compatible embeddings endpoint (…/v1) and a key for it */
  embedder: { url: string; apiKey: string; model: string; dimension: number };
  vars?: Record<string, string>;
  /**
   * 'direct': no Hyperdrive binding; the Worker reads DATABASE_URL and its own socket reaches the
   * database (bench:edge points it at PgBouncer, the pool Hyperdrive is when deployed). miniflare's
   * Hyperdrive stand-in is a Node TCP proxy without TCP_NODELAY: a response of more than one
   * segment waits for the Worker's delayed ACK (~40 ms), which deployed Hyperdrive does not do.
   */
  database?: 'hyperdrive' | 'direct';
}

export async function startEdgeWorker(options: EdgeWorkerOptions): Promise<EdgeWorker> {
  // Hyperdrive requires a password in its origin; the test server trusts local connections and ignores it.
  const origin = new URL(options.databaseUrl);
  origin.password ||= 'unused';
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: options.bundle }],
    modulesRoot: dirname(options.bundle), // module names are relative to it, and may not climb out with ".."

    compatibilityDate: EDGE_WORKER.compatibility.date,
    compatibilityFlags: [...EDGE_WORKER.compatibility.flags],
    ...(options.database === 'direct' ? {} : { hyperdrives: { [EDGE_WORKER.hyperdriveBinding]: origin.toString() } }),
    bindings: {
      EMBEDDER: 'remote',
      EMBEDDER_URL: options.embedder.url,
      EMBEDDER_API_KEY: options.embedder.apiKey,
      EMBEDDER_MODEL: options.embedder.model,
      EMBEDDER_DIMENSION: String(options.embedder.dimension),
      LOG_LEVEL: 'warn',
      ...(options.database === 'direct' ? { DATABASE_URL: options.databaseUrl } : {}),
      ...options.vars,
    },
  });
  const url = (await mf.ready).origin;
  return {
    url,
    fetch: async (path, init) =>
      (await mf.dispatchFetch(`http://edge.local${path}`, init as never)) as unknown as Response,
    dispose: () => mf.dispose(),
  };
}
