import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Embedder } from '../embedder/index.ts';
import { findDatanet } from '../store/datanets.ts';
import type { Services } from './container.ts';
import { createEmbedderRegistry } from './embedders.ts';
import { advanceReembedJobs, reembedToDefaultModel, startReembed } from './reembed.ts';
import { authenticate } from './api-keys.ts';
import { createTestServices, sharedEmbedder } from '../../test/services.ts';
import { createWorld, httpClient, type Client } from '../../test/http.ts';
import { DOCS } from '../../test/fixtures.ts';

// The same real model registered under a second id: enough to move a datanet between two
// model ids and watch the vectors, the progress and the switch (no second model's weights here).
let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;

beforeAll(async () => {
  const base = await sharedEmbedder();
  const second: Embedder = { modelId: 'use-lite-copy', dimension: base.dimension, embed: (texts) => base.embed(texts) };
  services = await createTestServices(
    {},
    { embedders: createEmbedderRegistry(base, { 'use-lite-copy': async () => second }) },
  );
  client = httpClient(services);
  world = await createWorld(services);
  for (const doc of [DOCS.bread, DOCS.tides])
    await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: doc });
});
afterAll(() => services.db.close());

const vectorCount = async (model: string) =>
  Number(
    (
      await services.db.query<{ n: bigint }>(
        `SELECT count(*)::bigint AS n FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id WHERE c.datanet_id = $1 AND v.model = $2`,
        [world.ada.datanet, model],
      )
    ).rows[0]!.n,
  );

describe('moving a datanet to another embedding model', () => {
  it('refuses what cannot be done', async () => {
    const post = (json: unknown, key = world.ada.key) =>
      client.call('POST', `/v1/datanets/${world.ada.datanet}/reembed`, { key, json });
    expect((await client.call('GET', `/v1/datanets/${world.ada.datanet}/reembed`, { key: world.ada.key })).status).toBe(
      404,
    );
    expect((await post({ model: 'nope' })).body.error.message).toMatch(/unknown embedding model nope/);
    expect((await post({ model: 'use-lite-512' })).status).toBe(409);
    expect((await post({ model: 'use-lite-copy' }, world.bob.key)).status).toBe(404); // another contributor's datanet
    expect((await post({ model: 'use-lite-copy' }, world.consumer.key)).status).toBe(403);
  });

  it('fills the new vectors in the background while queries keep using the old ones, then switches', async () => {
    const principal = (await authenticate(services.db, world.ada.key))!;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let firstBatch!: () => void;
    const reachedFirstBatch = new Promise<void>((r) => (firstBatch = r));
    const chunksBefore = await vectorCount('use-lite-512');
    const job = await startReembed(services, principal, world.ada.datanet, 'use-lite-copy', {
      batchSize: 1,
      afterBatch: async () => {
        firstBatch();
        await gate;
      },
    });
    await reachedFirstBatch;

    // Mid-way: still on the old model, retrieval unchanged, progress visible.
    expect((await findDatanet(services.db, world.ada.datanet))!.embeddingModel).toBe('use-lite-512');
    const during = await client.call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      json: { query: 'what makes the tide rise twice a day', datanets: [world.ada.datanet], topK: 1 },
    });
    expect(during.body.sources[0].similarity).not.toBeNull(); // found by the dense side, with the old vectors
    const status = await client.call('GET', `/v1/datanets/${world.ada.datanet}/reembed`, { key: world.ada.key });
    expect(status.body).toMatchObject({
      id: job.id,
      status: 'running',
      toModel: 'use-lite-copy',
      progress: { done: 1, total: chunksBefore },
    });
    // A document uploaded meanwhile is embedded with the current model, and the job picks it up.
    const late = await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, {
      key: world.ada.key,
      json: DOCS.bikes,
    });
    expect(late.status).toBe(201);
    release();

    let finished = status.body;
    while (finished.status === 'running') {
      await new Promise((r) => setTimeout(r, 50));
      finished = (await client.call('GET', `/v1/datanets/${world.ada.datanet}/reembed`, { key: world.ada.key })).body;
    }
    const total = chunksBefore + late.body.document.chunkCount;
    expect(finished).toMatchObject({ status: 'succeeded', progress: { done: total, total, fraction: 1 } });
    expect((await findDatanet(services.db, world.ada.datanet))!.embeddingModel).toBe('use-lite-copy');
    expect(await vectorCount('use-lite-copy')).toBe(total);
    expect(await vectorCount('use-lite-512')).toBe(0); // the old vectors are gone
    const docVectors = await services.db.query<{ model: string; n: bigint }>(
      `SELECT model, count(*)::bigint AS n FROM document_vectors WHERE datanet_id = $1 GROUP BY model`,
      [world.ada.datanet],
    );
    expect(docVectors.rows).toEqual([{ model: 'use-lite-copy', n: 3n }]); // document vectors moved too
    const after = await client.call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      json: { query: 'fix a flat bicycle tyre', datanets: [world.ada.datanet], topK: 1 },
    });
    expect(after.body.sources[0].documentId).toBe(late.body.document.id);
    expect(after.body.sources[0].similarity).not.toBeNull(); // dense hit from the new model's vectors
    // New uploads now embed with the new model.
    await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, {
      key: world.ada.key,
      json: { title: 'Git', content: 'To undo the last commit but keep your changes, run git reset --soft HEAD~1.' },
    });
    expect(await vectorCount('use-lite-512')).toBe(0);
  });
});

describe('a new default embedding model', () => {
  it('moves every datanet still on another model to it, in the background', async () => {
    const base = await sharedEmbedder();
    const newDefault: Embedder = {
      modelId: 'use-lite-next',
      dimension: base.dimension,
      embed: (texts) => base.embed(texts),
    };
    // The same database, restarted with another default model (the old one still available).
    const restarted: Services = {
      ...services,
      embedder: newDefault,
      embedders: createEmbedderRegistry(newDefault, {
        'use-lite-copy': async () => ({ ...newDefault, modelId: 'use-lite-copy' }),
      }),
    };
    const jobs = await reembedToDefaultModel(restarted);
    expect(jobs.map((j) => [j.datanetId, j.toModel]).sort()).toEqual(
      [
        [world.ada.datanet, 'use-lite-next'],
        [world.bob.datanet, 'use-lite-next'],
      ].sort(),
    );
    expect(await reembedToDefaultModel(restarted)).toEqual([]); // already running: not started twice
    for (const datanetId of [world.ada.datanet, world.bob.datanet]) {
      while ((await findDatanet(services.db, datanetId))!.embeddingModel !== 'use-lite-next')
        await new Promise((r) => setTimeout(r, 50));
    }
    expect(await reembedToDefaultModel(restarted)).toEqual([]);
  });
});

describe('re-embedding in slices (the cron Lambda)', () => {
  it('keeps the progress of a slice that ran out of time and finishes in a later one', async () => {
    const base = await sharedEmbedder();
    const later: Embedder = {
      modelId: 'use-lite-later',
      dimension: base.dimension,
      embed: (texts) => base.embed(texts),
    };
    const cron: Services = { ...services, embedder: later, embedders: createEmbedderRegistry(later, {}) };
    const datanets = [world.ada.datanet, world.bob.datanet];
    const left = await advanceReembedJobs(cron, Date.now()); // no time at all: jobs started, nothing embedded
    expect(left.map((j) => [j.datanetId, j.toModel, j.done]).sort()).toEqual(
      datanets.map((d) => [d, 'use-lite-later', 0]).sort(),
    );
    for (const id of datanets) expect((await findDatanet(services.db, id))!.embeddingModel).toBe('use-lite-next');

    expect(await advanceReembedJobs(cron, Date.now() + 60_000)).toEqual([]); // the next slice finishes them
    for (const id of datanets) expect((await findDatanet(services.db, id))!.embeddingModel).toBe('use-lite-later');
  });
});
