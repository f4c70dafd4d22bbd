import type { Queryable } from '../db/index.ts';

export interface DocumentRecord {
  id: string;
  datanetId: string;
  title: string;
  contentType: string;
  contentHash: string;
  objectKey: string;
  byteLength: number;
  textLength: number;
  metadata: Record<string, unknown>;
  chunkCount: number;
  createdAt: Date;
  deletedAt: Date | null;
}

export interface ChunkRow {
  id: string;
  ordinal: number;
  start: number;
  end: number;
  headingPath: string[];
  text: string;
  /** 1-based page the chunk starts on (PDF); null for formats without pages */
  page: number | null;
}

type Row = {
  id: string;
  datanet_id: string;
  title: string;
  content_type: string;
  content_hash: string;
  object_key: string;
  byte_length: number;
  text_length: number;
  metadata: Record<string, unknown>;
  chunk_count: number;
  created_at: Date;
  deleted_at: Date | null;
};
const toDocument = (r: Row): DocumentRecord => ({
  id: r.id,
  datanetId: r.datanet_id,
  title: r.title,
  contentType: r.content_type,
  contentHash: r.content_hash,
  objectKey: r.object_key,
  byteLength: r.byte_length,
  textLength: r.text_length,
  metadata: r.metadata,
  chunkCount: r.chunk_count,
  createdAt: r.created_at,
  deletedAt: r.deleted_at,
});

export async function insertDocument(
  db: Queryable,
  d: Omit<DocumentRecord, 'createdAt' | 'deletedAt'>,
): Promise<DocumentRecord> {
  const r = await db.query<Row>(
    `INSERT INTO documents (id, datanet_id, title, content_type, content_hash, object_key, byte_length, text_length, metadata, chunk_count)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10) RETURNING *`,
    [
      d.id,
      d.datanetId,
      d.title,
      d.contentType,
      d.contentHash,
      d.objectKey,
      d.byteLength,
      d.textLength,
      JSON.stringify(d.metadata),
      d.chunkCount,
    ],
  );
  return toDocument(r.rows[0]!);
}

/** Chunks with their lexical vector; title and headings weigh more than body text. */
export async function insertChunks(
  db: Queryable,
  documentId: string,
  datanetId: string,
  title: string,
  chunks: readonly ChunkRow[],
) {
  if (chunks.length === 0) return;
  await db.query(
    `INSERT INTO chunks (id, document_id, datanet_id, ordinal, start_char, end_char, heading_path, text, text_hash, tsv, page)
     SELECT c.id, $1, $2, c.ordinal, c.start_char, c.end_char, string_to_array(c.headings, E'\\x1f'), c.text,
            md5(lower(regexp_replace(c.text, '\\s+', ' ', 'g'))),
            setweight(to_tsvector('english', $3), 'B') ||
            setweight(to_tsvector('english', replace(c.headings, E'\\x1f', ' ')), 'B') ||
            to_tsvector('english', c.text), c.page
       FROM unnest($4::text[], $5::int[], $6::int[], $7::int[], $8::text[], $9::text[], $10::int[])
            AS c(id, ordinal, start_char, end_char, headings, text, page)`,
    [
      documentId,
      datanetId,
      title,
      chunks.map((c) => c.id),
      chunks.map((c) => c.ordinal),
      chunks.map((c) => c.start),
      chunks.map((c) => c.end),
      chunks.map((c) => c.headingPath.join('\x1f')),
      chunks.map((c) => c.text),
      chunks.map((c) => c.page),
    ],
  );
}

export async function findDocument(db: Queryable, id: string): Promise<DocumentRecord | null> {
  const r = await db.query<Row>(`SELECT * FROM documents WHERE id = $1`, [id]);
  return r.rows[0] ? toDocument(r.rows[0]) : null;
}

/** Whether a live document still points at these stored bytes (keys are content-addressed, so uploads share them). */
export async function objectKeyInUse(db: Queryable, objectKey: string): Promise<boolean> {
  const r = await db.query(`SELECT 1 FROM documents WHERE object_key = $1 AND deleted_at IS NULL LIMIT 1`, [objectKey]);
  return r.rows.length > 0;
}

export async function findLiveDocumentByHash(
  db: Queryable,
  datanetId: string,
  contentHash: string,
): Promise<DocumentRecord | null> {
  const r = await db.query<Row>(
    `SELECT * FROM documents WHERE datanet_id = $1 AND content_hash = $2 AND deleted_at IS NULL`,
    [datanetId, contentHash],
  );
  return r.rows[0] ? toDocument(r.rows[0]) : null;
}

export async function listDocuments(
  db: Queryable,
  datanetId: string,
  limit: number,
  after?: string,
): Promise<DocumentRecord[]> {
  const r = await db.query<Row>(
    `SELECT * FROM documents WHERE datanet_id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR id > $2)
      ORDER BY id LIMIT $3`,
    [datanetId, after ?? null, limit],
  );
  return r.rows.map(toDocument);
}

/** Soft-delete the document (its earnings history keeps pointing at it) and drop its chunks; its vectors go through the VectorIndex first. */
export async function softDeleteDocument(db: Queryable, id: string): Promise<boolean> {
  const r = await db.query(`UPDATE documents SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`, [id]);
  if (r.affectedRows === 0) return false;
  await db.query(`DELETE FROM chunks WHERE document_id = $1`, [id]);
  return true;
}

/** Live documents per datanet. */
export async function countLiveDocuments(db: Queryable, datanetIds: readonly string[]): Promise<Map<string, number>> {
  const r = await db.query<{ datanet_id: string; n: bigint }>(
    `SELECT datanet_id, count(*)::bigint AS n FROM documents WHERE datanet_id = ANY($1::text[]) AND deleted_at IS NULL GROUP BY datanet_id`,
    [datanetIds],
  );
  return new Map(r.rows.map((x) => [x.datanet_id, Number(x.n)]));
}
