import type { Queryable } from '../db/index.ts';
import type { ShownSource } from '../core/sources.ts';
import { decodeAnswerResult, encodeAnswerResult, type AnswerResult } from './answer-results.ts';
import { encodeResult } from './idempotency.ts';

export type AnswerStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'expired';
export const OPEN_STATUSES: readonly AnswerStatus[] = ['queued', 'running'];

export type { ShownSource };
export type { AnswerResult };

export interface AnswerRecord {
  id: string;
  requestId: string;
  accountId: string;
  keyId: string | null;
  status: AnswerStatus;
  model: string;
  adapterId: string | null;
  query: string;
  sources: ShownSource[];
  hold: bigint;
  /** false: a cp_test_ key's answer, held against and charged to test credits */
  livemode: boolean;
  /** a succeeded answer's outcome; null otherwise */
  result: AnswerResult | null;
  error: { code: string; message: string } | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  deadlineAt: Date;
}

type Row = {
  id: string;
  request_id: string;
  account_id: string;
  key_id: string | null;
  status: AnswerStatus;
  model: string;
  adapter_id: string | null;
  query: string;
  sources: ShownSource[];
  hold: bigint;
  livemode: boolean;
  response: unknown;
  error: AnswerRecord['error'];
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  deadline_at: Date;
};
const toAnswer = (r: Row): AnswerRecord => ({
  id: r.id,
  requestId: r.request_id,
  accountId: r.account_id,
  keyId: r.key_id,
  status: r.status,
  model: r.model,
  adapterId: r.adapter_id,
  query: r.query,
  sources: r.sources,
  hold: r.hold,
  livemode: r.livemode,
  result: decodeAnswerResult(r.response),
  error: r.error,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  deadlineAt: r.deadline_at,
});

export async function insertAnswer(
  db: Queryable,
  a: Pick<
    AnswerRecord,
    'id' | 'requestId' | 'accountId' | 'keyId' | 'model' | 'adapterId' | 'query' | 'sources' | 'hold' | 'livemode'
  > & { deadlineSeconds: number },
): Promise<AnswerRecord> {
  const r = await db.query<Row>(
    `INSERT INTO answers (id, request_id, account_id, key_id, status, model, adapter_id, query, sources, hold, livemode, deadline_at)
     VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8::jsonb, $9, $10, now() + make_interval(secs => $11)) RETURNING *`,
    [
      a.id,
      a.requestId,
      a.accountId,
      a.keyId,
      a.model,
      a.adapterId,
      a.query,
      JSON.stringify(a.sources),
      a.hold,
      a.livemode,
      a.deadlineSeconds,
    ],
  );
  return toAnswer(r.rows[0]!);
}

export async function findAnswer(db: Queryable, id: string, forUpdate = false): Promise<AnswerRecord | null> {
  const r = await db.query<Row>(`SELECT * FROM answers WHERE id = $1 ${forUpdate ? 'FOR UPDATE' : ''}`, [id]);
  return r.rows[0] ? toAnswer(r.rows[0]) : null;
}

export async function markRunning(db: Queryable, id: string): Promise<void> {
  await db.query(
    `UPDATE answers SET status = 'running', started_at = coalesce(started_at, now()) WHERE id = $1 AND status = 'queued'`,
    [id],
  );
}

/** Moves an open answer to a terminal state; false when it was already terminal. */
export async function closeAnswer(
  db: Queryable,
  id: string,
  status: 'succeeded' | 'failed' | 'expired',
  fields: { result?: AnswerResult; error?: { code: string; message: string } },
): Promise<boolean> {
  const r = await db.query(
    `UPDATE answers SET status = $2, response = $3::jsonb, error = $4::jsonb, finished_at = now()
      WHERE id = $1 AND status IN ('queued', 'running')`,
    [
      id,
      status,
      fields.result === undefined ? null : JSON.stringify(encodeAnswerResult(fields.result)),
      fields.error ? JSON.stringify(fields.error) : null,
    ],
  );
  return r.affectedRows > 0;
}

/** Open answers past their deadline: expired, so a late result can never charge. */
export async function expireOverdue(db: Queryable): Promise<string[]> {
  const r = await db.query<{ id: string }>(
    `UPDATE answers SET status = 'expired', finished_at = now(), error = '{"code":"timeout","message":"generation did not finish before its deadline"}'::jsonb
      WHERE status IN ('queued', 'running') AND deadline_at < now() RETURNING id`,
  );
  return r.rows.map((row) => row.id);
}

/**
 * Expires this answer if it is open and past its deadline (database clock); true when it did.
 * Called under the row lock before a result is charged: past its deadline an answer is never charged,
 * whether or not the sweep (expireOverdue) has run yet, so a caller told "timed out, nothing charged"
 * is told the truth even when the database was unreachable at that moment.
 */
export async function expireIfOverdue(db: Queryable, id: string): Promise<boolean> {
  const r = await db.query(
    `UPDATE answers SET status = 'expired', finished_at = now(), error = '{"code":"timeout","message":"generation did not finish before its deadline"}'::jsonb
      WHERE id = $1 AND status IN ('queued', 'running') AND deadline_at < now()`,
    [id],
  );
  return r.affectedRows > 0;
}

export async function openAnswers(db: Queryable): Promise<AnswerRecord[]> {
  return (
    await db.query<Row>(`SELECT * FROM answers WHERE status IN ('queued', 'running') ORDER BY created_at`)
  ).rows.map(toAnswer);
}

/** Reserved by answers still in flight, in one mode (a test answer holds test credits). */
export async function heldAmount(db: Queryable, accountId: string, livemode: boolean): Promise<bigint> {
  const r = await db.query<{ held: bigint }>(
    `SELECT coalesce(sum(hold), 0)::bigint AS held FROM answers WHERE account_id = $1 AND livemode = $2 AND status IN ('queued', 'running')`,
    [accountId, livemode],
  );
  return r.rows[0]!.held;
}

export type HoldAnswerReturnType =
  | { status: 'ok'; answer: AnswerRecord }
  | {
      status: 'key_answers' | 'account_answers';
      open: { account: number; key: number };
      limits: { key: number; account: number };
    }
  | { status: 'insufficient'; balance: bigint; held: bigint };

/**
 * Accepts an answer in one statement (migration 0042's hold_answer): under the account lock,
 * its answer slots, then its credits, then the answer (whose hold the running balance counts)
 * and the Idempotency-Key record. `slots` null: not limited (admins).
 */
export async function holdAnswer(
  db: Queryable,
  a: Pick<
    AnswerRecord,
    'id' | 'requestId' | 'accountId' | 'keyId' | 'model' | 'adapterId' | 'query' | 'sources' | 'hold' | 'livemode'
  > & { deadlineSeconds: number },
  slots: { keyAnswers: number; accountAnswers: number } | null,
  idempotency: { key: string; requestHash: string; result: unknown } | null,
): Promise<HoldAnswerReturnType> {
  const r = await db.query<{
    status: HoldAnswerReturnType['status'];
    open_account: number;
    open_key: number;
    key_limit: number;
    account_limit: number;
    balance: bigint;
    held: bigint;
    created_at: Date | null;
    deadline_at: Date | null;
  }>(`SELECT * FROM hold_answer($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12, $13, $14, $15, $16::jsonb)`, [
    a.id,
    a.requestId,
    a.accountId,
    a.keyId,
    a.model,
    a.adapterId,
    a.query,
    JSON.stringify(a.sources),
    a.hold,
    a.livemode,
    a.deadlineSeconds,
    slots?.keyAnswers ?? null,
    slots?.accountAnswers ?? null,
    idempotency?.key ?? null,
    idempotency?.requestHash ?? null,
    idempotency ? encodeResult(idempotency.result) : null,
  ]);
  const row = r.rows[0]!;
  if (row.status === 'ok')
    return {
      status: 'ok',
      answer: {
        ...a,
        status: 'queued',
        result: null,
        error: null,
        createdAt: row.created_at!,
        startedAt: null,
        finishedAt: null,
        deadlineAt: row.deadline_at!,
      },
    };
  if (row.status === 'insufficient') return { status: 'insufficient', balance: row.balance, held: row.held };
  return {
    status: row.status,
    open: { account: row.open_account, key: row.open_key },
    limits: { key: row.key_limit, account: row.account_limit },
  };
}
