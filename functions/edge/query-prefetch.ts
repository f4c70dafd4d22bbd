import type { Embedder } from '../../shared/embedder/index.ts';

// The edge's longest single wait is the query vector from the origin's /v1/embeddings (a Worker
// cannot run the model). The retrieve service asks for it only after admission (connect, key,
// limits, credits) has answered, beside its first search statement. Here the Worker starts that
// fetch as the request arrives, so it is in flight while the database connection opens and the
// admission and first search statements run; the service then finds the vector already on its way.
// Only for a POST /v1/retrieve that carries credentials (an API key or an x402 payment) and a small
// JSON body: an anonymous request never costs an embeddings call. If the request turns out to be
// refused, the one prefetched vector is wasted, which is what it costs.

/** a query whose vector is being fetched */
export interface PrefetchedQuery {
  query: Promise<string | null>;
  vectors: Promise<Float32Array[] | null>;
}

const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'payment-signature', 'x-payment'];
/** prefetch only from bodies this small (a retrieve body is a query and a few options) */
const MAX_PREFETCH_BODY_BYTES = 16 * 1024;

export function prefetchQueryVector(request: Request, embedder: Embedder): PrefetchedQuery | undefined {
  if (request.method !== 'POST' || new URL(request.url).pathname !== '/v1/retrieve') return undefined;
  if (!CREDENTIAL_HEADERS.some((h) => request.headers.has(h))) return undefined;
  const length = Number(request.headers.get('content-length') ?? NaN);
  if (!(length > 0 && length <= MAX_PREFETCH_BODY_BYTES)) return undefined;
  const query = request
    .clone()
    .json()
    .then((body: unknown) => {
      const q = (body as { query?: unknown } | null)?.query;
      return typeof q === 'string' && q.trim() !== '' ? q : null;
    })
    .catch(() => null); // the route reports a bad body
  const vectors = query.then((q) => (q === null ? null : embedder.embed([q]))).catch(() => null); // embedded again, when needed, by the service (its error is the route's)
  return { query, vectors };
}

/**
 * `embedder`, but the first request to embed exactly the prefetched query gets the prefetched
 * vector (or, if the prefetch failed, a fresh call); everything else goes straight through.
 */
export function withPrefetched(embedder: Embedder, prefetched: PrefetchedQuery | undefined): Embedder {
  if (!prefetched) return embedder;
  let used = false;
  const wrapped: Embedder = {
    modelId: embedder.modelId,
    dimension: embedder.dimension,
    async embed(texts) {
      if (!used && texts.length === 1) {
        const query = await prefetched.query;
        if (!used && query === texts[0]) {
          used = true;
          return (await prefetched.vectors) ?? embedder.embed(texts);
        }
      }
      return embedder.embed(texts);
    },
  };
  if (embedder.countTokens) wrapped.countTokens = (texts) => embedder.countTokens!(texts);
  return wrapped;
}
