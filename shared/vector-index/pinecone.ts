import { Pinecone, type Index, type RecordMetadata } from '@pinecone-database/pinecone';
import type { DocumentHit, VectorFilter, VectorHit, VectorIndex } from './index.ts';
import { assertModelId } from './index.ts';
import { InvalidInput } from '../errors.ts';

// Pinecone (the official client, data plane only: the index host is given, so no control-plane
// call is made; fetch only, so it also runs in a Worker). Layout:
// - one namespace per datanet and embedding model for chunks (`c:<model>:<datanet>`) and one for
//   document vectors (`d:<model>:<datanet>`), so a model's vectors never mix and a datanet moving
//   to another model drops whole namespaces;
// - chunk record ids `<documentId>#<chunkId>`: deleting a document lists its ids by prefix (works on
//   serverless indexes, which cannot delete by metadata filter);
// - metadata: the document's own metadata flattened under `m.` (scalars and string lists), so
//   metadata filters translate to Pinecone's filter language.
// Lexical search, and every relational fact, stay in PostgreSQL.
export interface PineconeIndexOptions {
  indexHost: string;
  /** secret: sent only as the Api-Key header */
  apiKey: string;
  /** the client's fetch (tests; a Worker's own) */
  fetchApi?: typeof fetch;
}

const UPSERT_BATCH = 80; // a 512-d vector is ~11 KB of JSON (float32 printed in full) plus its metadata: under the 2 MB request limit
const FETCH_BATCH = 100; // ids travel in the query string
const DELETE_BATCH = 1000;
const MAX_TOP_K = 10_000; // without values or metadata in the reply (1,000 with them)

type Meta = RecordMetadata;

export function createPineconeIndex(options: PineconeIndexOptions): VectorIndex {
  const client = new Pinecone({ apiKey: options.apiKey, ...(options.fetchApi ? { fetchApi: options.fetchApi } : {}) });
  const index: Index<Meta> = client.index<Meta>({ host: options.indexHost });
  const chunksNs = (model: string, datanetId: string) => index.namespace(`c:${model}:${datanetId}`);
  const docsNs = (model: string, datanetId: string) => index.namespace(`d:${model}:${datanetId}`);
  const chunkRecordId = (c: { documentId: string; chunkId: string }) => `${c.documentId}#${c.chunkId}`;
  const chunkIdOf = (recordId: string) => recordId.slice(recordId.indexOf('#') + 1);

  const fetchIds = async (ns: ReturnType<typeof chunksNs>, ids: readonly string[]) => {
    const found = new Map<string, number[]>();
    for (let i = 0; i < ids.length; i += FETCH_BATCH) {
      const r = await ns.fetch({ ids: ids.slice(i, i + FETCH_BATCH) as string[] });
      for (const [id, rec] of Object.entries(r.records ?? {})) found.set(id, rec.values ?? []);
    }
    return found;
  };
  const byDatanet = <T extends { datanetId: string }>(items: readonly T[]) => {
    const groups = new Map<string, T[]>();
    for (const item of items) groups.set(item.datanetId, [...(groups.get(item.datanetId) ?? []), item]);
    return groups;
  };

  return {
    kind: 'pinecone',
    sharesDatabase: false,
    async prepare(model, dimension) {
      assertModelId(model);
      const stats = await index.describeIndexStats();
      if (stats.dimension !== undefined && stats.dimension !== dimension)
        throw new Error(
          `the Pinecone index holds ${stats.dimension}-d vectors; embedding model ${model} makes ${dimension}-d ones: use an index of that dimension`,
        );
    },
    async upsert(model, records) {
      assertModelId(model);
      for (const [datanetId, group] of byDatanet(records)) {
        for (let i = 0; i < group.length; i += UPSERT_BATCH) {
          await chunksNs(model, datanetId).upsert({
            records: group.slice(i, i + UPSERT_BATCH).map((r) => ({
              id: chunkRecordId(r),
              values: Array.from(r.vector),
              metadata: { ...flattenMetadata(r.metadata ?? {}), documentId: r.documentId },
            })),
          });
        }
      }
    },
    async search(model, _dimension, vector, k, filter): Promise<VectorHit[]> {
      assertModelId(model);
      const hits = await queryNamespaces(filter, (datanetId) => chunksNs(model, datanetId), vector, k, filter.metadata);
      return hits.map((h) => ({ chunkId: chunkIdOf(h.id), similarity: h.score }));
    },
    async nearestChunkPerDocument(model, _dimension, vector, documentIds, datanetIds) {
      assertModelId(model);
      const out = new Map<string, string>();
      if (documentIds.length === 0) return out;
      for (const datanetId of datanetIds) {
        // Top chunk per document: query with the documents as a filter, keep each document's first match.
        const r = await chunksNs(model, datanetId).query({
          vector: Array.from(vector),
          topK: MAX_TOP_K,
          filter: { documentId: { $in: [...documentIds] } },
        });
        for (const m of r.matches) {
          const documentId = m.id.slice(0, m.id.indexOf('#'));
          if (!out.has(documentId)) out.set(documentId, chunkIdOf(m.id));
        }
      }
      return out;
    },
    async vectorsOf(model, chunks) {
      const out = new Map<string, Float32Array>();
      for (const [datanetId, group] of byDatanet(chunks)) {
        const found = await fetchIds(chunksNs(model, datanetId), group.map(chunkRecordId));
        for (const [id, values] of found) out.set(chunkIdOf(id), Float32Array.from(values));
      }
      return out;
    },
    async missingChunks(model, chunks) {
      const missing: string[] = [];
      for (const [datanetId, group] of byDatanet(chunks)) {
        const found = await fetchIds(chunksNs(model, datanetId), group.map(chunkRecordId));
        for (const c of group) if (!found.has(chunkRecordId(c))) missing.push(c.chunkId);
      }
      return missing;
    },
    async countChunks(model, datanetId) {
      const stats = await index.describeIndexStats();
      return stats.namespaces?.[`c:${model}:${datanetId}`]?.recordCount ?? 0;
    },
    async upsertDocuments(model, records) {
      assertModelId(model);
      for (const [datanetId, group] of byDatanet(records)) {
        for (let i = 0; i < group.length; i += UPSERT_BATCH) {
          await docsNs(model, datanetId).upsert({
            records: group.slice(i, i + UPSERT_BATCH).map((r) => ({
              id: r.documentId,
              values: Array.from(r.vector),
              metadata: { ...flattenMetadata(r.metadata ?? {}), documentId: r.documentId },
            })),
          });
        }
      }
    },
    async searchDocuments(model, _dimension, vector, k, filter): Promise<DocumentHit[]> {
      assertModelId(model);
      const hits = await queryNamespaces(filter, (datanetId) => docsNs(model, datanetId), vector, k, filter.metadata);
      return hits.map((h) => ({ documentId: h.id, score: h.score }));
    },
    async missingDocuments(model, datanetId, documentIds) {
      const found = await fetchIds(docsNs(model, datanetId), documentIds);
      return documentIds.filter((id) => !found.has(id));
    },
    // Namespaces are named from the models the caller knows (index stats can lag behind writes).
    async deleteByDocument({ documentId, datanetId, models }) {
      for (const model of models) {
        await docsNs(model, datanetId).deleteMany({ ids: [documentId] });
        const ns = chunksNs(model, datanetId);
        let paginationToken: string | undefined;
        do {
          const page = await ns.listPaginated({
            prefix: `${documentId}#`,
            ...(paginationToken ? { paginationToken } : {}),
          });
          const ids = (page.vectors ?? []).map((v) => v.id).filter((id): id is string => Boolean(id));
          for (let i = 0; i < ids.length; i += DELETE_BATCH)
            await ns.deleteMany({ ids: ids.slice(i, i + DELETE_BATCH) });
          paginationToken = page.pagination?.next;
        } while (paginationToken);
      }
    },
    async dropModel(model, datanetId) {
      for (const ns of [chunksNs(model, datanetId), docsNs(model, datanetId)]) await ns.deleteAll();
    },
  };

  /** One query per datanet namespace, merged best first (ties by id). */
  async function queryNamespaces(
    filter: VectorFilter,
    namespace: (datanetId: string) => ReturnType<typeof chunksNs>,
    vector: Float32Array,
    k: number,
    metadata: Record<string, unknown> | undefined,
  ): Promise<{ id: string; score: number }[]> {
    const pineconeFilter = metadata && Object.keys(metadata).length > 0 ? toPineconeFilter(metadata) : undefined;
    const lists = await Promise.all(
      (filter.datanetIds ?? []).map(async (datanetId) => {
        const r = await namespace(datanetId).query({
          vector: Array.from(vector),
          topK: k,
          ...(pineconeFilter ? { filter: pineconeFilter } : {}),
        });
        return r.matches.map((m) => ({ id: m.id, score: m.score ?? 0 }));
      }),
    );
    return lists
      .flat()
      .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
      .slice(0, k);
  }
}

/**
 * Document-metadata containment (`{"topic":"cooking","tags":["a"]}`, as PostgreSQL's jsonb `@>`) in
 * Pinecone's filter language, over the fields `flattenMetadata` writes: scalars under `m.<path>`,
 * lists of strings under `m.<path>[]` — apart, because Pinecone's `$eq`/`$in` also match inside a
 * list, where `@>` does not match a scalar against a list or a list against a scalar.
 */
export function toPineconeFilter(metadata: Record<string, unknown>, prefix = 'm.'): object {
  const clauses: object[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    const field = `${prefix}${checkedKey(key)}`;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      clauses.push({ [field]: { $eq: value } });
    else if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string'))
      for (const v of value) clauses.push({ [`${field}[]`]: { $in: [v] } });
    else if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0)
      clauses.push(toPineconeFilter(value as Record<string, unknown>, `${field}.`));
    else
      throw new InvalidFilter(
        `metadata filter on ${key}: with the Pinecone index, filter values are strings, numbers, booleans, non-empty lists of strings and non-empty objects of those`,
      );
  }
  return clauses.length === 1 ? clauses[0]! : { $and: clauses };
}

/** The document's metadata as Pinecone metadata fields; values Pinecone cannot filter on are left out. */
export function flattenMetadata(
  metadata: Record<string, unknown>,
  prefix = 'm.',
): Record<string, string | number | boolean | string[]> {
  const out: Record<string, string | number | boolean | string[]> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (/[.[\]]/.test(key)) continue; // not addressable without ambiguity
    const field = `${prefix}${key}`;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[field] = value;
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) out[`${field}[]`] = value as string[];
    else if (value && typeof value === 'object' && !Array.isArray(value))
      Object.assign(out, flattenMetadata(value as Record<string, unknown>, `${field}.`));
  }
  return out;
}

function checkedKey(key: string): string {
  if (/[.[\]]/.test(key))
    throw new InvalidFilter(
      `metadata filter key ${JSON.stringify(key)}: with the Pinecone index, keys may not contain '.', '[' or ']'`,
    );
  return key;
}

/** A filter the Pinecone index cannot express: the caller's input, so a 400. */
export class InvalidFilter extends InvalidInput {
  constructor(message: string) {
    super(message, 'filter.metadata');
  }
}
