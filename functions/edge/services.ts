import { ConfigError, loadConfig, type Config } from '../../shared/config.ts';
import { openPg } from '../../shared/db/pg.ts';
import { createRemoteEmbedder } from '../../shared/embedder/openai-compatible.ts';
import type { Embedder } from '../../shared/embedder/index.ts';
import { Unavailable } from '../../shared/errors.ts';
import { createLogger, type Logger } from '../../shared/logger.ts';
import type { ObjectStore } from '../../shared/object-store/index.ts';
import { AnswerHub } from '../../shared/services/answer-hub.ts';
import type { Services } from '../../shared/services/container.ts';
import { createEmbedderRegistry, type EmbedderRegistry } from '../../shared/services/embedders.ts';
import type { VectorIndex } from '../../shared/vector-index/index.ts';
import { coalescingSocket } from './pg-socket.ts';
import { withPrefetched, type PrefetchedQuery } from './query-prefetch.ts';
import { createPgvectorIndex } from '../../shared/vector-index/pgvector.ts';
import { createPineconeIndex } from '../../shared/vector-index/pinecone.ts';

// The edge composition root's services. A Worker cannot run an embedding model (no WebAssembly
// compiled from bytes, 128 MB) and may not share a socket across requests, so: query vectors
// come from an OpenAI-compatible embeddings endpoint (citepay's own /v1/embeddings on Lambda, or
// a hosted model), and the database connection is opened per request (through Hyperdrive, which
// pools on Cloudflare's side) and ended once the response is sent.

/** The Worker's bindings: Hyperdrive as EdgeDatabase (stacks/edge.ts; deployed) or DATABASE_URL (local), plus the same variables as the Node API. */
export interface EdgeEnv {
  EdgeDatabase?: { connectionString: string };
  [variable: string]: unknown;
}

/** What lives as long as the isolate: parsed config, the remote embedder, Pinecone's fetch client. */
export interface IsolateServices {
  config: Config;
  databaseUrl: string;
  embedder: Embedder;
  embedders: EmbedderRegistry;
  log: Logger;
  pinecone: VectorIndex | undefined;
}

export function isolateServices(env: EdgeEnv): IsolateServices {
  const variables = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  const config = loadConfig(variables);
  const databaseUrl = env.EdgeDatabase?.connectionString ?? config.databaseUrl;
  if (!databaseUrl)
    throw new ConfigError(
      'Invalid environment:\n  the EdgeDatabase Hyperdrive binding or DATABASE_URL: the edge needs the PostgreSQL database the API uses',
    );
  const remote = config.embedder.remote;
  if (!remote)
    throw new ConfigError(
      'Invalid environment:\n  EMBEDDER=remote: a Worker cannot run a model; set EMBEDDER_URL, EMBEDDER_API_KEY, EMBEDDER_MODEL and EMBEDDER_DIMENSION',
    );
  // fetch bound to globalThis: workerd rejects a detached fetch ("Illegal invocation").
  const embedder = createRemoteEmbedder({ ...remote, fetch: (input, init) => fetch(input, init) });
  return {
    config,
    databaseUrl,
    embedder,
    embedders: createEmbedderRegistry(embedder),
    log: createLogger(config.logLevel, { runtime: 'edge' }, (level, line) =>
      level === 'error' || level === 'warn' ? console.error(line) : console.log(line),
    ),
    pinecone: config.vectorIndex.kind === 'pinecone' ? createPineconeIndex(config.vectorIndex) : undefined,
  };
}

/** Services for one request, and how to let its connections go once the response is done. */
export function requestServices(
  isolate: IsolateServices,
  waitUntil: (p: Promise<unknown>) => void,
  prefetched?: PrefetchedQuery | undefined,
): { services: Services; release: () => void } {
  const { config, log } = isolate;
  // Two connections at most: a transaction plus a read beside it (as DATABASE_POOL_MAX's floor on Node).
  // Once released, workerd cancels the sockets' streams: those errors are the close itself.
  let released = false;
  const db = openPg(isolate.databaseUrl, {
    max: 2,
    stream: coalescingSocket,
    onIdleError: (err) => released || log.warn('database connection lost', { error: err.message }),
  });
  const services: Services = {
    config,
    db,
    ...(prefetched
      ? (() => {
          const embedder = withPrefetched(isolate.embedder, prefetched);
          return { embedder, embedders: createEmbedderRegistry(embedder) };
        })()
      : { embedder: isolate.embedder, embedders: isolate.embedders }),
    vectorIndex: isolate.pinecone ?? createPgvectorIndex(db),
    objectStore: documentsNotAtTheEdge,
    log,
    jobQueue: undefined,
    answerHub: new AnswerHub(),
    chain: undefined,
    // No Prometheus registry at the edge (prom-client needs node:process, which workerd lacks):
    // the edge serves no /metrics; Cloudflare's Workers analytics counts its requests.
    metrics: undefined,
  };
  return {
    services,
    release: () => {
      released = true;
      waitUntil(db.close());
    },
  };
}

/** Only the retrieval routes are mounted at the edge; none of them reads stored objects. */
const refuse = async (): Promise<never> => {
  throw new Unavailable('stored documents are served by the API on Lambda, not the edge', 'objectStore');
};
const documentsNotAtTheEdge: ObjectStore = { put: refuse, get: refuse, delete: refuse };
