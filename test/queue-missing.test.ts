import { randomBytes } from 'node:crypto';
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { QueueUnavailableError } from '../shared/job-queue/index.ts';
import { createSqsClient, createSqsQueue, ensureQueues } from '../shared/job-queue/sqs.ts';
import type { Services } from '../shared/services/container.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { DOCS } from './fixtures.ts';
import { createWorld, httpClient, type Client } from './http.ts';
import { createTestServices } from './services.ts';

// A peer's queue server that listens before its queues exist (it is restarting): the queue answers
// QueueDoesNotExist, a 400 from SQS. For the API that is the queue being unavailable — 503 with
// Retry-After and nothing held or charged — never a 500.
const endpoint = () => inject('awsEndpoint');
const sqs = () =>
  createSqsClient({
    region: 'us-east-1',
    endpoint: endpoint(),
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });

describe('a queue that does not exist (yet)', () => {
  let services: Services;
  let client: Client;
  let world: Awaited<ReturnType<typeof createWorld>>;
  const suffix = randomBytes(4).toString('hex');
  const names = { jobs: `jobs-missing-${suffix}`, results: `results-missing-${suffix}` };
  let missing: { jobs: string; results: string };

  beforeAll(async () => {
    // The URLs a peer recorded, for queues its restarted server has not created again yet.
    const urls = await ensureQueues(sqs(), names, { visibilitySeconds: 30, maxReceives: 5 });
    for (const url of [urls.jobsUrl, urls.resultsUrl, urls.deadLetterUrl])
      await sqs().send(new DeleteQueueCommand({ QueueUrl: url }));
    missing = { jobs: urls.jobsUrl, results: urls.resultsUrl };
    services = await createTestServices({
      JOB_QUEUE_URL: missing.jobs,
      RESULT_QUEUE_URL: missing.results,
      SQS_ENDPOINT: endpoint(),
    });
    client = httpClient(services);
    world = await createWorld(services, { credits: '1000000', price: '1000' });
    expect(
      (
        await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, {
          key: world.bob.key,
          json: DOCS.bikes,
        })
      ).status,
    ).toBe(201);
  });
  afterAll(async () => services?.db.close());

  it('is QueueUnavailableError for every operation of the adapter', async () => {
    const queue = createSqsQueue(sqs(), missing.jobs);
    await expect(queue.send('{}')).rejects.toBeInstanceOf(QueueUnavailableError);
    await expect(queue.receive({ maxMessages: 1, waitSeconds: 0 })).rejects.toBeInstanceOf(QueueUnavailableError);
    await expect(queue.depth()).rejects.toBeInstanceOf(QueueUnavailableError);
  });

  it('answers 503 + Retry-After to an answer, holds and charges nothing, and works once the queues exist', async () => {
    for (const path of ['/v1/answers', '/v1/chat/completions']) {
      const json =
        path === '/v1/answers'
          ? { query: 'fix a bicycle puncture', topK: 1 }
          : { model: 'extractive', messages: [{ role: 'user', content: 'fix a bicycle puncture' }] };
      const r = await client.call('POST', path, { key: world.consumer.key, json });
      expect(r.status, JSON.stringify(r.body)).toBe(503);
      expect(r.body.error.code).toBe('SERVICE_UNAVAILABLE');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    const usage = await client.call('GET', '/v1/usage', { key: world.consumer.key });
    expect(usage.body.balance).toBe('1000000');
    const open = await services.db.query(`SELECT id FROM answers WHERE status IN ('queued', 'running')`);
    expect(open.rows).toEqual([]);
    expect((await checkLedger(services.db)).filter((c) => !c.ok)).toEqual([]);

    // The peer finishes starting: the same recorded URLs now work (the job is queued: 202 in async mode).
    await ensureQueues(sqs(), names, { visibilitySeconds: 30, maxReceives: 5 });
    const later = await client.call('POST', '/v1/answers', {
      key: world.consumer.key,
      json: { query: 'fix a bicycle puncture', topK: 1, mode: 'async' },
    });
    expect(later.status).toBe(202);
  });
});
