import type { VectorIndex } from '../vector-index/index.ts';
import type { Queryable } from '../db/index.ts';

export type ReembedStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface ReembedJob {
  id: string;
  datanetId: string;
  fromModel: string;
  toModel: string;
  toDim: number;
  status: ReembedStatus;
  total: number;
  done: number;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

type Row = {
  id: string;
  datanet_id: string;
  from_model: string;
  to_model: string;
  to_dim: number;
  status: ReembedStatus;
  total: number;
  done: number;
  error: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
};
const toJob = (r: Row): ReembedJob => ({
  id: r.id,
  datanetId: r.datanet_id,
  fromModel: r.from_model,
  toModel: r.to_model,
  toDim: r.to_dim,
  status: r.status,
  total: r.total,
  done: r.done,
  error: r.error,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
});

export async function insertReembedJob(
  db: Queryable,
  j: { id: string; datanetId: string; fromModel: string; toModel: string; toDim: number },
): Promise<ReembedJob> {
  const r = await db.query<Row>(
    `INSERT INTO reembed_jobs (id, datanet_id, from_model, to_model, to_dim, status) VALUES ($1, $2, $3, $4, $5, 'running') RETURNING *`,
    [j.id, j.datanetId, j.fromModel, j.toModel, j.toDim],
  );
  return toJob(r.rows[0]!);
}

export async function findReembedJob(db: Queryable, id: string): Promise<ReembedJob | null> {
  const r = await db.query<Row>(`SELECT * FROM reembed_jobs WHERE id = $1`, [id]);
  return r.rows[0] ? toJob(r.rows[0]) : null;
}

export async function latestReembedJob(db: Queryable, datanetId: string): Promise<ReembedJob | null> {
  const r = await db.query<Row>(
    `SELECT * FROM reembed_jobs WHERE datanet_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`,
    [datanetId],
  );
  return r.rows[0] ? toJob(r.rows[0]) : null;
}

export async function runningReembedJobs(db: Queryable): Promise<ReembedJob[]> {
  return (await db.query<Row>(`SELECT * FROM reembed_jobs WHERE status = 'running' ORDER BY created_at`)).rows.map(
    toJob,
  );
}

const PAGE = 1000;

/**
 * The rows (in id order, after `after`) the VectorIndex says it lacks, up to `limit`: the relational
 * store lists them a page at a time, `missing` names the ids of a page without a vector.
 */
async function collectMissing<R extends { id: string }>(
  page: (cursor: string) => Promise<R[]>,
  missing: (rows: R[]) => Promise<string[]>,
  limit: number,
  after: string,
): Promise<R[]> {
  const out: R[] = [];
  for (let cursor = after; out.length < limit; ) {
    const rows = await page(cursor);
    if (rows.length === 0) break;
    const lacking = new Set(await missing(rows));
    for (const row of rows) if (lacking.has(row.id) && out.length < limit) out.push(row);
    cursor = rows.at(-1)!.id;
  }
  return out;
}

/** Live chunks of the datanet (ids after `after`, in id order) that have no `model` vector yet. */
export async function chunksMissingVectors(
  db: Queryable,
  index: VectorIndex,
  datanetId: string,
  model: string,
  limit: number,
  after = '',
): Promise<{ id: string; documentId: string; text: string; metadata: Record<string, unknown> }[]> {
  return collectMissing(
    async (cursor) =>
      (
        await db.query<{ id: string; documentId: string; text: string; metadata: Record<string, unknown> }>(
          `SELECT c.id, c.document_id AS "documentId", c.text, d.metadata FROM chunks c JOIN documents d ON d.id = c.document_id
          WHERE c.datanet_id = $1 AND d.deleted_at IS NULL AND c.id > $2
          ORDER BY c.id LIMIT $3`,
          [datanetId, cursor, PAGE],
        )
      ).rows,
    (rows) =>
      index.missingChunks(
        model,
        rows.map((r) => ({ chunkId: r.id, documentId: r.documentId, datanetId })),
        db,
      ),
    limit,
    after,
  );
}

export async function countProgress(
  db: Queryable,
  index: VectorIndex,
  datanetId: string,
  model: string,
): Promise<{ total: number; done: number }> {
  const r = await db.query<{ total: bigint }>(
    `SELECT count(*)::bigint AS total FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.datanet_id = $1 AND d.deleted_at IS NULL`,
    [datanetId],
  );
  return { total: Number(r.rows[0]!.total), done: await index.countChunks(model, datanetId, db) };
}

export async function updateReembedJob(
  db: Queryable,
  id: string,
  patch: { status?: ReembedStatus; total?: number; done?: number; error?: string | null },
): Promise<void> {
  await db.query(
    `UPDATE reembed_jobs SET status = coalesce($2, status), total = coalesce($3, total), done = coalesce($4, done),
            error = CASE WHEN $5::boolean THEN $6 ELSE error END, updated_at = now(),
            finished_at = CASE WHEN coalesce($2, status) <> 'running' THEN now() ELSE finished_at END
      WHERE id = $1`,
    [id, patch.status ?? null, patch.total ?? null, patch.done ?? null, 'error' in patch, patch.error ?? null],
  );
}

/** Live documents of the datanet without a document vector for `model` (see core/document-fields.ts). */
export async function documentsMissingVectors(
  db: Queryable,
  index: VectorIndex,
  datanetId: string,
  model: string,
  limit: number,
): Promise<{ id: string; title: string; contentType: string; objectKey: string; metadata: Record<string, unknown> }[]> {
  return collectMissing(
    async (cursor) =>
      (
        await db.query<{
          id: string;
          title: string;
          contentType: string;
          objectKey: string;
          metadata: Record<string, unknown>;
        }>(
          `SELECT d.id, d.title, d.content_type AS "contentType", d.object_key AS "objectKey", d.metadata FROM documents d
          WHERE d.datanet_id = $1 AND d.deleted_at IS NULL AND d.id > $2 ORDER BY d.id LIMIT $3`,
          [datanetId, cursor, PAGE],
        )
      ).rows,
    (rows) =>
      index.missingDocuments(
        model,
        datanetId,
        rows.map((r) => r.id),
        db,
      ),
    limit,
    '',
  );
}
