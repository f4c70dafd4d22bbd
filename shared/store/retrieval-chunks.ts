import type { ChunkInfo } from '../core/document-ranking.ts';
import type { RetrievedSource } from '../core/sources.ts';
import type { Queryable } from '../db/index.ts';

// The chunk facts a retrieval reads between its index lookups (services/retrieval.ts): sizes and
// copies for ranking, a document's first passage, where a chunk came from (for copy detection),
// and the source rows it returns.

/** Live chunks' documents, their documents' sizes, and how many documents hold the same text. */
export async function chunkInfo(db: Queryable, chunkIds: readonly string[]): Promise<Map<string, ChunkInfo>> {
  if (chunkIds.length === 0) return new Map();
  const r = await db.query<{ id: string; document_id: string; chunk_count: number; copies: number }>(
    `SELECT c.id, c.document_id, d.chunk_count,
            (SELECT count(DISTINCT o.document_id) FROM chunks o WHERE o.datanet_id = c.datanet_id AND o.text_hash = c.text_hash)::int AS copies
       FROM chunks c JOIN documents d ON d.id = c.document_id
      WHERE c.id = ANY($1::text[]) AND d.deleted_at IS NULL`,
    [chunkIds],
  );
  return new Map(
    r.rows.map((row) => [
      row.id,
      { documentId: row.document_id, copies: Math.max(1, row.copies), chunkCount: row.chunk_count },
    ]),
  );
}

/** Each document's first passage (by ordinal): for documents no vector index placed a passage of. */
export async function firstChunks(db: Queryable, documentIds: readonly string[]): Promise<Map<string, string>> {
  const r = await db.query<{ document_id: string; id: string }>(
    `SELECT DISTINCT ON (document_id) document_id, id FROM chunks WHERE document_id = ANY($1::text[]) ORDER BY document_id, ordinal`,
    [documentIds],
  );
  return new Map(r.rows.map((row) => [row.document_id, row.id]));
}

export interface ChunkOrigin {
  chunk_id: string;
  document_id: string;
  datanet_id: string;
  content_hash: string;
  created_at: Date;
  model: string;
}

/** Each chunk's document, its upload, and its datanet's model: what copy detection compares. */
export async function chunkOrigins(db: Queryable, chunkIds: readonly string[]): Promise<ChunkOrigin[]> {
  const r = await db.query<ChunkOrigin>(
    `SELECT c.id AS chunk_id, c.document_id, c.datanet_id, d.content_hash, d.created_at, n.embedding_model AS model
       FROM chunks c JOIN documents d ON d.id = c.document_id JOIN datanets n ON n.id = c.datanet_id
      WHERE c.id = ANY($1::text[])`,
    [chunkIds],
  );
  return r.rows;
}

export type HydratedRow = Omit<RetrievedSource, 'score' | 'similarity' | 'ranks' | 'duplicateOf'>;

/** A chunk's columns as a source (aliases: c chunks, d documents, n datanets, a the owner's account). */
export const SOURCE_COLUMNS = `c.id, c.document_id, c.datanet_id, d.title, d.metadata, n.owner_account_id, a.wallet,
            n.price_per_source, c.text, c.start_char, c.end_char, c.heading_path, c.page`;
export const SOURCE_TABLES = `chunks c JOIN documents d ON d.id = c.document_id JOIN datanets n ON n.id = c.datanet_id
       JOIN accounts a ON a.id = n.owner_account_id`;

export interface SourceColumnsRow {
  id: string;
  document_id: string;
  datanet_id: string;
  title: string;
  metadata: Record<string, unknown>;
  owner_account_id: string;
  wallet: string;
  price_per_source: bigint;
  text: string;
  start_char: number;
  end_char: number;
  heading_path: string[];
  page: number | null;
}

export function sourceOf(row: SourceColumnsRow): HydratedRow {
  return {
    chunkId: row.id,
    documentId: row.document_id,
    datanetId: row.datanet_id,
    title: row.title,
    metadata: row.metadata,
    contributorAccountId: row.owner_account_id,
    contributorWallet: row.wallet,
    pricePerSource: row.price_per_source,
    text: row.text,
    start: row.start_char,
    end: row.end_char,
    headingPath: row.heading_path,
    page: row.page,
  };
}

export async function hydrateChunks(db: Queryable, chunkIds: readonly string[]): Promise<Map<string, HydratedRow>> {
  const r = await db.query<SourceColumnsRow>(
    `SELECT ${SOURCE_COLUMNS} FROM ${SOURCE_TABLES} WHERE c.id = ANY($1::text[]) AND d.deleted_at IS NULL`,
    [chunkIds],
  );
  return new Map(r.rows.map((row) => [row.id, sourceOf(row)]));
}
