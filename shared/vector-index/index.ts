import type { Queryable } from '../db/index.ts';

// VectorIndex port. Hits carry only chunk ids: the caller hydrates them from the
// database, which also drops anything deleted since it was indexed.
export interface VectorRecord {
  chunkId: string;
  datanetId: string;
  documentId: string;
  vector: Float32Array;
  /** the document's metadata, for indexes that filter on it themselves (pgvector joins the documents table) */
  metadata?: Record<string, unknown> | undefined;
}

export interface VectorFilter {
  datanetIds?: readonly string[] | undefined;
  /** JSON containment on the document's metadata. */
  metadata?: Record<string, unknown> | undefined;
}

export interface VectorHit {
  chunkId: string;
  similarity: number; // cosine similarity in [-1, 1]
}

/** Where a chunk lives: an index outside the database keys and partitions its vectors by these. */
export interface ChunkRef {
  chunkId: string;
  documentId: string;
  datanetId: string;
}

/** A document's own vector (title + summary, see core/document-fields.ts), searched beside its chunks'. */
export interface DocumentVectorRecord {
  documentId: string;
  datanetId: string;
  vector: Float32Array;
  metadata?: Record<string, unknown> | undefined;
}

export interface DocumentHit {
  documentId: string;
  score: number; // cosine similarity
}

/**
 * The only door to vectors: every read and write of chunk and document vectors goes through it, so
 * an index outside the database (Pinecone) can hold them. Vectors are kept per embedding model and
 * never mixed. `tx` lets a database-backed index take part in the caller's transaction; other
 * indexes ignore it (callers write the database first, then the index, and re-embedding repairs gaps).
 */
export interface VectorIndex {
  readonly kind: string;
  /** writes take part in the caller's database transaction (pgvector); otherwise deletes go after the commit */
  readonly sharesDatabase: boolean;
  /**
   * Set by an index whose searches are database functions (pgvector: migration 0095's
   * pgvector_chunk_hits, pgvector_document_hits, pgvector_nearest_chunks), so a store may call
   * them inside its own statement and a whole search is one round trip (shared/store/search.ts).
   */
  readonly inDatabase?: { efSearch: number } | undefined;
  /** Get ready to hold `model`'s vectors (e.g. build its ANN index) before the first upsert. */
  prepare(model: string, dimension: number): Promise<void>;
  upsert(model: string, records: readonly VectorRecord[], tx?: Queryable): Promise<void>;
  /** The chunks nearest `vector`, best first. */
  search(model: string, dimension: number, vector: Float32Array, k: number, filter: VectorFilter): Promise<VectorHit[]>;
  /** For each of `documentIds` (within `datanetIds`), its chunk nearest `vector`; documents with no vectors are absent. */
  nearestChunkPerDocument(
    model: string,
    dimension: number,
    vector: Float32Array,
    documentIds: readonly string[],
    datanetIds: readonly string[],
  ): Promise<Map<string, string>>;
  /** The stored vectors of these chunks (for near-duplicate checks); chunks without one are absent. */
  vectorsOf(model: string, chunks: readonly ChunkRef[]): Promise<Map<string, Float32Array>>;
  /** Which of these chunks (ids) have no `model` vector yet (re-embedding's work list). */
  missingChunks(model: string, chunks: readonly ChunkRef[], tx?: Queryable): Promise<string[]>;
  /** How many of the datanet's chunks have a `model` vector. */
  countChunks(model: string, datanetId: string, tx?: Queryable): Promise<number>;
  upsertDocuments(model: string, records: readonly DocumentVectorRecord[], tx?: Queryable): Promise<void>;
  /** The documents whose own vectors are nearest `vector`, best first (ties by id). */
  searchDocuments(
    model: string,
    dimension: number,
    vector: Float32Array,
    k: number,
    filter: VectorFilter,
  ): Promise<DocumentHit[]>;
  missingDocuments(model: string, datanetId: string, documentIds: readonly string[], tx?: Queryable): Promise<string[]>;
  /** A document's chunk and document vectors, for `models` (the datanet's and any it is moving to; pgvector deletes every model). */
  deleteByDocument(
    document: { documentId: string; datanetId: string; models: readonly string[] },
    tx?: Queryable,
  ): Promise<void>;
  /** A datanet's vectors of one model, chunk and document (after it moved to another model). */
  dropModel(model: string, datanetId: string): Promise<void>;
}

/** Model ids are interpolated into SQL (partial-index predicates need literals), so keep them tame. */
export function assertModelId(model: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(model)) throw new Error(`invalid embedding model id: ${model}`);
}
