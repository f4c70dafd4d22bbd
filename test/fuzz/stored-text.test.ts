import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../shared/services/container.ts';
import { checkLedger } from '../../shared/services/ledger-check.ts';
import { DOCS } from '../fixtures.ts';
import { createGenerationServices, startWorker, type WorkerHandle } from '../generation.ts';
import { createWorld, httpClient, type Client, type Reply } from '../http.ts';

// The fuzzer's rule across routes: what one route accepted, every route that reads it can process.
// Text is accepted as it is (no character is refused at input); the routes that later read it —
// document reads, retrieval, answers and chat, which carry it through the job and results queues —
// must process it: no 5xx, the answer completes. Characters SQS refuses (U+FFFF, other
// noncharacters, C0 controls, lone surrogates) are generated on purpose: they broke answers once.
const RUNS = Number(process.env.FUZZ_STORED_TEXT_RUNS ?? 4);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

const refusedBySqs = fc.constantFrom(
  '\uFFFF',
  '\uFFFE',
  '\uFDD0',
  '\u0000',
  '\u0001',
  '\u0008',
  '\u000B',
  '\u001F',
  '\uD800',
  '\uDFFF',
  '\u{1FFFF}',
);
const anyText = fc
  .array(
    fc.oneof(
      refusedBySqs,
      fc.string({ unit: 'binary', maxLength: 6 }),
      fc.constantFrom('é', '😀', '"', '\\', '<b>', '\n'),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((p) => p.join(''));

let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;
let worker: WorkerHandle;
let stopConsumer: () => Promise<void>;

beforeAll(async () => {
  const env = await createGenerationServices({ RATE_LIMIT_ACCOUNT_REQUESTS: '0', RATE_LIMIT_KEY_REQUESTS: '0' });
  services = env.services;
  stopConsumer = env.consumer.stop;
  client = httpClient(services);
  world = await createWorld(services, { credits: '100000000', price: '1000' });
  worker = await startWorker(services);
});
afterAll(async () => {
  await worker?.stop();
  await stopConsumer?.();
  await services?.db.close();
});

const noServerError = (what: string, r: Reply) =>
  expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBeLessThan(500);

describe(`stored text every route can carry (${RUNS} cases, seed ${SEED})`, () => {
  it('a document and a query accepted with any characters are processed by every route that reads them', async () => {
    const cases = fc.sample(fc.record({ title: anyText, inBody: anyText, inQuery: anyText }), {
      numRuns: RUNS,
      seed: SEED,
    });
    for (const [i, c] of cases.entries()) {
      const note = `case ${i} (FUZZ_SEED=${SEED}): ${JSON.stringify(c)}`;
      const dn = await client.call('POST', '/v1/datanets', {
        key: world.bob.key,
        json: { name: `stored text ${i}`, pricePerSource: '1000' },
      });
      expect(dn.status, note).toBe(201);
      // The odd text inside every sentence, so whatever the answer quotes carries it.
      const content = DOCS.bikes.content.replace(/\. /g, ` ${c.inBody}. `).replace(/\n\n/g, ` ${c.inBody}\n\n`);
      const up = await client.call('POST', `/v1/datanets/${dn.body.id}/documents`, {
        key: world.bob.key,
        json: { title: `${DOCS.bikes.title} ${c.title}`, contentType: 'text/plain', content },
      });
      noServerError(`upload, ${note}`, up);
      if (up.status !== 201) continue; // refused with a 4xx naming the field: nothing stored, nothing to carry
      const docId = up.body.document.id as string;
      noServerError(
        `GET document, ${note}`,
        await client.call('GET', `/v1/documents/${docId}`, { key: world.bob.key }),
      );
      noServerError(
        `GET content, ${note}`,
        await client.call('GET', `/v1/documents/${docId}/content`, { key: world.bob.key }),
      );
      noServerError(
        `list, ${note}`,
        await client.call('GET', `/v1/datanets/${dn.body.id}/documents`, { key: world.bob.key }),
      );

      const query = `how do I repair a bicycle puncture ${c.inQuery}`;
      const retrieved = await client.call('POST', '/v1/retrieve', {
        key: world.consumer.key,
        json: { query, datanets: [dn.body.id], topK: 3 },
      });
      noServerError(`retrieve, ${note}`, retrieved);
      if (retrieved.status !== 200) continue; // the query refused at input (a 4xx): the other routes must refuse it alike
      expect(retrieved.body.sources.length, note).toBeGreaterThan(0);

      const answer = await client.call('POST', '/v1/answers', {
        key: world.consumer.key,
        json: { query, datanets: [dn.body.id], topK: 3 },
      });
      expect(answer.status, `answer, ${note}: ${JSON.stringify(answer.body)}`).toBe(200);
      expect(
        answer.body.sources.map((s: { documentId: string }) => s.documentId),
        note,
      ).toContain(docId);
      const chat = await client.call('POST', '/v1/chat/completions', {
        key: world.consumer.key,
        json: { model: 'extractive', datanets: [dn.body.id], messages: [{ role: 'user', content: query }] },
      });
      expect(chat.status, `chat, ${note}: ${JSON.stringify(chat.body)}`).toBe(200);
    }
    expect((await checkLedger(services.db)).filter((c) => !c.ok)).toEqual([]);
  });
});
