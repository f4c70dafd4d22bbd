-- Issue 18: no parallel scans of the history tables. The API's reads of them are the rollups'
-- tail (rows since a UTC midnight) and per-key look-ups, a few hundred rows at most; but the
-- planner estimates a bound past its histogram as a fraction of the table, so once the ledger
-- holds ~1M calls it plans the tail as a parallel bitmap scan, and starting a worker costs far
-- more than the scan (bench:scale, PostgreSQL 15, 1M prior calls: GET /v1/earnings' tail 78–126 ms
-- with a Gather, 1.5–9 ms without; earnings and the dashboards 5–12x their empty-history p50).
-- parallel_workers = 0 removes the parallel paths for these tables only; whole-history checks
-- (check:ledger) run serially, which they can afford.
ALTER TABLE ledger_transactions SET (parallel_workers = 0);
ALTER TABLE ledger_entries SET (parallel_workers = 0);
ALTER TABLE receipts SET (parallel_workers = 0);
ALTER TABLE receipt_calls SET (parallel_workers = 0);
ALTER TABLE receipt_sources SET (parallel_workers = 0);
