import { NotFound, Conflict } from '../errors.ts';
import { newId } from '../ids.ts';
import { documentFields, documentVectorText } from '../core/document-fields.ts';
import {
  chunksMissingVectors,
  countProgress,
  documentsMissingVectors,
  findReembedJob,
  insertReembedJob,
  latestReembedJob,
  runningReembedJobs,
  updateReembedJob,
  type ReembedJob,
} from '../store/reembed.ts';
import type { Embedder } from '../embedder/index.ts';
import type { Principal } from './api-keys.ts';
import type { Services } from './container.ts';
import { readContent, requireManagedDatanet, type ContentType } from './documents.ts';
import { findDatanet, listDatanets, lockDatanet, switchEmbeddingModel, type Datanet } from '../store/datanets.ts';

// Switching a datanet's embedding model without a gap: the job embeds every live chunk with
// the new model beside the old vectors (in batches, progress recorded), then — when nothing
// is missing, checked under the datanet's row lock that ingestion also takes — switches the
// datanet in one transaction and drops the old vectors. Until then queries use the old model.
const BATCH = 64;

export async function startReembed(
  services: Services,
  principal: Principal,
  datanetId: string,
  model: string,
  hooks: ReembedHooks = {},
): Promise<ReembedJob> {
  const datanet = await requireManagedDatanet(services, principal, datanetId);
  if (datanet.embeddingModel === model) throw new Conflict(`datanet ${datanetId} already uses ${model}`);
  return beginReembed(services, datanet, model, hooks);
}

async function beginReembed(
  services: Services,
  datanet: Datanet,
  model: string,
  hooks: ReembedHooks = {},
): Promise<ReembedJob> {
  const embedder = await services.embedders.get(model);
  const running = await latestReembedJob(services.db, datanet.id);
  if (running?.status === 'running')
    throw new Conflict(`datanet ${datanet.id} is already moving to ${running.toModel} (job ${running.id})`);
  await services.vectorIndex.prepare(model, embedder.dimension);
  let job: ReembedJob;
  try {
    job = await insertReembedJob(services.db, {
      id: newId('job'),
      datanetId: datanet.id,
      fromModel: datanet.embeddingModel,
      toModel: model,
      toDim: embedder.dimension,
    });
  } catch (err) {
    if (await latestReembedJob(services.db, datanet.id).then((j) => j?.status === 'running'))
      throw new Conflict(`datanet ${datanet.id} is already moving`);
    throw err;
  }
  void runInBackground(services, job, hooks);
  return job;
}

/**
 * On start, after the default model changed (EMBEDDER): move every datanet still on another model
 * to it in the background. Until each finishes, its queries keep using its old vectors when this
 * process can still embed with the old model, and lexical retrieval otherwise.
 */
export async function reembedToDefaultModel(services: Services, hooks: ReembedHooks = {}): Promise<ReembedJob[]> {
  const target = services.embedders.defaultModel;
  const jobs: ReembedJob[] = [];
  for (const listed of await listDatanets(services.db)) {
    if (listed.embeddingModel === target) continue;
    const latest = await latestReembedJob(services.db, listed.id);
    if (latest?.status === 'running') continue;
    // Read again after the job: one that finished since the list switched the model in the same
    // transaction that ended it, so a fresh read is never a stale "still on the old model".
    const datanet = await findDatanet(services.db, listed.id);
    if (!datanet || datanet.embeddingModel === target) continue;
    services.log.info('datanet is on another embedding model than the default: re-embedding it', {
      datanetId: datanet.id,
      from: datanet.embeddingModel,
      to: target,
    });
    jobs.push(await beginReembed(services, datanet, target, hooks));
  }
  return jobs;
}

export async function reembedStatus(services: Services, principal: Principal, datanetId: string): Promise<ReembedJob> {
  await requireManagedDatanet(services, principal, datanetId);
  const job = await latestReembedJob(services.db, datanetId);
  if (!job) throw new NotFound(`datanet ${datanetId} has never been re-embedded`, 'reembed job', datanetId);
  return job;
}

const inProcess = new Map<string, Promise<void>>();

/** Runs the job here unless this process already is (then its run); errors end up on the job, never thrown. */
export function runInBackground(services: Services, job: ReembedJob, hooks: ReembedHooks = {}): Promise<void> {
  const running = inProcess.get(job.id);
  if (running) return running;
  const run = runReembedJob(services, job, hooks)
    .catch(async (err: Error) => {
      services.log.error('re-embedding failed', { jobId: job.id, datanetId: job.datanetId, error: err.message });
      await updateReembedJob(services.db, job.id, { status: 'failed', error: err.message.slice(0, 1000) }).catch(
        () => {},
      );
    })
    .finally(() => inProcess.delete(job.id));
  inProcess.set(job.id, run);
  return run;
}

/** On start: carry on with jobs a previous process left running (their vectors so far are kept). */
export async function resumeReembedJobs(services: Services): Promise<void> {
  for (const job of await runningReembedJobs(services.db)) void runInBackground(services, job);
}

/**
 * One slice of re-embedding for a process that cannot run in the background (the cron Lambda):
 * start jobs for datanets off the default model, work on every running job until `until`
 * (ms since the epoch), and return the jobs left for the next slice. Progress is in the database.
 */
export async function advanceReembedJobs(services: Services, until: number): Promise<ReembedJob[]> {
  await reembedToDefaultModel(services, { until });
  await Promise.all((await runningReembedJobs(services.db)).map((job) => runInBackground(services, job, { until })));
  return runningReembedJobs(services.db);
}

export interface ReembedHooks {
  /** stop (the job stays running, its progress kept) once a batch ends after this time, in ms since the epoch */
  until?: number;
  batchSize?: number;
  /** test hook, awaited after each batch */
  afterBatch?: (progress: { done: number; total: number }) => Promise<void> | void;
}

async function runReembedJob(services: Services, job: ReembedJob, hooks: ReembedHooks): Promise<void> {
  const { db, vectorIndex } = services;
  const embedder = await services.embedders.get(job.toModel);
  services.log.info('re-embedding started', {
    jobId: job.id,
    datanetId: job.datanetId,
    from: job.fromModel,
    to: job.toModel,
  });
  // Walks the chunks in id order; at the end it wraps around once to catch chunks uploaded meanwhile.
  let cursor = '';
  for (;;) {
    if (hooks.until !== undefined && Date.now() >= hooks.until) {
      services.log.info('re-embedding paused until the next slice', { jobId: job.id, datanetId: job.datanetId });
      return;
    }
    const current = await findReembedJob(db, job.id);
    if (current?.status !== 'running') return; // cancelled or finished elsewhere
    const batch = await chunksMissingVectors(
      db,
      vectorIndex,
      job.datanetId,
      job.toModel,
      hooks.batchSize ?? BATCH,
      cursor,
    );
    if (batch.length === 0 && cursor !== '') {
      cursor = '';
      continue;
    }
    if (batch.length === 0 && (await embedDocumentVectors(services, job, embedder)) > 0) continue;
    if (batch.length === 0) {
      if (await switchModel(services, job)) return;
      continue; // a document arrived meanwhile: embed it first
    }
    cursor = batch.at(-1)!.id;
    const vectors = await embedder.embed(batch.map((c) => c.text));
    await vectorIndex.upsert(
      job.toModel,
      batch.map((c, i) => ({
        chunkId: c.id,
        datanetId: job.datanetId,
        documentId: c.documentId,
        vector: vectors[i]!,
        metadata: c.metadata,
      })),
    );
    const progress = await countProgress(db, vectorIndex, job.datanetId, job.toModel);
    await updateReembedJob(db, job.id, progress);
    await hooks.afterBatch?.(progress);
  }
}

async function switchModel(services: Services, job: ReembedJob): Promise<boolean> {
  const switched = await services.db.transaction(async (tx) => {
    await lockDatanet(tx, job.datanetId);
    if ((await chunksMissingVectors(tx, services.vectorIndex, job.datanetId, job.toModel, 1)).length > 0) return false;
    if ((await documentsMissingVectors(tx, services.vectorIndex, job.datanetId, job.toModel, 1)).length > 0)
      return false;
    await switchEmbeddingModel(tx, job.datanetId, job.toModel, job.toDim);
    const progress = await countProgress(tx, services.vectorIndex, job.datanetId, job.toModel);
    await updateReembedJob(tx, job.id, { ...progress, status: 'succeeded' });
    return true;
  });
  if (!switched) return false;
  // Nothing reads the old model's vectors for this datanet any more.
  await services.vectorIndex.dropModel(job.fromModel, job.datanetId);
  services.log.info('re-embedding finished: datanet switched', {
    jobId: job.id,
    datanetId: job.datanetId,
    model: job.toModel,
  });
  return true;
}

/** Document vectors (title + summary) for the new model, re-derived from the stored raw document as ingestion does. */
async function embedDocumentVectors(services: Services, job: ReembedJob, embedder: Embedder): Promise<number> {
  const docs = await documentsMissingVectors(services.db, services.vectorIndex, job.datanetId, job.toModel, BATCH);
  if (docs.length === 0) return 0;
  const texts = await Promise.all(
    docs.map(async (d) => {
      const raw = await services.objectStore.get(d.objectKey);
      if (!raw) return d.title;
      const { text, chunks } = await readContent(services, d.contentType as ContentType, raw);
      return documentVectorText(documentFields(d.title, text, chunks));
    }),
  );
  const vectors = await embedder.embed(texts);
  await services.vectorIndex.upsertDocuments(
    job.toModel,
    docs.map((d, i) => ({ documentId: d.id, datanetId: job.datanetId, vector: vectors[i]!, metadata: d.metadata })),
  );
  return docs.length;
}
