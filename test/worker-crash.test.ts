import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../shared/services/container.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { createWorld, httpClient, type Client } from './http.ts';
import { DOCS } from './fixtures.ts';
import { defaultReply, startFakeEngine, type FakeEngine } from './fake-engine.ts';
import { createGenerationServices, startWorker, type WorkerHandle } from './generation.ts';

// Kill the worker process in the middle of a job: SQS redelivers the job after its
// visibility timeout, a new worker completes it, and the caller is charged exactly once.
let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;
let engine: FakeEngine;
let stopConsumer: () => Promise<void>;
const workers: WorkerHandle[] = [];
// Heartbeats every second against a 10 s timeout: a loaded machine can stall the living worker for
// seconds, and a 3 s margin (the 4 s timeout this test had) let the job reappear and run twice in the
// first worker before the kill. The redelivery after the kill waits out those 10 s instead.
const VISIBILITY_SECONDS = 10;
const WORKER_ENV = { VISIBILITY_TIMEOUT_SECONDS: String(VISIBILITY_SECONDS), HEARTBEAT_SECONDS: '1' };

beforeAll(async () => {
  // The first generation (the one killed) streams for a minute, so the kill always lands mid-job
  // however slow the machine; the redelivered one is the engine's usual cited reply.
  let requests = 0;
  engine = await startFakeEngine({
    delayMsPerToken: 120,
    reply: (chat) => (++requests === 1 ? 'stalling '.repeat(500) : defaultReply(chat)),
  });
  const env = await createGenerationServices(
    { ENGINE_MODELS: JSON.stringify([{ id: 'fake-base' }]) },
    { visibilitySeconds: VISIBILITY_SECONDS },
  );
  services = env.services;
  stopConsumer = env.consumer.stop;
  client = httpClient(services);
  world = await createWorld(services, { credits: '1000000' });
  await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: DOCS.tides });
});
afterAll(async () => {
  for (const w of workers) await w.stop('SIGKILL');
  await stopConsumer?.();
  await engine?.stop();
  await services?.db.close();
});

async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a worker killed mid-job', () => {
  it('is redelivered, completes once, and is charged once; the ledger check stays green', async () => {
    const first = await startWorker(services, { GENERATOR_ENGINE_URL: engine.url, ...WORKER_ENV });
    workers.push(first);
    const accepted = await client.call('POST', '/v1/answers', {
      key: world.consumer.key,
      json: { query: 'What causes the tides?', model: 'fake-base', mode: 'async' },
    });
    expect(accepted.status).toBe(202);
    const id = accepted.body.id;
    // Generation has begun on the first worker: the engine is streaming to it.
    await waitFor(
      async () => engine.requests['/v1/chat/completions'].length,
      (n) => n >= 1,
    );
    await waitFor(
      () => client.call('GET', `/v1/answers/${id}`, { key: world.consumer.key }),
      (r) => r.body.status === 'running',
    );
    await first.stop('SIGKILL');

    workers.push(await startWorker(services, { GENERATOR_ENGINE_URL: engine.url, ...WORKER_ENV }));
    const done = await waitFor(
      () => client.call('GET', `/v1/answers/${id}?wait=10`, { key: world.consumer.key }),
      (r) => r.body.status !== 'running' && r.body.status !== 'queued',
    );
    expect(done.body.status).toBe('succeeded');
    expect(engine.requests['/v1/chat/completions'].length).toBe(2);

    const charges = await services.db.query(`SELECT id FROM ledger_transactions WHERE request_id = $1`, [
      done.body.requestId,
    ]);
    expect(charges.rows).toHaveLength(1);
    const usage = await client.call('GET', '/v1/usage', { key: world.consumer.key });
    expect(usage.body.calls).toBe(1);
    expect(usage.body.spend).toBe(done.body.usage.charged);
    expect((await checkLedger(services.db)).filter((c) => !c.ok)).toEqual([]);
  });
});
