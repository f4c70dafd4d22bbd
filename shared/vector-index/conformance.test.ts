import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../services/container.ts';
import type { ChunkRef, VectorIndex } from './index.ts';
import { createTestServices, TEST_DB } from '../../test/services.ts';
import { createWorld, httpClient, type Client } from '../../test/http.ts';
import { DOCS } from '../../test/fixtures.ts';
import { startFakePinecone, type FakePinecone } from '../../test/fake-pinecone.ts';
import { cosine } from '../../test/embedder-parity.ts';

// One conformance suite for the VectorIndex port, run on every adapter: pgvector (on PGlite, and on
// the real PostgreSQL server in the "postgres" project) and Pinecone (the official client against
// test/fake-pinecone.ts, a named fake: Pinecone has no local emulator). Documents go in through the
// real ingestion path, so the port is exercised as the services use it.
const ADAPTERS = [
  { name: `pgvector (${TEST_DB})`, pinecone: false },
  { name: 'pinecone (official client → fake data plane)', pinecone: true },
] as const;

describe.each(ADAPTERS)('VectorIndex conformance: $name', ({ pinecone }) => {
  let fake: FakePinecone | undefined;
  let services: Services;
  let index: VectorIndex;
  let client: Client;
  let world: Awaited<ReturnType<typeof createWorld>>;
  let model: string;
  let dimension: number;
  const docs: Record<'bread' | 'tides' | 'bikes', string> = { bread: '', tides: '', bikes: '' };
  let chunksOf: (documentId: string) => Promise<ChunkRef[]>;
  const embed = async (text: string) => (await services.embedder.embed([text]))[0]!;

  beforeAll(async () => {
    let env: Record<string, string> = {};
    if (pinecone) {
      fake = await startFakePinecone({ dimension: 512 });
      env = { VECTOR_INDEX: 'pinecone', PINECONE_API_KEY: fake.apiKey, PINECONE_INDEX_HOST: fake.host };
    }
    services = await createTestServices(env); // through the composition root: config picks the adapter
    index = services.vectorIndex;
    expect(index.kind).toBe(pinecone ? 'pinecone' : 'pgvector');
    model = services.embedder.modelId;
    dimension = services.embedder.dimension;
    client = httpClient(services);
    world = await createWorld(services, { credits: '1000000', price: '1000' });
    const upload = async (datanet: string, key: string, doc: (typeof DOCS)[keyof typeof DOCS]) =>
      (await client.call('POST', `/v1/datanets/${datanet}/documents`, { key, json: doc })).body.document.id as string;
    docs.bread = await upload(world.ada.datanet, world.ada.key, DOCS.bread);
    docs.tides = await upload(world.ada.datanet, world.ada.key, DOCS.tides);
    docs.bikes = await upload(world.bob.datanet, world.bob.key, DOCS.bikes);
    chunksOf = async (documentId) =>
      (
        await services.db.query<{ id: string; datanet_id: string }>(
          `SELECT id, datanet_id FROM chunks WHERE document_id = $1 ORDER BY ordinal`,
          [documentId],
        )
      ).rows.map((r) => ({ chunkId: r.id, documentId, datanetId: r.datanet_id }));
  });
  afterAll(async () => {
    await services?.db.close();
    await fake?.close();
  });

  const documentOf = async (chunkId: string) =>
    (await services.db.query<{ document_id: string }>(`SELECT document_id FROM chunks WHERE id = $1`, [chunkId]))
      .rows[0]?.document_id;

  it('searches chunks best first, within the given datanets and metadata', async () => {
    const q = await embed('how do I fix a flat bicycle tyre?');
    const hits = await index.search(model, dimension, q, 10, { datanetIds: [world.ada.datanet, world.bob.datanet] });
    expect(hits.length).toBeGreaterThan(3);
    expect(await documentOf(hits[0]!.chunkId)).toBe(docs.bikes);
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.similarity).toBeGreaterThanOrEqual(hits[i]!.similarity);
    for (const h of hits) expect(Math.abs(h.similarity)).toBeLessThanOrEqual(1.000001);

    const adaOnly = await index.search(model, dimension, q, 10, { datanetIds: [world.ada.datanet] });
    expect(adaOnly.length).toBeGreaterThan(0);
    for (const h of adaOnly) expect([docs.bread, docs.tides]).toContain(await documentOf(h.chunkId));

    const cooking = await index.search(model, dimension, q, 10, {
      datanetIds: [world.ada.datanet, world.bob.datanet],
      metadata: { topic: 'cooking' },
    });
    expect(cooking.length).toBeGreaterThan(0);
    for (const h of cooking) expect(await documentOf(h.chunkId)).toBe(docs.bread);
  });

  it("returns stored vectors: a hit's similarity is the cosine of the query and its vector", async () => {
    const q = await embed('patching an inner tube');
    const hits = await index.search(model, dimension, q, 3, { datanetIds: [world.bob.datanet] });
    const refs = await chunksOf(docs.bikes);
    const vectors = await index.vectorsOf(model, refs);
    expect(vectors.size).toBe(refs.length);
    for (const h of hits) expect(cosine(q, vectors.get(h.chunkId)!)).toBeCloseTo(h.similarity, 4);
    for (const v of vectors.values()) expect(v.length).toBe(dimension);
    expect((await index.vectorsOf('no-such-model', refs)).size).toBe(0);
  });

  it("finds each document's chunk nearest the query", async () => {
    const q = await embed('feed the sourdough starter flour and water');
    const nearest = await index.nearestChunkPerDocument(
      model,
      dimension,
      q,
      [docs.bread, docs.bikes],
      [world.ada.datanet, world.bob.datanet],
    );
    expect([...nearest.keys()].sort()).toEqual([docs.bread, docs.bikes].sort());
    for (const documentId of [docs.bread, docs.bikes]) {
      const refs = await chunksOf(documentId);
      const vectors = await index.vectorsOf(model, refs);
      const best = refs
        .map((r) => ({ id: r.chunkId, s: cosine(q, vectors.get(r.chunkId)!) }))
        .sort((a, b) => b.s - a.s)[0]!;
      expect(nearest.get(documentId)).toBe(best.id);
    }
  });

  it('searches document vectors, with metadata', async () => {
    const q = await embed('spring and neap tides');
    const hits = await index.searchDocuments(model, dimension, q, 5, {
      datanetIds: [world.ada.datanet, world.bob.datanet],
    });
    expect(hits.map((h) => h.documentId).sort()).toEqual(Object.values(docs).sort());
    expect(hits[0]!.documentId).toBe(docs.tides);
    const cycling = await index.searchDocuments(model, dimension, q, 5, {
      datanetIds: [world.ada.datanet, world.bob.datanet],
      metadata: { topic: 'cycling' },
    });
    expect(cycling.map((h) => h.documentId)).toEqual([docs.bikes]);
  });

  it('tells re-embedding what is missing, counts, and drops one model of one datanet', async () => {
    const refs = await chunksOf(docs.bikes);
    expect(await index.missingChunks(model, refs)).toEqual([]);
    expect((await index.missingChunks('copy-model', refs)).sort()).toEqual(refs.map((r) => r.chunkId).sort());
    expect(await index.countChunks(model, world.bob.datanet)).toBe(refs.length);
    expect(await index.missingDocuments(model, world.bob.datanet, [docs.bikes])).toEqual([]);
    expect(await index.missingDocuments('copy-model', world.bob.datanet, [docs.bikes])).toEqual([docs.bikes]);

    await index.prepare('copy-model', dimension);
    const vectors = await index.vectorsOf(model, refs);
    await index.upsert(
      'copy-model',
      refs.slice(0, 1).map((r) => ({ ...r, vector: vectors.get(r.chunkId)! })),
    );
    await index.upsertDocuments('copy-model', [
      { documentId: docs.bikes, datanetId: world.bob.datanet, vector: vectors.get(refs[0]!.chunkId)! },
    ]);
    expect(await index.missingChunks('copy-model', refs)).toEqual(refs.slice(1).map((r) => r.chunkId));
    expect(await index.countChunks('copy-model', world.bob.datanet)).toBe(1);
    expect(await index.missingDocuments('copy-model', world.bob.datanet, [docs.bikes])).toEqual([]);

    await index.dropModel('copy-model', world.bob.datanet);
    expect(await index.countChunks('copy-model', world.bob.datanet)).toBe(0);
    expect(await index.missingDocuments('copy-model', world.bob.datanet, [docs.bikes])).toEqual([docs.bikes]);
    expect(await index.countChunks(model, world.bob.datanet)).toBe(refs.length); // the other model untouched
  });

  it('serves POST /v1/retrieve end to end', async () => {
    const r = await client.call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      json: { query: 'mend a bicycle puncture', topK: 2 },
    });
    expect(r.status).toBe(200);
    expect(r.body.sources[0].documentId).toBe(docs.bikes);
    // The metadata filter holds end to end: the best match outside it is never returned (and a
    // cooking document is no answer to a bicycle question: below the relevance floor, so nothing is).
    const filtered = await client.call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      json: { query: 'mend a bicycle puncture', topK: 2, filter: { metadata: { topic: 'cooking' } } },
    });
    expect(filtered.body.sources.map((s: { documentId: string }) => s.documentId)).not.toContain(docs.bikes);
    const cooking = await client.call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      json: { query: 'what is a sourdough starter made of?', topK: 2, filter: { metadata: { topic: 'cooking' } } },
    });
    expect(cooking.body.sources.map((s: { documentId: string }) => s.documentId)).toEqual([docs.bread]);
  });

  it("deletes a document's chunk and document vectors", async () => {
    const refs = await chunksOf(docs.bikes);
    const del = await client.call('DELETE', `/v1/documents/${docs.bikes}`, { key: world.bob.key }); // through the service, in its transaction
    expect(del.status).toBe(200);
    const q = await embed('how do I fix a flat bicycle tyre?');
    expect(await index.search(model, dimension, q, 10, { datanetIds: [world.bob.datanet] })).toEqual([]);
    expect(await index.searchDocuments(model, dimension, q, 10, { datanetIds: [world.bob.datanet] })).toEqual([]);
    expect(await index.countChunks(model, world.bob.datanet)).toBe(0);
    expect((await index.vectorsOf(model, refs)).size).toBe(0);
    expect(await index.countChunks(model, world.ada.datanet)).toBeGreaterThan(0); // others untouched
  });
});
