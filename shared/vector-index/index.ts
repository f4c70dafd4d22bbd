import type { Queryable } from '../db/index.ts';

// VectorIndex port. Hits carry only chunk ids: the caller hydrates them from the
// database, which also drops anything deleted since it was indexed.
export interface VectorRecord {
  chunkId: string;
  datanetId: string;
  documentId: string;
  vector: Float32Array;
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

export interface VectorIndex {
  readonly kind: string;
  /** `tx` lets a database-backed index write in the caller's transaction. */
  upsert(model: string, records: readonly VectorRecord[], tx?: Queryable): Promise<void>;
  search(model: string, dimension: number, vector: Float32Array, k: number, filter: VectorFilter): Promise<VectorHit[]>;
  deleteByDocument(documentId: string, tx?: Queryable): Promise<void>;
  /** Get ready to hold `model`'s vectors (e.g. build its ANN index) before the first upsert. */
  prepare(model: string, dimension: number): Promise<void>;
}

/** Model ids are interpolated into SQL (partial-index predicates need literals), so keep them tame. */
export function assertModelId(model: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(model)) throw new Error(`invalid embedding model id: ${model}`);
}
