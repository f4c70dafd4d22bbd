import { describe, expect, it } from 'vitest';
import type { Embedder } from '../../shared/embedder/index.ts';
import { prefetchQueryVector, withPrefetched } from './query-prefetch.ts';

// A named stand-in for the remote embedder: these tests are about which calls reach it and when,
// so it counts them and returns a vector that names its text. The Worker end to end (the real
// remote embedder, workerd, PostgreSQL) is test/edge.test.ts.
function countingEmbedder(fail = false) {
  const calls: string[][] = [];
  const embedder: Embedder = {
    modelId: 'm',
    dimension: 1,
    async embed(texts) {
      calls.push([...texts]);
      if (fail) throw new Error('embeddings endpoint down');
      return texts.map((t) => Float32Array.of(t.length));
    },
  };
  return { embedder, calls };
}

const retrieve = (body: unknown, headers: Record<string, string> = { authorization: 'Bearer cp_live_x' }) => {
  const text = JSON.stringify(body);
  return new Request('https://edge.example/v1/retrieve', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': String(text.length), ...headers },
    body: text,
  });
};

describe('the edge prefetches the query vector as a paid retrieve arrives', () => {
  it('embeds the query once, before the service asks, and leaves the request body readable', async () => {
    const { embedder, calls } = countingEmbedder();
    const request = retrieve({ query: 'why are there tides', topK: 3 });
    const prefetched = prefetchQueryVector(request, embedder)!;
    expect(await request.json()).toEqual({ query: 'why are there tides', topK: 3 });
    await prefetched.vectors;
    expect(calls).toEqual([['why are there tides']]);
    const e = withPrefetched(embedder, prefetched);
    expect([...(await e.embed(['why are there tides']))[0]!]).toEqual([19]);
    expect(calls).toHaveLength(1); // served from the prefetch
    await e.embed(['why are there tides']); // a second ask is a real call
    await e.embed(['other']);
    expect(calls).toEqual([['why are there tides'], ['why are there tides'], ['other']]);
  });

  it('prefetches nothing for requests without credentials, other routes, or bodies without a query', async () => {
    const { embedder, calls } = countingEmbedder();
    expect(prefetchQueryVector(retrieve({ query: 'tides' }, {}), embedder)).toBeUndefined();
    expect(prefetchQueryVector(new Request('https://edge.example/v1/usage'), embedder)).toBeUndefined();
    const big = retrieve({ query: 'x'.repeat(20_000) });
    expect(prefetchQueryVector(big, embedder)).toBeUndefined();
    const noQuery = prefetchQueryVector(retrieve({ topK: 3 }), embedder)!;
    expect(await noQuery.vectors).toBeNull();
    const paid = prefetchQueryVector(retrieve({ query: 'tides' }, { 'payment-signature': 'e30=' }), embedder)!;
    await paid.vectors;
    expect(calls).toEqual([['tides']]);
  });

  it("a failed prefetch is retried when the service asks, so the service sees the endpoint's own error", async () => {
    const { embedder, calls } = countingEmbedder(true);
    const prefetched = prefetchQueryVector(retrieve({ query: 'tides' }), embedder)!;
    expect(await prefetched.vectors).toBeNull();
    await expect(withPrefetched(embedder, prefetched).embed(['tides'])).rejects.toThrow('embeddings endpoint down');
    expect(calls).toHaveLength(2);
  });
});
