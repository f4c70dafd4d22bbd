import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Services } from '../shared/services/container.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { expireOverdue } from '../shared/store/answers.ts';
import { DOCS } from './fixtures.ts';
import { createGenerationServices, startWorker, type WorkerHandle } from './generation.ts';
import { createWorld, httpClient, type Client, type Reply } from './http.ts';

// Holds, the money rule for answers: an accepted answer reserves the most it can cost, so answers and
// retrieves racing on a balance that covers one answer can never spend more than the balance.
// Expected values come from the database rows (the hold an answer recorded), not from the pricing code.
let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;
let stopConsumer: () => Promise<void>;
let worker: WorkerHandle | undefined;

beforeAll(async () => {
  const env = await createGenerationServices({
    RATE_LIMIT_ACCOUNT_REQUESTS: '0',
    RATE_LIMIT_KEY_REQUESTS: '0',
    RATE_LIMIT_ACCOUNT_ANSWERS: '0',
    RATE_LIMIT_KEY_ANSWERS: '0',
  });
  services = env.services;
  stopConsumer = env.consumer.stop;
  client = httpClient(services);
  world = await createWorld(services, { credits: '10000000', price: '1000' });
  expect(
    (await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes }))
      .status,
  ).toBe(201);
});
afterAll(async () => {
  await worker?.stop();
  await stopConsumer?.();
  await services?.db.close();
});

const QUESTION = { query: 'how do I fix a bicycle puncture?', topK: 2, maxTokens: 64, mode: 'async' };
const holdOf = async (id: string) =>
  (await services.db.query<{ hold: bigint }>(`SELECT hold FROM answers WHERE id = $1`, [id])).rows[0]!.hold;
async function consumer(credits: bigint) {
  const r = await client.call('POST', '/v1/admin/accounts', {
    key: world.admin,
    json: { kind: 'consumer', name: `holds ${credits}`, credits: credits.toString() },
  });
  expect(r.status).toBe(201);
  return { id: r.body.account.id as string, key: r.body.apiKey.key as string };
}
const balanceOf = async (key: string) => BigInt((await client.call('GET', '/v1/usage', { key })).body.balance);

describe('holds on a balance that covers one answer', () => {
  it('accepts at most one of many concurrent answers, refuses the rest with 402 naming what is held, and never goes below zero', async () => {
    // The hold of this question, as the database records it (no worker yet: it stays queued).
    const probe = await client.call('POST', '/v1/answers', { key: world.consumer.key, json: QUESTION });
    expect(probe.status).toBe(202);
    const hold = await holdOf(probe.body.id);
    expect(hold).toBeGreaterThan(0n);

    const credits = hold + hold / 2n; // one answer fits, two do not
    const acct = await consumer(credits);
    const replies: Reply[] = await Promise.all([
      ...Array.from({ length: 4 }, () => client.call('POST', '/v1/answers', { key: acct.key, json: QUESTION })),
      ...Array.from({ length: 4 }, () =>
        client.call('POST', '/v1/retrieve', { key: acct.key, json: { query: QUESTION.query, topK: 2 } }),
      ),
    ]);
    const answers = replies.slice(0, 4);
    const retrieves = replies.slice(4);
    for (const r of replies) expect([200, 202, 402], JSON.stringify(r.body)).toContain(r.status);
    const accepted = answers.filter((r) => r.status === 202);
    expect(accepted.length).toBeLessThanOrEqual(1);

    const held = (
      await services.db.query<{ held: bigint }>(
        `SELECT coalesce(sum(hold), 0)::bigint AS held FROM answers WHERE account_id = $1 AND status IN ('queued', 'running')`,
        [acct.id],
      )
    ).rows[0]!.held;
    expect(held).toBe(accepted.length === 1 ? hold : 0n);
    const balance = await balanceOf(acct.key);
    expect(balance).toBeGreaterThanOrEqual(0n);
    expect(balance - held).toBeGreaterThanOrEqual(0n); // what is held was there to hold
    for (const r of replies.filter((x) => x.status === 402)) {
      const d = r.body.error.details;
      expect(BigInt(d.available)).toBe(BigInt(d.balance) - BigInt(d.held));
      if (d.required !== null) expect(BigInt(d.available)).toBeLessThan(BigInt(d.required));
    }
    // When an answer was accepted, a 402 after it saw its hold.
    if (accepted.length === 1)
      expect(answers.filter((r) => r.status === 402).some((r) => BigInt(r.body.error.details.held) === hold)).toBe(
        true,
      );
    const retrieved = retrieves.filter((r) => r.status === 200).reduce((a, r) => a + BigInt(r.body.usage.charged), 0n);
    expect(balance).toBe(credits - retrieved);

    // The worker runs the queued answers: each is charged at most its hold; the balance stays ≥ 0.
    worker = await startWorker(services);
    for (const r of [probe, ...accepted]) {
      await vi.waitFor(
        async () =>
          expect(
            (await client.call('GET', `/v1/answers/${r.body.id}`, { key: r === probe ? world.consumer.key : acct.key }))
              .body.status,
          ).toBe('succeeded'),
        { timeout: 60_000, interval: 200 },
      );
    }
    let charged = 0n;
    for (const r of accepted) {
      const a = await client.call('GET', `/v1/answers/${r.body.id}`, { key: acct.key });
      charged += BigInt(a.body.usage.charged);
      expect(BigInt(a.body.usage.charged)).toBeLessThanOrEqual(hold);
    }
    const after = await balanceOf(acct.key);
    expect(after).toBe(credits - retrieved - charged);
    expect(after).toBeGreaterThanOrEqual(0n);
    expect((await checkLedger(services.db)).filter((c) => !c.ok)).toEqual([]);
  });

  it('releases the hold of an answer past its deadline (expireOverdue) and a late result charges nothing', async () => {
    await worker?.stop();
    worker = undefined;
    const acct = await consumer(10_000_000n);
    const r = await client.call('POST', '/v1/answers', { key: acct.key, json: QUESTION });
    expect(r.status).toBe(202);
    const hold = await holdOf(r.body.id);
    const whileHeld = await client.call('GET', '/v1/usage', { key: acct.key });
    expect(BigInt(whileHeld.body.balance)).toBe(10_000_000n); // a hold is not a charge
    // Its deadline passes (moved, rather than waited for).
    await services.db.query(`UPDATE answers SET deadline_at = now() - interval '1 second' WHERE id = $1`, [r.body.id]);
    // expireOverdue, called here and by the results consumer's sweep (whichever comes first).
    const expired = await expireOverdue(services.db);
    expect(expired.every((id) => typeof id === 'string')).toBe(true);
    const row = (
      await services.db.query<{ status: string; open: boolean }>(
        `SELECT status, status IN ('queued', 'running') AS open FROM answers WHERE id = $1`,
        [r.body.id],
      )
    ).rows[0]!;
    expect(row).toEqual({ status: 'expired', open: false });
    const held = (
      await services.db.query<{ held: bigint }>(
        `SELECT coalesce(sum(hold), 0)::bigint AS held FROM answers WHERE account_id = $1 AND status IN ('queued', 'running')`,
        [acct.id],
      )
    ).rows[0]!.held;
    expect(held).toBe(0n);
    expect(hold).toBeGreaterThan(0n);

    // The job was still queued: the worker now produces its result, which must charge nothing.
    worker = await startWorker(services);
    const late = await client.call('POST', '/v1/answers', { key: acct.key, json: QUESTION }); // a later answer, to know the worker has caught up
    await vi.waitFor(
      async () =>
        expect((await client.call('GET', `/v1/answers/${late.body.id}`, { key: acct.key })).body.status).toBe(
          'succeeded',
        ),
      { timeout: 60_000, interval: 200 },
    );
    const a = await client.call('GET', `/v1/answers/${r.body.id}`, { key: acct.key });
    expect(a.body.status).toBe('expired');
    const lateCharge = BigInt(
      (await client.call('GET', `/v1/answers/${late.body.id}`, { key: acct.key })).body.usage.charged,
    );
    expect(await balanceOf(acct.key)).toBe(10_000_000n - lateCharge);
    expect((await checkLedger(services.db)).filter((c) => !c.ok)).toEqual([]);
  });

  it('expires instead of charging a result that arrives past the deadline before any sweep ran', async () => {
    const acct = await consumer(10_000_000n);
    await worker?.stop();
    worker = undefined;
    const r = await client.call('POST', '/v1/answers', { key: acct.key, json: QUESTION });
    expect(r.status).toBe(202);
    // Past its deadline, not yet swept: only the charge-time check stands between the result and a charge.
    await services.db.query(`UPDATE answers SET deadline_at = now() - interval '1 second' WHERE id = $1`, [r.body.id]);
    worker = await startWorker(services);
    await vi.waitFor(
      async () =>
        expect((await client.call('GET', `/v1/answers/${r.body.id}`, { key: acct.key })).body.status).toBe('expired'),
      { timeout: 60_000, interval: 200 },
    );
    expect(await balanceOf(acct.key)).toBe(10_000_000n);
    expect(
      (
        await services.db.query(
          `SELECT t.id FROM ledger_transactions t JOIN answers a ON a.request_id = t.request_id WHERE a.id = $1`,
          [r.body.id],
        )
      ).rows,
    ).toEqual([]);
  });
});
