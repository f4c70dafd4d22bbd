import type { Queryable } from '../db/index.ts';
import type { AnswerStatus } from './answers.ts';

// Text deltas of open answers (migration 0010), for streams in any process to tail by seq.

/** How long a closed answer's deltas stay, for streams still reading its last ones. */
export const DELTA_RETENTION_SECONDS = 300;

/**
 * Stores one delta while its answer is open; false for a duplicate (redelivery) or a closed
 * answer. FOR SHARE waits for a close in progress (finalize holds the row FOR UPDATE), so no
 * delta slips in after the close has reconciled the answer's deltas (reconcileDeltas).
 */
export async function appendDelta(db: Queryable, answerId: string, seq: number, text: string): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO answer_deltas (answer_id, seq, text)
     SELECT id, $2, $3 FROM answers WHERE id = $1 AND status IN ('queued', 'running') FOR SHARE
     ON CONFLICT DO NOTHING`,
    [answerId, seq, text],
  );
  return r.affectedRows > 0;
}

/**
 * The answer's status and its deltas from `fromSeq` on, in order, read in ONE statement (one
 * snapshot): when the status is closed, every delta the answer will ever have is in the list.
 * Null when there is no such answer.
 */
export async function readDeltas(
  db: Queryable,
  answerId: string,
  fromSeq: number,
): Promise<{ status: AnswerStatus; deltas: { seq: number; text: string }[] } | null> {
  const r = await db.query<{ status: AnswerStatus; seq: number | null; text: string | null }>(
    `SELECT a.status, d.seq, d.text FROM answers a
       LEFT JOIN answer_deltas d ON d.answer_id = a.id AND d.seq >= $2
      WHERE a.id = $1 ORDER BY d.seq`,
    [answerId, fromSeq],
  );
  if (r.rows.length === 0) return null;
  return {
    status: r.rows[0]!.status,
    deltas: r.rows.flatMap((row) => (row.seq === null ? [] : [{ seq: row.seq, text: row.text! }])),
  };
}

/**
 * At close, inside the transaction that holds the answer FOR UPDATE: makes the stored deltas spell
 * the generated text exactly. The in-order run from seq 0 is kept; what follows a gap (a delta
 * consumed out of order whose predecessor never arrived in time) is replaced by the rest of the
 * text as one last delta. A text that does not extend the stored run (a job redone with other
 * words) leaves the deltas as they are: the closed answer's text is the truth either way.
 */
export async function reconcileDeltas(tx: Queryable, answerId: string, text: string): Promise<void> {
  const rows = (
    await tx.query<{ seq: number; text: string }>(
      `SELECT seq, text FROM answer_deltas WHERE answer_id = $1 ORDER BY seq`,
      [answerId],
    )
  ).rows;
  let next = 0;
  let run = '';
  for (const row of rows) {
    if (row.seq !== next) break;
    run += row.text;
    next++;
  }
  if (!text.startsWith(run)) return;
  if (rows.length > next)
    await tx.query(`DELETE FROM answer_deltas WHERE answer_id = $1 AND seq >= $2`, [answerId, next]);
  if (text.length > run.length)
    await tx.query(`INSERT INTO answer_deltas (answer_id, seq, text) VALUES ($1, $2, $3)`, [
      answerId,
      next,
      text.slice(run.length),
    ]);
}

/** Removes the deltas of answers closed more than `olderThanSeconds` ago; returns how many. */
export async function pruneDeltas(db: Queryable, olderThanSeconds = DELTA_RETENTION_SECONDS): Promise<number> {
  const r = await db.query(
    `DELETE FROM answer_deltas d USING answers a
      WHERE a.id = d.answer_id AND a.status NOT IN ('queued', 'running') AND a.finished_at < now() - make_interval(secs => $1)`,
    [olderThanSeconds],
  );
  return r.affectedRows;
}
