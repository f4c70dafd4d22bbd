import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidInput } from '../errors.ts';
import { createPineconeIndex, flattenMetadata, toPineconeFilter } from './pinecone.ts';
import { matches, startFakePinecone, type FakePinecone, type RecordedRequest } from '../../test/fake-pinecone.ts';

// The fake is only as good as its likeness to Pinecone: every request the adapter makes with the
// official client is recorded and compared with test/fixtures/pinecone-requests.json (the method,
// path, query parameter names, body keys and API version the real client sends). A client upgrade
// that changes the wire format fails here; `UPDATE_FIXTURES=1` rewrites the file after a review.
const FIXTURE = new URL('../../test/fixtures/pinecone-requests.json', import.meta.url);

describe('Pinecone adapter on the official client', () => {
  let fake: FakePinecone;
  beforeAll(async () => {
    fake = await startFakePinecone({ dimension: 3 });
  });
  afterAll(() => fake.close());

  it('sends exactly the recorded request shapes for every operation of the port', async () => {
    const index = createPineconeIndex({ indexHost: fake.host, apiKey: fake.apiKey });
    const v = Float32Array.from([1, 0, 0]);
    const chunk = { chunkId: 'chk_1', documentId: 'doc_1', datanetId: 'dn_1' };
    await index.prepare('m', 3);
    await index.upsert('m', [{ ...chunk, vector: v, metadata: { topic: 'x', tags: ['a', 'b'], n: 2 } }]);
    await index.upsertDocuments('m', [{ documentId: 'doc_1', datanetId: 'dn_1', vector: v, metadata: { topic: 'x' } }]);
    expect(await index.search('m', 3, v, 5, { datanetIds: ['dn_1'], metadata: { topic: 'x', tags: ['a'] } })).toEqual([
      { chunkId: 'chk_1', similarity: 1 },
    ]);
    expect(await index.search('m', 3, v, 5, { datanetIds: ['dn_1'], metadata: { topic: 'y' } })).toEqual([]);
    expect(await index.searchDocuments('m', 3, v, 5, { datanetIds: ['dn_1'] })).toEqual([
      { documentId: 'doc_1', score: 1 },
    ]);
    expect(await index.nearestChunkPerDocument('m', 3, v, ['doc_1'], ['dn_1'])).toEqual(new Map([['doc_1', 'chk_1']]));
    expect([...(await index.vectorsOf('m', [chunk])).keys()]).toEqual(['chk_1']);
    expect(await index.missingChunks('m', [chunk, { ...chunk, chunkId: 'chk_2' }])).toEqual(['chk_2']);
    expect(await index.countChunks('m', 'dn_1')).toBe(1);
    expect(await index.missingDocuments('m', 'dn_1', ['doc_1', 'doc_2'])).toEqual(['doc_2']);
    await index.deleteByDocument({ documentId: 'doc_1', datanetId: 'dn_1', models: ['m'] });
    expect(await index.countChunks('m', 'dn_1')).toBe(0);
    await index.upsert('m', [{ ...chunk, vector: v }]);
    await index.dropModel('m', 'dn_1');
    expect(fake.namespaces.get('c:m:dn_1')).toBeUndefined();

    const shapes = uniqueShapes(fake.requests);
    if (process.env.UPDATE_FIXTURES) writeFileSync(FIXTURE, `${JSON.stringify(shapes, null, 2)}\n`);
    expect(shapes).toEqual(JSON.parse(readFileSync(FIXTURE, 'utf8')) as RecordedRequest[]);
  });

  it('is refused with a wrong API key, and the key is not in the error', async () => {
    const index = createPineconeIndex({ indexHost: fake.host, apiKey: 'pc-wrong-secret' });
    const err = await index.countChunks('m', 'dn_1').catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).not.toContain('pc-wrong-secret');
  });
});

describe("metadata filters in Pinecone's language", () => {
  it('translates containment', () => {
    expect(toPineconeFilter({ topic: 'cooking' })).toEqual({ 'm.topic': { $eq: 'cooking' } });
    expect(toPineconeFilter({ topic: 'cooking', tags: ['a', 'b'], meta: { year: 2020 } })).toEqual({
      $and: [
        { 'm.topic': { $eq: 'cooking' } },
        { 'm.tags[]': { $in: ['a'] } },
        { 'm.tags[]': { $in: ['b'] } },
        { 'm.meta.year': { $eq: 2020 } },
      ],
    });
    for (const bad of [{ n: [1, 2] }, { k: null }, { k: [] }, { k: {} }, { 'a.b': 'x' }])
      expect(() => toPineconeFilter(bad)).toThrow(InvalidInput); // the caller's input: a 400
  });

  // The same answer as PostgreSQL's jsonb containment (pgvector's filter), a key being a scalar in one
  // document and a list or an object in another included.
  it("matches what jsonb @> matches (property, over the fake's filter evaluation)", () => {
    const scalar = fc.oneof(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 3 }), fc.boolean());
    const list = (minLength: number) => fc.uniqueArray(fc.constantFrom('a', 'b', 'c'), { minLength, maxLength: 3 });
    const record = (minList: number) =>
      fc.dictionary(fc.constantFrom('k1', 'k2', 'k3'), fc.oneof(scalar, list(minList), fc.record({ x: scalar })), {
        maxKeys: 3,
      });
    fc.assert(
      fc.property(record(0), record(1), (doc, filter) => {
        if (Object.keys(filter).length === 0) return;
        expect(matches(flattenMetadata(doc), toPineconeFilter(filter) as Record<string, unknown>)).toBe(
          jsonbContains(doc, filter),
        );
      }),
      { numRuns: 2000 },
    );
  });
});

function uniqueShapes(requests: readonly RecordedRequest[]): RecordedRequest[] {
  const seen = new Map<string, RecordedRequest>();
  for (const r of requests) seen.set(JSON.stringify(r), r);
  return [...seen.values()].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** PostgreSQL's jsonb @> for objects of scalars and arrays of scalars. */
function jsonbContains(doc: Record<string, unknown>, filter: Record<string, unknown>): boolean {
  return Object.entries(filter).every(([k, want]) => {
    const have = doc[k];
    if (Array.isArray(want)) return Array.isArray(have) && want.every((w) => have.includes(w));
    if (want && typeof want === 'object')
      return (
        !!have &&
        typeof have === 'object' &&
        jsonbContains(have as Record<string, unknown>, want as Record<string, unknown>)
      );
    return have === want;
  });
}
