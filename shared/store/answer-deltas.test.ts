import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../db/index.ts';
import { migrate } from '../db/migrate.ts';
import { listenPg, openPg } from '../db/pg.ts';
import { newId } from '../ids.ts';
import { openTestDb, TEST_DB, testDatabaseUrl } from '../../test/services.ts';
import { insertAccount } from './accounts.ts';
import { appendDelta, pruneDeltas, readDeltas, reconcileDeltas } from './answer-deltas.ts';
import { closeAnswer, insertAnswer } from './answers.ts';

// The deltas a stream tails (migration 0010), on PGlite and on the real PostgreSQL server.
describe(`answer deltas on ${TEST_DB}`, () => {
  let db: Db;
  let accountId: string;
  beforeAll(async () => {
    db = await openTestDb();
    await migrate(db);
    accountId = (await insertAccount(db, { kind: 'consumer', name: 'Acme' })).id;
  });
  afterAll(() => db.close());

  const open = async () => {
    const id = newId('answer');
    await insertAnswer(db, {
      id,
      requestId: newId('request'),
      accountId,
      keyId: null,
      model: 'extractive',
      adapterId: null,
      query: 'q',
      sources: [],
      hold: 0n,
      livemode: true,
      deadlineSeconds: 60,
    });
    return id;
  };

  it('stores each seq once, reads them in seq order from a cursor, and refuses deltas once the answer is closed', async () => {
    const id = await open();
    expect(await appendDelta(db, id, 1, 'world')).toBe(true); // consumed ahead of seq 0
    expect(await appendDelta(db, id, 0, 'Hello ')).toBe(true);
    expect(await appendDelta(db, id, 0, 'Hello again ')).toBe(false); // a redelivery changes nothing
    expect(await readDeltas(db, id, 0)).toEqual({
      status: 'queued',
      deltas: [
        { seq: 0, text: 'Hello ' },
        { seq: 1, text: 'world' },
      ],
    });
    expect(await readDeltas(db, id, 1)).toEqual({ status: 'queued', deltas: [{ seq: 1, text: 'world' }] });
    expect(await readDeltas(db, id, 2)).toEqual({ status: 'queued', deltas: [] });
    expect(await readDeltas(db, newId('answer'), 0)).toBeNull();
    expect(await closeAnswer(db, id, 'failed', { error: { code: 'internal', message: 'x' } })).toBe(true);
    expect(await appendDelta(db, id, 2, '!')).toBe(false);
    expect((await readDeltas(db, id, 0))!.status).toBe('failed');
  });

  it('at close, settles the deltas to spell the whole text: keeps the in-order run, replaces what follows a gap', async () => {
    const id = await open();
    await appendDelta(db, id, 0, 'The tide ');
    await appendDelta(db, id, 2, 'the Moon.'); // seq 1 never arrived before the close
    await db.transaction((tx) => reconcileDeltas(tx, id, 'The tide follows the Moon.'));
    const { deltas } = (await readDeltas(db, id, 0))!;
    expect(deltas).toEqual([
      { seq: 0, text: 'The tide ' },
      { seq: 1, text: 'follows the Moon.' },
    ]);
    // complete already: nothing to add; a text that does not extend the run leaves the deltas alone
    await db.transaction((tx) => reconcileDeltas(tx, id, 'The tide follows the Moon.'));
    await db.transaction((tx) => reconcileDeltas(tx, id, 'Other words.'));
    expect((await readDeltas(db, id, 0))!.deltas).toEqual(deltas);
  });

  it('prunes only the deltas of answers closed longer ago than the retention', async () => {
    const running = await open();
    const closed = await open();
    await appendDelta(db, running, 0, 'a');
    await appendDelta(db, closed, 0, 'b');
    await closeAnswer(db, closed, 'expired', { error: { code: 'timeout', message: 'late' } });
    expect(await pruneDeltas(db)).toBe(0); // just closed: streams may still be reading
    await db.query(`UPDATE answers SET finished_at = now() - interval '1 hour' WHERE id = $1`, [closed]);
    expect(await pruneDeltas(db)).toBeGreaterThanOrEqual(1);
    expect((await readDeltas(db, closed, 0))!.deltas).toEqual([]);
    expect((await readDeltas(db, running, 0))!.deltas).toEqual([{ seq: 0, text: 'a' }]);
  });

  it.runIf(TEST_DB === 'pg')('listenPg hears NOTIFY from another connection, and reports itself up', async () => {
    const url = await testDatabaseUrl();
    const heard: string[] = [];
    let up = false;
    const listener = listenPg(url, 'citepay_test', { onPayload: (p) => heard.push(p), onState: (s) => (up = s) });
    const other = openPg(url, { max: 1 });
    try {
      await vi.waitFor(() => expect(up).toBe(true), { timeout: 10_000, interval: 20 });
      await other.query(`SELECT pg_notify('citepay_test', 'delta ans_1')`);
      await other.query(`SELECT pg_notify('elsewhere', 'x')`);
      await vi.waitFor(() => expect(heard).toEqual(['delta ans_1']), { timeout: 10_000, interval: 20 });
    } finally {
      await listener.close();
      await other.close();
    }
    expect(up).toBe(false);
  });
});
