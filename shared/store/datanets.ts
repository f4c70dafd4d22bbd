import type { Queryable } from '../db/index.ts';
import { newId } from '../ids.ts';

export interface Datanet {
  id: string;
  ownerAccountId: string;
  name: string;
  description: string | null;
  pricePerSource: bigint;
  embeddingModel: string;
  embeddingDim: number;
  /** stored retrieval settings ('{}' = defaults); see core/document-ranking.ts resolveIndexSettings */
  indexSettings: Record<string, unknown>;
  createdAt: Date;
}

export type DatanetRow = {
  id: string;
  owner_account_id: string;
  name: string;
  description: string | null;
  price_per_source: bigint;
  embedding_model: string;
  embedding_dim: number;
  index_settings: Record<string, unknown> | null;
  created_at: Date;
};
export const toDatanet = (r: DatanetRow): Datanet => ({
  id: r.id,
  ownerAccountId: r.owner_account_id,
  name: r.name,
  description: r.description,
  pricePerSource: r.price_per_source,
  embeddingModel: r.embedding_model,
  embeddingDim: r.embedding_dim,
  indexSettings: r.index_settings ?? {},
  createdAt: r.created_at,
});

export async function insertDatanet(
  db: Queryable,
  d: Omit<Datanet, 'id' | 'createdAt' | 'indexSettings'> & { indexSettings?: Record<string, unknown> },
): Promise<Datanet> {
  const r = await db.query<DatanetRow>(
    `INSERT INTO datanets (id, owner_account_id, name, description, price_per_source, embedding_model, embedding_dim, index_settings)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) RETURNING *`,
    [
      newId('datanet'),
      d.ownerAccountId,
      d.name,
      d.description,
      d.pricePerSource,
      d.embeddingModel,
      d.embeddingDim,
      JSON.stringify(d.indexSettings ?? {}),
    ],
  );
  return toDatanet(r.rows[0]!);
}

export async function findDatanet(db: Queryable, id: string): Promise<Datanet | null> {
  const r = await db.query<DatanetRow>(`SELECT * FROM datanets WHERE id = $1`, [id]);
  return r.rows[0] ? toDatanet(r.rows[0]) : null;
}

export async function findDatanets(db: Queryable, ids: readonly string[]): Promise<Datanet[]> {
  const r = await db.query<DatanetRow>(`SELECT * FROM datanets WHERE id = ANY($1::text[])`, [ids]);
  return r.rows.map(toDatanet);
}

export async function listDatanets(db: Queryable, ownerAccountId?: string): Promise<Datanet[]> {
  const r = ownerAccountId
    ? await db.query<DatanetRow>(`SELECT * FROM datanets WHERE owner_account_id = $1 ORDER BY created_at`, [
        ownerAccountId,
      ])
    : await db.query<DatanetRow>(`SELECT * FROM datanets ORDER BY created_at`);
  return r.rows.map(toDatanet);
}

/** Replace a datanet's retrieval settings (e.g. fusion weights learned on its questions). */
export async function updateIndexSettings(db: Queryable, id: string, settings: Record<string, unknown>): Promise<void> {
  await db.query(`UPDATE datanets SET index_settings = $2::jsonb WHERE id = $1`, [id, JSON.stringify(settings)]);
}

/**
 * The datanet's embedding model, its row held FOR SHARE until the caller's transaction ends: a
 * re-embed switching the model (switchEmbeddingModel) waits for the upload, or the upload sees the new model.
 */
export async function embeddingModelForShare(tx: Queryable, id: string): Promise<string | undefined> {
  return (
    await tx.query<{ embedding_model: string }>(`SELECT embedding_model FROM datanets WHERE id = $1 FOR SHARE`, [id])
  ).rows[0]?.embedding_model;
}

/** Holds the datanet's row until the caller's transaction ends (uploads wait in embeddingModelForShare). */
export async function lockDatanet(tx: Queryable, id: string): Promise<void> {
  await tx.query(`SELECT id FROM datanets WHERE id = $1 FOR UPDATE`, [id]);
}

export async function switchEmbeddingModel(tx: Queryable, id: string, model: string, dimension: number): Promise<void> {
  await tx.query(`UPDATE datanets SET embedding_model = $2, embedding_dim = $3 WHERE id = $1`, [id, model, dimension]);
}
