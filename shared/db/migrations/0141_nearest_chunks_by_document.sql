-- Issue 18: retrieve at 10k chunks on PostgreSQL 15 (bench:scale, SCALE_DOCS=130: 10,668 chunks)
-- took 105 ms in process, 64 of it in the search statement, 69 of that (EXPLAIN ANALYZE) in
-- pgvector_nearest_chunks: the nearest passage of each document that only a document list found.

-- 1. Not inlined, the function's body runs as a generic plan whose estimate for
-- `vector_dims(v.embedding) = $2` (a default 0.5 %) made a sequential scan of every chunk vector
-- look cheap: each one read from TOAST and measured, then joined to the few chunks asked about
-- (19 documents: 10,668 vectors read for the 1,652 needed; 154 ms as a prepared generic plan).
-- The vectors are now looked up per chunk of the documents asked about (the LATERAL with
-- OFFSET 0 keeps the planner from turning the join round): 11–17 ms, the same rows (a tie in
-- distance goes to the lower chunk id, where the old plan left it to the scan order).
-- test/search-in-database.test.ts counts the vectors it reads.
CREATE OR REPLACE FUNCTION pgvector_nearest_chunks(model text, dimension int, query vector, document_ids text[], datanet_ids text[])
RETURNS TABLE (document_id text, chunk_id text) LANGUAGE sql STABLE ROWS 50 AS $$
  SELECT DISTINCT ON (c.document_id) c.document_id, c.id
    FROM chunks c
         CROSS JOIN LATERAL (SELECT v.embedding FROM chunk_vectors v WHERE v.chunk_id = c.id AND v.model = $1 OFFSET 0) v
   WHERE c.document_id = ANY($4) AND c.datanet_id = ANY($5) AND vector_dims(v.embedding) = $2
   ORDER BY c.document_id, v.embedding <=> $3, c.id
$$;

-- 2. A 512-dimension vector is 2,052 bytes, just over the 2,032 at which PostgreSQL moves a value
-- out of line: every vector a search measured was a TOAST look-up. MAIN keeps a value in the row
-- unless the row would not fit a page (vectors up to ~2,000 dimensions), and still moves larger
-- ones out. Rows written from now on (ingestion, re-embedding) are stored inline; existing rows
-- keep their place until rewritten. Measured at 10k chunks: nearest passages 10.4 → 3.9 ms.
ALTER TABLE chunk_vectors ALTER COLUMN embedding SET STORAGE MAIN;
ALTER TABLE document_vectors ALTER COLUMN embedding SET STORAGE MAIN;

-- 3. No JIT compilation for this database's sessions. The search statement's estimated cost
-- sits near jit_above_cost (its per-model lists are estimated at 100 rows a model); past it,
-- PostgreSQL spent 90 ms compiling a plan that runs in 20. An API's statements are short: JIT
-- only costs them. (PGlite has no JIT; the setting is harmless there.) New sessions take it.
-- A role that may not alter its database (not its owner) keeps JIT: a notice, not a failed migration.
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'jit stays on: this role cannot alter database %', current_database();
END $$;
