import type { Queryable } from '../db/index.ts';
import type { RateCard, RateCardTerms, TestPricing } from '../core/rate-cards.ts';

// The rate_cards table (migration 0111): an append-only price history per datanet.

type Row = {
  datanet_id: string;
  version: number;
  retrieval_price: bigint;
  answer_price: bigint;
  minimum_per_use: bigint;
  test_mode: 'same' | 'excluded' | 'price';
  test_retrieval_price: bigint | null;
  test_answer_price: bigint | null;
  effective_at: Date;
};

const testOf = (r: Row): TestPricing =>
  r.test_mode === 'price'
    ? { mode: 'price', prices: { retrieval: r.test_retrieval_price!, answer: r.test_answer_price! } }
    : { mode: r.test_mode };

const toCard = (r: Row): RateCard => ({
  datanetId: r.datanet_id,
  version: r.version,
  prices: { retrieval: r.retrieval_price, answer: r.answer_price },
  minimumPerUse: r.minimum_per_use,
  test: testOf(r),
  effectiveAt: r.effective_at,
});

/** The card in force for each datanet (its highest version), by datanet id. */
export async function currentRateCards(db: Queryable, datanetIds: readonly string[]): Promise<Map<string, RateCard>> {
  if (datanetIds.length === 0) return new Map();
  const r = await db.query<Row>(
    `SELECT DISTINCT ON (datanet_id) * FROM rate_cards WHERE datanet_id = ANY($1::text[])
      ORDER BY datanet_id, version DESC`,
    [datanetIds],
  );
  return new Map(r.rows.map((row) => [row.datanet_id, toCard(row)]));
}

/** The cards in force for every datanet (x402 quotes: the most any use can cost). */
export async function allCurrentRateCards(db: Queryable): Promise<RateCard[]> {
  const r = await db.query<Row>(`SELECT DISTINCT ON (datanet_id) * FROM rate_cards ORDER BY datanet_id, version DESC`);
  return r.rows.map(toCard);
}

/** Every version of a datanet's card, newest first. */
export async function rateCardHistory(db: Queryable, datanetId: string): Promise<RateCard[]> {
  const r = await db.query<Row>(`SELECT * FROM rate_cards WHERE datanet_id = $1 ORDER BY version DESC`, [datanetId]);
  return r.rows.map(toCard);
}

/**
 * Adds the next version. Call inside a transaction: the datanet row is locked first, so two changes
 * at once are numbered one after the other (the second statement reads the first's committed
 * version). The datanet's listed price follows the live retrieval price (GET /v1/datanets'
 * pricePerSource). Null when there is no such datanet.
 */
export async function appendRateCard(
  tx: Queryable,
  datanetId: string,
  terms: RateCardTerms,
  changedBy: string,
): Promise<RateCard | null> {
  const locked = await tx.query(`SELECT id FROM datanets WHERE id = $1 FOR UPDATE`, [datanetId]);
  if (locked.rows.length === 0) return null;
  await tx.query(`UPDATE datanets SET price_per_source = $2 WHERE id = $1`, [datanetId, terms.prices.retrieval]);
  const testPrices = terms.test.mode === 'price' ? terms.test.prices : null;
  const r = await tx.query<Row>(
    `INSERT INTO rate_cards (datanet_id, version, retrieval_price, answer_price, minimum_per_use, test_mode,
                             test_retrieval_price, test_answer_price, changed_by, effective_at)
     SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp()
       FROM rate_cards WHERE datanet_id = $1
     RETURNING *`,
    [
      datanetId,
      terms.prices.retrieval,
      terms.prices.answer,
      terms.minimumPerUse,
      terms.test.mode,
      testPrices?.retrieval ?? null,
      testPrices?.answer ?? null,
      changedBy,
    ],
  );
  return toCard(r.rows[0]!);
}
