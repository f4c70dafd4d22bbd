import OpenAI from 'openai';
import { Unavailable } from '../errors.ts';
import { normalize, type Embedder } from './index.ts';

// An embedder on the other side of any OpenAI-compatible `POST /embeddings` endpoint: citepay's
// own (`/v1/embeddings`, what the edge Worker uses, since a Worker cannot run a model), a
// text-embeddings server on the GPU fleet, or a hosted provider. The openai SDK is used rather
// than hand-written fetch: it runs on Node and in workerd, retries 429/5xx with backoff, honours
// Retry-After, and asks for base64 (exact float32, a third of the bytes) and decodes it.
export interface RemoteEmbedderOptions {
  /** base URL up to and including the version, e.g. https://api.openai.com/v1 or http://localhost:3000/v1 */
  url: string;
  apiKey: string;
  /** the model id sent to the endpoint, and recorded with every vector (the index never mixes models) */
  model: string;
  dimension: number;
  /** texts per request (OpenAI accepts 2048; citepay's endpoint 512) */
  batchSize?: number;
  timeoutMs?: number;
  maxRetries?: number;
  /** fetch to use (tests, or a runtime whose global fetch needs binding) */
  fetch?: typeof fetch;
}

export function createRemoteEmbedder(options: RemoteEmbedderOptions): Embedder {
  const { model, dimension, batchSize = 256 } = options;
  const client = new OpenAI({
    baseURL: options.url,
    apiKey: options.apiKey,
    timeout: options.timeoutMs ?? 10_000,
    maxRetries: options.maxRetries ?? 2,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });

  async function embedBatch(texts: readonly string[]): Promise<Float32Array[]> {
    let data: OpenAI.Embeddings.Embedding[];
    try {
      ({ data } = await client.embeddings.create({ model, input: [...texts] }));
    } catch (err) {
      // The endpoint's own 4xx (bad key, unknown model, out of credits) is this server's
      // misconfiguration, not the caller's fault: either way the caller can only retry later.
      const status = err instanceof OpenAI.APIError && err.status ? ` (HTTP ${err.status})` : '';
      throw new Unavailable(
        `the embedding service did not answer${status}: ${(err as Error).message.slice(0, 200)}`,
        'embedder',
        1,
      );
    }
    if (data.length !== texts.length)
      throw new Unavailable(
        `the embedding service returned ${data.length} vectors for ${texts.length} texts`,
        'embedder',
        1,
      );
    const vectors = new Array<Float32Array>(texts.length);
    for (const item of data) {
      if (item.embedding.length !== dimension)
        throw new Unavailable(
          `${model} returned ${item.embedding.length}-dimensional vectors; EMBEDDER_DIMENSION says ${dimension}`,
          'embedder',
        );
      vectors[item.index] = unitLength(Float32Array.from(item.embedding));
    }
    return vectors;
  }

  return {
    modelId: model,
    dimension,
    async embed(texts) {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batchSize) out.push(...(await embedBatch(texts.slice(i, i + batchSize))));
      return out;
    },
  };
}

/**
 * The index compares unit vectors. Most endpoints already return them; re-dividing those would
 * only move their last bits (so the edge's query vector would differ from the Node API's).
 */
function unitLength(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  return Math.abs(norm - 1) < 1e-4 ? v : normalize(v);
}
