import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Queryable } from '../db/index.ts';
import type { Embedder } from '../embedder/index.ts';
import type { JobQueue } from '../job-queue/index.ts';
import { FUNDING_ACCOUNT_ID, PROTOCOL_ACCOUNT_ID } from '../store/accounts.ts';
import {
  answerCountsByStatus,
  chargedTotal,
  creditedByRecipient,
  epochCountsByStatus,
  lastConfirmedEpochAge,
  oldestQueuedAnswerAge,
  recentGenerationSeconds,
} from '../store/deployment-metrics.ts';
import { chainRepairCounts } from '../store/settlement.ts';

// Prometheus metrics for one services container (prom-client). Two kinds:
// - observed in this process as things happen: HTTP requests and latency, embedder latency;
// - read from the database at scrape time: money charged and credited, answers by status and the
//   worker's generation time, the oldest waiting job, settlement epochs. Those are the whole
//   deployment's (every process and Lambda writes the same database), so any instance's /metrics
//   tells the truth about them, and nothing is lost when a process or Lambda goes away.
export type Metrics = ReturnType<typeof createMetrics>;

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics() {
  const registry = new Registry();
  return {
    registry,
    httpRequests: new Counter({
      name: 'citepay_http_requests_total',
      help: 'HTTP requests served by this process',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpSeconds: new Histogram({
      name: 'citepay_http_request_duration_seconds',
      help: 'HTTP request latency in this process',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    embedderSeconds: new Histogram({
      name: 'citepay_embedder_duration_seconds',
      help: 'Time to embed one batch of texts',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
  };
}

/** The embedder, timed into citepay_embedder_duration_seconds. */
export function timedEmbedder(inner: Embedder, metrics: Metrics): Embedder {
  return {
    modelId: inner.modelId,
    dimension: inner.dimension,
    ...(inner.countTokens ? { countTokens: (texts: readonly string[]) => inner.countTokens!(texts) } : {}),
    async embed(texts) {
      const end = metrics.embedderSeconds.startTimer({ model: inner.modelId });
      try {
        return await inner.embed(texts);
      } finally {
        end();
      }
    },
  };
}

/** Registers the gauges read from the database (and the job queue) when Prometheus scrapes. */
export function registerDeploymentGauges(metrics: Metrics, deps: { db: Queryable; jobQueue: JobQueue | undefined }) {
  const { registry } = metrics;
  const { db } = deps;
  new Gauge({
    name: 'citepay_ledger_charged_micro_usd',
    help: 'Micro-USD ever charged to consumers (cumulative, from the ledger)',
    registers: [registry],
    async collect() {
      this.set(Number(await chargedTotal(db))); // live money only: test mode is not revenue
    },
  });
  new Gauge({
    name: 'citepay_ledger_credited_micro_usd',
    help: 'Micro-USD ever credited, by recipient (contributors, adapter owners, protocol)',
    labelNames: ['to'],
    registers: [registry],
    async collect() {
      const rows = await creditedByRecipient(db, { protocol: PROTOCOL_ACCOUNT_ID, funding: FUNDING_ACCOUNT_ID });
      this.reset();
      for (const row of rows) this.set({ to: row.kind }, Number(row.total));
    },
  });
  new Gauge({
    name: 'citepay_answers',
    help: 'Answers by status (deployment-wide)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const rows = await answerCountsByStatus(db);
      this.reset();
      for (const s of ['queued', 'running', 'succeeded', 'failed', 'expired']) this.set({ status: s }, 0);
      for (const row of rows) this.set({ status: row.status }, Number(row.n));
    },
  });
  new Gauge({
    name: 'citepay_generation_seconds',
    help: 'Worker generation time (started → finished) of answers closed in the last 15 minutes',
    labelNames: ['quantile'],
    registers: [registry],
    async collect() {
      const { p50, p95 } = await recentGenerationSeconds(db);
      this.set({ quantile: '0.5' }, p50 ?? 0);
      this.set({ quantile: '0.95' }, p95 ?? 0);
    },
  });
  new Gauge({
    name: 'citepay_oldest_queued_job_age_seconds',
    help: 'Age of the oldest generation job no worker has started (0: none waiting)',
    registers: [registry],
    async collect() {
      this.set((await oldestQueuedAnswerAge(db)) ?? 0);
    },
  });
  if (deps.jobQueue) {
    const queue = deps.jobQueue;
    new Gauge({
      name: 'citepay_job_queue_messages',
      help: 'Generation job messages in the queue',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const d = await queue.depth();
        this.set({ state: 'visible' }, d.visible);
        this.set({ state: 'in_flight' }, d.inFlight);
      },
    });
  }
  new Gauge({
    name: 'citepay_settlement_epochs',
    help: 'Settlement epochs by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const rows = await epochCountsByStatus(db);
      this.reset();
      for (const s of ['built', 'submitted', 'confirmed']) this.set({ status: s }, 0);
      for (const row of rows) this.set({ status: row.status }, Number(row.n));
    },
  });
  new Gauge({
    name: 'citepay_settlement_last_confirmed_age_seconds',
    help: 'Seconds since the last confirmed settlement epoch (-1: none yet)',
    registers: [registry],
    async collect() {
      this.set((await lastConfirmedEpochAge(db)) ?? -1);
    },
  });
  new Gauge({
    name: 'citepay_chain_repairs_total',
    help: 'Repairs the chain reconciler made (lost epochs re-published, lost claims re-relayed), deployment-wide',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const k of ['epoch', 'claim']) this.set({ kind: k }, 0);
      for (const row of await chainRepairCounts(db)) this.set({ kind: row.kind }, row.n);
    },
  });
}
