import { defineConfig } from 'vitest/config';
import { postgresInstalled } from './test/postgres-server.ts';

const ALL = [
  'shared/**/*.test.ts',
  'functions/**/*.test.ts',
  'gpu-worker/**/*.test.ts',
  'test/**/*.test.ts',
  'bench/**/*.test.ts',
];

// The suites that touch the database (migrations, ledger and billing, idempotency, retrieval,
// documents, settlement, re-embedding) run a second time on the real PostgreSQL server: the
// production database, with a pool and real concurrency, through the same code (test/services.ts).
const ON_BOTH_DATABASES = [
  'test/self-serve.test.ts',
  'shared/services/x402-pending-sweep.test.ts',
  'shared/db/db.test.ts',
  'shared/store/answer-deltas.test.ts',
  'shared/services/settlement.test.ts',
  'shared/services/chain-repair.test.ts',
  'shared/services/ledger-check.test.ts',
  'shared/store/running-balances.test.ts',
  'shared/store/x402-channels.test.ts',
  'bench/lib/seed-history.test.ts',
  'shared/services/reembed.test.ts',
  'shared/vector-index/conformance.test.ts',
  'functions/api/app.test.ts',
  'functions/api/routes/accounts.test.ts',
  'functions/api/routes/documents.test.ts',
  'functions/api/routes/documents-files.test.ts',
  'functions/api/routes/retrieve.test.ts',
  'functions/api/routes/answers.test.ts',
  'functions/api/input-guard.test.ts',
  'test/fuzz/openapi-fuzz.test.ts',
  'functions/api/test-mode.test.ts',
  'test/retrieval-regression.test.ts',
  'test/search-in-database.test.ts',
  'test/rate-limits.test.ts',
  'test/dashboard/dashboard.test.ts',
  'test/dashboard/rollups.test.ts',
  'test/dashboard/security.test.ts',
  'test/dashboard/datanets.test.ts',
  'test/webhooks.test.ts',
  'functions/api/routes/rate-cards.test.ts',
  'test/dashboard/rate-card.test.ts',
];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    // Real embedders and databases: allow slow setup, but no test asserts on time.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'pglite', include: ALL } },
      // Without PostgreSQL 15 installed (a developer machine; never CI: the global setup fails there),
      // only the embedded half runs.
      ...(postgresInstalled() || process.env.CI
        ? [
            {
              extends: true as const,
              test: { name: 'postgres', include: ON_BOTH_DATABASES, env: { CITEPAY_TEST_DB: 'pg' } },
            },
          ]
        : []),
    ],
  },
});
