// The retrieval path at Cloudflare's edge (functions/edge/worker.ts): opt-in with
// `CITEPAY_EDGE=1 sst deploy` (needs CLOUDFLARE_API_TOKEN and CLOUDFLARE_DEFAULT_ACCOUNT_ID).
// The Worker reaches the same PostgreSQL as the Lambdas through Hyperdrive, and gets query
// vectors from the API Lambda's /v1/embeddings (a Worker cannot run the model), so both
// runtimes find the same sources and write the same ledger.
import type { Storage } from './storage.ts';
import { EDGE_WORKER } from './edge-settings.ts';
import { x402Env } from './api.ts';

export function edge(store: Storage, apiUrl: $util.Output<string>) {
  if (process.env.CITEPAY_EDGE !== '1') return undefined;

  // Aurora lives in private subnets, which Cloudflare cannot reach. EDGE_DATABASE_HOST is a
  // hostname that can: a Cloudflare Tunnel (cloudflared in the VPC) protected by Cloudflare
  // Access — give its service token as HYPERDRIVE_ACCESS_CLIENT_ID and the HyperdriveAccessSecret
  // secret — or a public endpoint of the same database.
  const host = process.env.EDGE_DATABASE_HOST;
  if (!host)
    throw new Error(
      'CITEPAY_EDGE=1: set EDGE_DATABASE_HOST to a hostname Hyperdrive can reach the Aurora database at (a Cloudflare Tunnel, see README)',
    );
  const accessClientId = process.env.HYPERDRIVE_ACCESS_CLIENT_ID;

  const database = new sst.cloudflare.Hyperdrive(EDGE_WORKER.hyperdriveBinding, {
    origin: {
      scheme: 'postgres',
      host,
      ...(accessClientId
        ? { accessClientId, accessClientSecret: new sst.Secret('HyperdriveAccessSecret').value }
        : { port: store.database.port }),
      database: store.database.database,
      user: store.database.username,
      password: store.database.password,
    },
    // Never serve a cached read: balances, held amounts and idempotency claims must be current.
    caching: false,
  });

  // A consumer key of the operator's own account: the edge's query embeddings are billed to it.
  const embedderKey = new sst.Secret('EdgeEmbedderKey');

  const worker = new sst.cloudflare.Worker('Edge', {
    handler: EDGE_WORKER.handler,
    compatibility: { date: EDGE_WORKER.compatibility.date, flags: [...EDGE_WORKER.compatibility.flags] },
    url: true,
    link: [database],
    environment: {
      NODE_ENV: 'production',
      EMBEDDER: 'remote',
      // Another OpenAI-compatible endpoint works too, if every datanet's model is served there.
      EMBEDDER_URL: process.env.EDGE_EMBEDDER_URL ?? $interpolate`${apiUrl}v1`,
      EMBEDDER_MODEL: process.env.EDGE_EMBEDDER_MODEL ?? 'use-lite-512',
      EMBEDDER_DIMENSION: process.env.EDGE_EMBEDDER_DIMENSION ?? '512',
      VECTOR_INDEX: store.vectorIndex,
      ...(store.vectorIndex === 'pinecone' ? { PINECONE_INDEX_HOST: store.pineconeIndexHost } : {}),
      LOG_REQUESTS: 'true',
      // x402 on the edge: the facilitator, the chain, and (the Worker has no chain of its own) the
      // stablecoin and the treasury, which must then be given as TOKEN_ADDRESS and X402_PAY_TO.
      ...x402Env(),
      ...(process.env.X402_FACILITATOR_URL && process.env.TOKEN_ADDRESS
        ? { TOKEN_ADDRESS: process.env.TOKEN_ADDRESS }
        : {}),
    },
    transform: {
      // Keys as secret bindings, under the names the runtime config reads (not SST_RESOURCE_*).
      worker: (args) => {
        args.bindings = $output(args.bindings ?? []).apply((bindings) => [
          ...bindings,
          { type: 'secret_text', name: 'EMBEDDER_API_KEY', text: embedderKey.value },
          ...(store.vectorIndex === 'pinecone'
            ? [{ type: 'secret_text', name: 'PINECONE_API_KEY', text: store.secrets.pineconeApiKey.value }]
            : []),
        ]);
      },
    },
  });

  return { url: worker.url };
}
