import { BM25_B, BM25_K1, selectQueryTerms } from '../core/bm25.ts';
import {
  rankDocuments,
  resolveIndexSettings,
  type Candidates,
  type ChunkHit,
  type IndexSettings,
  type RankedDocument,
} from '../core/document-ranking.ts';
import { findNearDuplicates } from '../core/near-duplicates.ts';
import { aboveFloor } from '../core/relevance-floor.ts';
import type { RetrievedSource } from '../core/sources.ts';
import { chunkBm25, fieldSearch, termStats } from '../store/lexical.ts';
import { chunkInfo, chunkOrigins, firstChunks, hydrateChunks, type HydratedRow } from '../store/retrieval-chunks.ts';
import type { Queryable } from '../db/index.ts';
import { DomainError, NotFound, Unavailable } from '../errors.ts';
import { findDatanets, listDatanets, type Datanet } from '../store/datanets.ts';
import { searchCandidates, searchScope, searchSources, type DuplicateFacts } from '../store/search.ts';
import type { VectorFilter } from '../vector-index/index.ts';
import type { Services } from './container.ts';

export interface RetrieveInput {
  query: string;
  datanetIds?: readonly string[] | undefined;
  topK: number;
  metadata?: Record<string, unknown> | undefined;
  /** sources per document (default: the datanets' index settings, 1) */
  perDocument?: number | undefined;
}

export type { RetrievedSource };

const CANDIDATES = 100; // chunks per chunk retriever, before fusion
const DOCUMENT_CANDIDATES = 50; // documents per document retriever

export async function resolveDatanets(db: Queryable, ids: readonly string[] | undefined): Promise<Datanet[]> {
  if (!ids || ids.length === 0) return listDatanets(db);
  const unique = [...new Set(ids)];
  const found = await findDatanets(db, unique);
  const missing = unique.filter((id) => !found.some((d) => d.id === id));
  if (missing.length > 0)
    throw new NotFound(
      `unknown datanet${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`,
      'datanet',
      missing.join(','),
    );
  return found;
}

/** Datanets searched together share their settings when they agree; otherwise the defaults apply. */
export function settingsFor(datanets: readonly Datanet[]): IndexSettings {
  const distinct = new Set(datanets.map((d) => JSON.stringify(d.indexSettings ?? {})));
  return resolveIndexSettings(distinct.size === 1 ? datanets[0]!.indexSettings : {});
}

/** How retrieve() fetches its lists: folded into three statements, or port call by port call. */
export type SearchPath = 'in-database' | 'port';

/**
 * The folded search (store/search.ts) needs the index inside the database (pgvector), and pays off
 * where a statement is a round trip: PostgreSQL over a socket, the edge Worker's over the network
 * (issue 18). PGlite runs in this process, so a statement costs no trip there, and the port path
 * runs its lexical statements while the query is being embedded, which the folded statement cannot
 * (it needs the vector). Measured on PGlite, npm docs in three datanets, 48 questions, alternating
 * (bench/lab/retrieve-paths.ts): retrieve p50 112–202 ms folded vs 94–139 ms port by port.
 */
export function searchPath(services: Services): SearchPath {
  return services.vectorIndex.inDatabase && services.db.kind === 'pg' ? 'in-database' : 'port';
}

/**
 * Retrieval ranks documents, then returns their best passages: BM25 and dense chunk lists
 * (boilerplate down-weighted, collapsed per document) fused with a BM25 list over document
 * fields and a list of document vectors, weighted by the datanets' index settings.
 * `path` defaults to the database's (searchPath); both return the same sources.
 */
export async function retrieve(
  services: Services,
  input: RetrieveInput,
  path: SearchPath = searchPath(services),
): Promise<RetrievedSource[]> {
  const index = services.vectorIndex.inDatabase;
  if (path === 'in-database') {
    if (!index) throw new Error('the in-database search needs a vector index inside the database (pgvector)');
    return retrieveInDatabase(services, input, index);
  }
  const datanets = await resolveDatanets(services.db, input.datanetIds);
  if (datanets.length === 0) return [];
  const settings = settingsFor(datanets);
  const gathered = await gatherCandidates(services, datanets, input.query, input.metadata);
  const ranked = aboveFloor(rankDocuments(gathered.candidates, settings), settings.floor);
  return selectSources(services, gathered, ranked, input.topK, input.perDocument ?? settings.perDocument);
}

export interface Gathered {
  candidates: Candidates;
  /** the query's vector per embedding model, and the datanets searched with it */
  queries: { model: string; vector: Float32Array; datanetIds: string[] }[];
  similarity: Map<string, number>;
  /** fetched with the candidates (an index inside the database): the passages of documents only document lists found */
  nearest?: { perModel: Map<string, string>[]; first: Map<string, string> } | undefined;
}

/**
 * The same search as below in three statements (issue 18), when the vector index lives in the
 * database: the datanets and term statistics, then every list at once, then the picked passages.
 * The query is embedded while the first statement runs. The ranking is core's, as below.
 */
async function retrieveInDatabase(
  services: Services,
  input: RetrieveInput,
  index: { efSearch: number },
): Promise<RetrievedSource[]> {
  const ids = input.datanetIds && input.datanetIds.length > 0 ? [...new Set(input.datanetIds)] : [];
  // Start embedding with the default model now (most datanets use it), beside the first statement;
  // other models once the datanets are known (loading one is costly: only when a datanet uses it).
  const early = embedQuery(services, services.embedders.defaultModel, input.query);
  early.catch(() => {}); // awaited below when a datanet uses the model
  const scope = await searchScope(services.db, input.query, ids);
  const missing = ids.filter((id) => !scope.datanets.some((d) => d.id === id));
  if (missing.length > 0)
    throw new NotFound(
      `unknown datanet${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`,
      'datanet',
      missing.join(','),
    );
  const datanets = scope.datanets;
  if (datanets.length === 0) return [];
  const settings = settingsFor(datanets);
  const datanetIds = datanets.map((d) => d.id);
  const byModel = new Map<string, string[]>();
  for (const d of datanets) byModel.set(d.embeddingModel, [...(byModel.get(d.embeddingModel) ?? []), d.id]);
  const served = [...byModel].filter(([model]) => services.embedders.ids().includes(model)); // others: lexical still covers them
  const queries = await Promise.all(
    served.map(async ([model, group]) => ({
      model,
      ...(await (model === services.embedders.defaultModel ? early : embedQuery(services, model, input.query))),
      datanetIds: group,
    })),
  );
  const rows = await fromIndex(
    services,
    searchCandidates(services.db, {
      query: input.query,
      datanetIds,
      metadata: input.metadata,
      terms: selectQueryTerms(scope.stats).map((t) => ({ lexeme: t.lexeme, weight: t.idf })),
      averageLength: scope.stats.averageLength,
      chunkK: CANDIDATES,
      documentK: DOCUMENT_CANDIDATES,
      fields: { k1: BM25_K1, b: BM25_B },
      dense: queries.map((q) => ({
        model: q.model,
        dimension: q.dimension,
        vector: `[${Array.prototype.join.call(q.vector, ',')}]`,
        datanetIds: q.datanetIds,
      })),
      efSearch: index.efSearch,
    }),
  );
  // relaxed_order may return a page slightly out of order: sort it, as the adapter does.
  const dense = rows.dense.map((list) =>
    list.map((h) => ({ chunkId: h.chunkId, similarity: 1 - h.distance })).sort((a, b) => b.similarity - a.similarity),
  );
  const gathered: Gathered = {
    candidates: {
      lexical: rows.lexical,
      dense: dense.map((list) => list.map((h) => ({ chunkId: h.chunkId, score: h.similarity }))),
      fields: rows.fields,
      docDense: rows.docDense.map((list) => list.map((h) => ({ documentId: h.documentId, score: 1 - h.distance }))),
      chunks: new Map(
        rows.chunks.map((c) => [
          c.id,
          { documentId: c.documentId, copies: Math.max(1, c.copies), chunkCount: c.chunkCount },
        ]),
      ),
    },
    queries: queries.map(({ model, vector, datanetIds: group }) => ({ model, vector, datanetIds: group })),
    similarity: new Map(dense.flatMap((list) => list.map((h) => [h.chunkId, h.similarity] as const))),
    nearest: { perModel: rows.nearest, first: rows.firstChunk },
  };
  const ranked = aboveFloor(rankDocuments(gathered.candidates, settings), settings.floor);
  return selectSources(services, gathered, ranked, input.topK, input.perDocument ?? settings.perDocument);
}

async function embedQuery(
  services: Services,
  model: string,
  query: string,
): Promise<{ vector: Float32Array; dimension: number }> {
  const embedder = await services.embedders.get(model);
  const [vector] = await embedder.embed([query]);
  return { vector: vector!, dimension: embedder.dimension };
}

/** Retry-After for a vector index that failed (Pinecone unreachable, pgvector erroring). */
const INDEX_RETRY_AFTER_SECONDS = 5;

/**
 * A vector index call. Its failure is a dependency being down, not a bug of the request: a 503
 * with Retry-After, and (retrieval charges only after it succeeds) nothing charged.
 */
async function fromIndex<T>(services: Services, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof DomainError) throw err; // the database down (pgvector): already a 503
    services.log.error('vector index call failed', { error: (err as Error).message });
    throw new Unavailable('the vector index is unavailable; retry shortly', 'vector-index', INDEX_RETRY_AFTER_SECONDS);
  }
}

/** Every retriever's list for the query, and what fusion needs to know about their chunks. */
export async function gatherCandidates(
  services: Services,
  datanets: readonly Datanet[],
  query: string,
  metadata?: Record<string, unknown>,
): Promise<Gathered> {
  const { db, vectorIndex } = services;
  const datanetIds = datanets.map((d) => d.id);
  const filter: VectorFilter = { datanetIds, metadata };
  // One dense list per embedding model in use (each datanet is searched with its own model's vectors).
  const byModel = new Map<string, string[]>();
  for (const d of datanets) byModel.set(d.embeddingModel, [...(byModel.get(d.embeddingModel) ?? []), d.id]);
  const served = [...byModel].filter(([model]) => services.embedders.ids().includes(model)); // others: lexical still covers them
  const [lexical, fields, ...dense] = await Promise.all([
    lexicalSearch(db, query, CANDIDATES, filter),
    fieldSearch(db, query, DOCUMENT_CANDIDATES, datanetIds, metadata, { k1: BM25_K1, b: BM25_B }),
    ...served.map(async ([model, group]) => {
      const embedder = await services.embedders.get(model);
      const [vector] = await embedder.embed([query]);
      const [chunks, documents] = await Promise.all([
        fromIndex(
          services,
          vectorIndex.search(model, embedder.dimension, vector!, CANDIDATES, { ...filter, datanetIds: group }),
        ),
        fromIndex(
          services,
          vectorIndex.searchDocuments(model, embedder.dimension, vector!, DOCUMENT_CANDIDATES, {
            datanetIds: group,
            metadata,
          }),
        ),
      ]);
      return { model, vector: vector!, datanetIds: group, chunks, documents };
    }),
  ]);
  const denseLists: ChunkHit[][] = dense.map((d) => d.chunks.map((h) => ({ chunkId: h.chunkId, score: h.similarity })));
  const chunks = await chunkInfo(db, [...new Set([...lexical, ...denseLists.flat()].map((h) => h.chunkId))]);
  return {
    candidates: { lexical, dense: denseLists, fields, docDense: dense.map((d) => d.documents), chunks },
    queries: dense.map(({ model, vector, datanetIds: ids }) => ({ model, vector, datanetIds: ids })),
    similarity: new Map(dense.flatMap((d) => d.chunks.map((h) => [h.chunkId, h.similarity] as const))),
  };
}

/** A ranked document: its best chunk (null: found only by a document list) and its fused score. */
type RankedPick = { chunkId: string | null; documentId: string; score: number; ranks: Record<string, number> };

/** The best `perDocument` passages of the best documents, `topK` in all, hydrated and checked for copies. */
export async function selectSources(
  services: Services,
  gathered: Gathered,
  ranked: readonly RankedDocument[],
  topK: number,
  perDocument: number,
): Promise<RetrievedSource[]> {
  const picks: RankedPick[] = [];
  for (const doc of ranked) {
    if (picks.length >= topK) break;
    if (doc.chunks.length === 0) {
      picks.push({ chunkId: null, documentId: doc.documentId, score: doc.score, ranks: {} });
      continue;
    }
    const best = doc.chunks[0]!.score;
    for (const c of doc.chunks.slice(0, Math.min(perDocument, topK - picks.length))) {
      picks.push({
        chunkId: c.chunkId,
        documentId: doc.documentId,
        score: best > 0 ? (doc.score * c.score) / best : doc.score,
        ranks: c.ranks,
      });
    }
  }
  // Documents found only by the document lists: their passage nearest the query.
  const missing = picks.filter((p) => p.chunkId === null).map((p) => p.documentId);
  const nearest = gathered.nearest
    ? await prefetchedNearest(services, gathered, missing)
    : await nearestChunks(services, gathered, missing);
  const ids = picks.map((p) => p.chunkId ?? nearest.get(p.documentId)).filter((id): id is string => id !== undefined);
  // The in-database search (it prefetched `nearest`) hydrates with one statement.
  if (gathered.nearest) return sourcesInDatabase(services, gathered, picks, nearest, ids);
  const hydrated = await hydrateChunks(services.db, ids);
  return markDuplicates(services, sourcesOfPicks(gathered, picks, nearest, hydrated));
}

/** Each pick as a source, in rank order, from its hydrated row (a pick whose row is gone was deleted since it was indexed). */
function sourcesOfPicks(
  gathered: Gathered,
  picks: readonly RankedPick[],
  nearest: ReadonlyMap<string, string>,
  rows: ReadonlyMap<string, HydratedRow>,
): RetrievedSource[] {
  const out: RetrievedSource[] = [];
  for (const p of picks) {
    const id = p.chunkId ?? nearest.get(p.documentId);
    const row = id ? rows.get(id) : undefined;
    if (!row) continue;
    out.push({
      ...row,
      score: p.score,
      similarity: gathered.similarity.get(row.chunkId) ?? null,
      ranks: p.ranks,
      duplicateOf: null,
    });
  }
  return out;
}

/** The prefetched nearest passages (later models win, then the first chunk), as nearestChunks finds them. */
async function prefetchedNearest(
  services: Services,
  gathered: Gathered,
  documentIds: readonly string[],
): Promise<Map<string, string>> {
  const { perModel, first } = gathered.nearest!;
  const out = new Map<string, string>();
  const unknown: string[] = [];
  for (const documentId of documentIds) {
    let found: string | undefined;
    for (const m of perModel) found = m.get(documentId) ?? found;
    found ??= first.get(documentId);
    if (found) out.set(documentId, found);
    else unknown.push(documentId); // not prefetched (a document with a candidate chunk that ranking left out): ask
  }
  if (unknown.length > 0) for (const [d, c] of await nearestChunks(services, gathered, unknown)) out.set(d, c);
  return out;
}

/** The picks hydrated and checked for copies with one statement (an index inside the database). */
async function sourcesInDatabase(
  services: Services,
  gathered: Gathered,
  picks: readonly RankedPick[],
  nearest: ReadonlyMap<string, string>,
  ids: readonly string[],
): Promise<RetrievedSource[]> {
  const { sources, facts } = await searchSources(services.db, ids, ids.length > 1);
  const out = sourcesOfPicks(gathered, picks, nearest, sources);
  if (out.length < 2) return out;
  return withDuplicates(out, (chunkId) => facts.get(chunkId));
}

async function nearestChunks(
  services: Services,
  gathered: Gathered,
  documentIds: readonly string[],
): Promise<Map<string, string>> {
  const { db } = services;
  const out = new Map<string, string>();
  if (documentIds.length === 0) return out;
  for (const q of gathered.queries) {
    const found = await fromIndex(
      services,
      services.vectorIndex.nearestChunkPerDocument(q.model, q.vector.length, q.vector, documentIds, q.datanetIds),
    );
    for (const [documentId, chunkId] of found) out.set(documentId, chunkId);
  }
  const rest = documentIds.filter((d) => !out.has(d));
  if (rest.length > 0) {
    for (const [documentId, chunkId] of await firstChunks(db, rest)) out.set(documentId, chunkId);
  }
  return out;
}

/** Copies across documents (same content, or near-identical embeddings) point at the earliest upload. */
async function markDuplicates(services: Services, sources: RetrievedSource[]): Promise<RetrievedSource[]> {
  const { db } = services;
  if (sources.length < 2) return sources;
  const origins = await chunkOrigins(
    db,
    sources.map((s) => s.chunkId),
  );
  const byChunk = new Map(origins.map((row) => [row.chunk_id, row]));
  // Each chunk's vector in its own datanet's model (copies are only compared within one model).
  const vectors = new Map<string, Float32Array>();
  for (const model of new Set(origins.map((row) => row.model))) {
    const refs = origins
      .filter((row) => row.model === model)
      .map((row) => ({ chunkId: row.chunk_id, documentId: row.document_id, datanetId: row.datanet_id }));
    for (const [id, v] of await fromIndex(services, services.vectorIndex.vectorsOf(model, refs))) vectors.set(id, v);
  }
  return withDuplicates(sources, (chunkId) => {
    const row = byChunk.get(chunkId);
    return (
      row && {
        contentHash: row.content_hash,
        createdAt: row.created_at,
        model: row.model,
        vector: vectors.get(chunkId) ?? null,
      }
    );
  });
}

function withDuplicates(sources: RetrievedSource[], factsOf: (chunkId: string) => DuplicateFacts | undefined) {
  const duplicateOf = findNearDuplicates(
    sources.map((s) => {
      const row = factsOf(s.chunkId);
      return {
        documentId: s.documentId,
        contentKey: `${row?.contentHash ?? s.documentId}:${s.start}-${s.end}`,
        uploadedAt: row?.createdAt.getTime() ?? Number.MAX_SAFE_INTEGER,
        vector: row?.vector ? Array.from(row.vector) : null,
        model: row?.model ?? '',
      };
    }),
  );
  return sources.map((s, i) => ({ ...s, duplicateOf: duplicateOf[i] ?? null }));
}

/**
 * BM25 from the chunk_terms postings: the rarest query terms are looked up by index and
 * each chunk scored from its stored term frequency and length (see core/bm25.ts).
 */
export async function lexicalSearch(
  db: Queryable,
  query: string,
  k: number,
  filter: VectorFilter,
): Promise<ChunkHit[]> {
  const datanetIds = filter.datanetIds ?? [];
  const stats = await termStats(db, query, datanetIds);
  const terms = selectQueryTerms(stats).map((t) => ({ lexeme: t.lexeme, weight: t.idf }));
  return chunkBm25(db, terms, stats.averageLength, k, datanetIds, filter.metadata);
}
