import { mkdir } from 'node:fs/promises';
import { loadConfig, type Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import { migrate } from '../db/migrate.ts';
import type { Embedder } from '../embedder/index.ts';
import { createLogger } from '../logger.ts';
import type { ObjectStore } from '../object-store/index.ts';
import { createPgvectorIndex } from '../vector-index/pgvector.ts';
import type { VectorIndex } from '../vector-index/index.ts';
import type { JobQueue } from '../job-queue/index.ts';
import { analyzeAll } from '../store/analyze.ts';
import { AnswerHub } from './answer-hub.ts';
import type { Services } from './container.ts';
import { createEmbedderRegistry } from './embedders.ts';
import { createMetrics, registerDeploymentGauges, timedEmbedder, type Metrics } from './metrics.ts';
import type { SettlementChain } from '../chain/distributor.ts';
import type { SettlementDeps } from './settlement.ts';

// The one place that turns config into adapters. Heavy modules are imported
// lazily so a process only loads the adapters it uses.
export async function openDatabase(config: Config): Promise<Db> {
  if (config.databaseUrl) {
    const { openPg } = await import('../db/pg.ts');
    const log = createLogger(config.logLevel);
    return openPg(config.databaseUrl, {
      max: config.databasePoolMax,
      onIdleError: (err) =>
        log.warn('database connection lost; the pool reconnects on next use', { error: err.message }),
    });
  }
  const { openPglite } = await import('../db/pglite.ts');
  await mkdir(config.dataDir, { recursive: true });
  return openPglite(`${config.dataDir}/pglite`);
}

export async function openObjectStore(config: Config): Promise<ObjectStore> {
  const store = config.objectStore;
  if (store.kind === 's3') {
    const { createS3ObjectStore } = await import('../object-store/s3.ts');
    return createS3ObjectStore(store);
  }
  const { createFsObjectStore } = await import('../object-store/fs.ts');
  return createFsObjectStore(store.root);
}

/** EMBEDDER picks the engine (default: USE-lite on onnxruntime); with no config, the environment's. */
export async function openEmbedder(config: Config = loadConfig(), objectStore?: ObjectStore): Promise<Embedder> {
  const { openConfiguredEmbedder } = await import('../embedder/open.ts');
  return openConfiguredEmbedder(config.embedder, objectStore);
}

/**
 * Models a datanet may still be on besides the configured default: USE-lite (onnxruntime) is
 * built in, so datanets made with it keep their dense search while they move to another default.
 */
function builtInEmbedders(config: Config, metrics: Metrics): Record<string, () => Promise<Embedder>> {
  return {
    'use-lite-512': async () =>
      timedEmbedder(await openEmbedder({ ...config, embedder: { ...config.embedder, engine: 'use-lite' } }), metrics),
  };
}

export async function openVectorIndex(config: Config, db: Db): Promise<VectorIndex> {
  if (config.vectorIndex.kind === 'pinecone') {
    const { createPineconeIndex } = await import('../vector-index/pinecone.ts');
    return createPineconeIndex(config.vectorIndex);
  }
  return createPgvectorIndex(db);
}

export async function openJobQueue(config: Config): Promise<JobQueue | undefined> {
  if (!config.queue.jobsUrl) return undefined;
  const { createSqsClient, createSqsQueue } = await import('../job-queue/sqs.ts');
  return createSqsQueue(createSqsClient(config.queue), config.queue.jobsUrl);
}

/** With `db`, the settler key's transactions are serialised across every process on that database (one signer). */
export async function openChain(config: Config, db?: Db): Promise<SettlementChain | undefined> {
  const { rpcUrl, settlerKey, distributor, token, finality, localStatePath } = config.chain;
  if (!rpcUrl || !settlerKey || !distributor || !token) return undefined;
  const [{ createSettlementChain }, { createSerialSender }, { createDbSignerLock }, { privateKeyToAccount }] =
    await Promise.all([
      import('../chain/distributor.ts'),
      import('../chain/serial-sender.ts'),
      import('./signer-lock.ts'),
      import('viem/accounts'),
    ]);
  const sender = createSerialSender(db ? createDbSignerLock(db, privateKeyToAccount(settlerKey).address) : undefined);
  // A local anvil: its state is saved after every settler transaction (the reconciler covers the rest).
  const persist = localStatePath
    ? async () => {
        await (await import('../chain/anvil.ts')).dumpAnvilState(rpcUrl, localStatePath).catch(() => {});
      }
    : undefined;
  return createSettlementChain({
    rpcUrl,
    settlerKey,
    distributor,
    token,
    finality,
    sender,
    ...(persist ? { persist } : {}),
  });
}

/**
 * A settlement-only process (the cron Lambda, `npm run settle` against a shared database):
 * the migrated database, the chain and settleOnce's dependencies; no embedder, no queues.
 */
export async function openSettlement(config: Config, receiptTimeoutMs: number): Promise<SettlementDeps> {
  if (!config.chain.rpcUrl)
    throw new Error('settlement needs CHAIN_RPC_URL, DISTRIBUTOR_ADDRESS, TOKEN_ADDRESS and SETTLER_PRIVATE_KEY');
  const db = await openDatabase(config);
  const chain = (await openChain(config, db))!;
  await migrate(db);
  return { db, chain, log: createLogger(config.logLevel), minPayout: config.settlement.minPayout, receiptTimeoutMs };
}

/** A webhook-delivery process (the `Webhooks` cron Lambda): the migrated database and a logger; no embedder. */
export async function openWebhookDelivery(config: Config): Promise<Pick<Services, 'db' | 'log'>> {
  const db = await openDatabase(config);
  await migrate(db);
  return { db, log: createLogger(config.logLevel) };
}

/**
 * The payment passes' process (the `Payments` cron Lambda: x402 settle retry and pending sweep,
 * top-up watcher): the migrated database, the chain when configured (the treasury defaults to the
 * settler's address), a logger; no embedder, no queues.
 */
export async function openPaymentPasses(config: Config): Promise<Pick<Services, 'config' | 'db' | 'log' | 'chain'>> {
  const db = await openDatabase(config);
  await migrate(db);
  return { config, db, log: createLogger(config.logLevel), chain: await openChain(config, db) };
}

export async function createServices(config: Config, overrides: Partial<Services> = {}): Promise<Services> {
  const store = Promise.resolve(overrides.objectStore ?? openObjectStore(config));
  const metrics = overrides.metrics ?? createMetrics();
  const [db, objectStore, embedder] = await Promise.all([
    overrides.db ?? openDatabase(config),
    store,
    (overrides.embedder ? Promise.resolve(overrides.embedder) : store.then((s) => openEmbedder(config, s))).then((e) =>
      timedEmbedder(e, metrics),
    ),
  ]);
  await migrate(db);
  // PGlite has no autovacuum: give the planner fresh statistics once per start.
  if (db.kind === 'pglite') await analyzeAll(db);
  const jobQueue = 'jobQueue' in overrides ? overrides.jobQueue : await openJobQueue(config);
  if (!overrides.metrics) registerDeploymentGauges(metrics, { db, jobQueue });
  return {
    config,
    db,
    objectStore,
    embedder,
    embedders: overrides.embedders ?? createEmbedderRegistry(embedder, builtInEmbedders(config, metrics)),
    vectorIndex: overrides.vectorIndex ?? (await openVectorIndex(config, db)),
    log: overrides.log ?? createLogger(config.logLevel),
    jobQueue,
    answerHub: overrides.answerHub ?? new AnswerHub(),
    chain: 'chain' in overrides ? overrides.chain : await openChain(config, db),
    metrics,
    // Loaded on demand, like the other heavy adapters: pdf.js and mammoth are megabytes.
    documentReaders: overrides.documentReaders ?? (await import('../document-readers/node.ts')).documentReaders,
  };
}
