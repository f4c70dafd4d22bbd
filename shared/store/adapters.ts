import type { Queryable } from '../db/index.ts';
import { newId } from '../ids.ts';

export interface Adapter {
  id: string;
  ownerAccountId: string;
  name: string;
  baseModel: string;
  objectKey: string;
  sha256: string;
  shareBps: number;
  createdAt: Date;
}

type Row = {
  id: string;
  owner_account_id: string;
  name: string;
  base_model: string;
  object_key: string;
  sha256: string;
  share_bps: number;
  created_at: Date;
};
const toAdapter = (r: Row): Adapter => ({
  id: r.id,
  ownerAccountId: r.owner_account_id,
  name: r.name,
  baseModel: r.base_model,
  objectKey: r.object_key,
  sha256: r.sha256,
  shareBps: r.share_bps,
  createdAt: r.created_at,
});

export async function insertAdapter(db: Queryable, a: Omit<Adapter, 'id' | 'createdAt'>): Promise<Adapter> {
  const r = await db.query<Row>(
    `INSERT INTO adapters (id, owner_account_id, name, base_model, object_key, sha256, share_bps) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [newId('adapter'), a.ownerAccountId, a.name, a.baseModel, a.objectKey, a.sha256, a.shareBps],
  );
  return toAdapter(r.rows[0]!);
}

export async function findAdapter(db: Queryable, id: string): Promise<Adapter | null> {
  const r = await db.query<Row>(`SELECT * FROM adapters WHERE id = $1`, [id]);
  return r.rows[0] ? toAdapter(r.rows[0]) : null;
}

export async function listAdapters(db: Queryable): Promise<Adapter[]> {
  return (await db.query<Row>(`SELECT * FROM adapters ORDER BY created_at`)).rows.map(toAdapter);
}
