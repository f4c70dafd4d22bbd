import type { Queryable } from '../db/index.ts';

// The deployment-wide figures /metrics reads at scrape time (services/metrics.ts): money from the
// ledger, answers, settlement epochs. Every process writes the same database, so any instance reads
// the whole deployment's.

/** Micro-USD ever charged to consumers, live money only: test mode is not revenue. */
export async function chargedTotal(db: Queryable): Promise<bigint> {
  const r = await db.query<{ total: bigint | null }>(
    `SELECT sum(-e.amount)::bigint AS total FROM ledger_entries e JOIN accounts a ON a.id = e.account_id
      WHERE a.kind = 'consumer' AND e.amount < 0 AND e.livemode`,
  );
  return r.rows[0]?.total ?? 0n;
}

/** Micro-USD ever credited (live), by recipient: contributors and adapter owners by kind, and 'protocol'. */
export async function creditedByRecipient(
  db: Queryable,
  accounts: { protocol: string; funding: string },
): Promise<{ kind: string; total: bigint }[]> {
  const r = await db.query<{ kind: string; total: bigint | null }>(
    `SELECT CASE WHEN a.id = $1 THEN 'protocol' ELSE a.kind END AS kind, sum(e.amount)::bigint AS total
       FROM ledger_entries e JOIN accounts a ON a.id = e.account_id
      WHERE e.amount > 0 AND e.livemode AND a.id <> $2 AND (a.kind = 'contributor' OR a.id = $1) GROUP BY 1`,
    [accounts.protocol, accounts.funding],
  );
  return r.rows.map((row) => ({ kind: row.kind, total: row.total ?? 0n }));
}

export async function answerCountsByStatus(db: Queryable): Promise<{ status: string; n: bigint }[]> {
  const r = await db.query<{ status: string; n: bigint }>(
    `SELECT status, count(*)::bigint AS n FROM answers GROUP BY status`,
  );
  return r.rows;
}

/** Median and 95th percentile of worker generation time (started → finished) over the last 15 minutes. */
export async function recentGenerationSeconds(db: Queryable): Promise<{ p50: number | null; p95: number | null }> {
  const r = await db.query<{ p50: number | null; p95: number | null }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at))::float8 AS p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at))::float8 AS p95
       FROM answers WHERE finished_at > now() - interval '15 minutes' AND started_at IS NOT NULL`,
  );
  return { p50: r.rows[0]?.p50 ?? null, p95: r.rows[0]?.p95 ?? null };
}

/** Seconds the oldest queued answer has waited; null when none waits. */
export async function oldestQueuedAnswerAge(db: Queryable): Promise<number | null> {
  const r = await db.query<{ age: number | null }>(
    `SELECT extract(epoch FROM now() - min(created_at))::float8 AS age FROM answers WHERE status = 'queued'`,
  );
  return r.rows[0]?.age ?? null;
}

export async function epochCountsByStatus(db: Queryable): Promise<{ status: string; n: bigint }[]> {
  const r = await db.query<{ status: string; n: bigint }>(
    `SELECT status, count(*)::bigint AS n FROM settlement_epochs GROUP BY status`,
  );
  return r.rows;
}

/** Seconds since the last confirmed settlement epoch; null when none is confirmed yet. */
export async function lastConfirmedEpochAge(db: Queryable): Promise<number | null> {
  const r = await db.query<{ age: number | null }>(
    `SELECT extract(epoch FROM now() - max(confirmed_at))::float8 AS age FROM settlement_epochs WHERE status = 'confirmed'`,
  );
  return r.rows[0]?.age ?? null;
}
