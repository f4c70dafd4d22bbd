-- Migration 0095's search functions took the query vector as text. pgvector_document_hits and
-- pgvector_nearest_chunks are SQL functions; called inside shared/store/search.ts's statement (with
-- arguments from other CTEs) they are not inlined, so their bodies run as generic plans in which
-- `$3::vector` is not a constant: the query's 512 numbers were parsed from text once per row
-- compared. On PGlite (WASM) that made the search statement ~5× slower than the port-by-port
-- search (bench:attribution npm-docs: retrieve p50 55 → 236 ms). The query now arrives as `vector`:
-- parsed once by the caller, compared per row as is. test/pgvector-search-functions.test.ts pins it.
DROP FUNCTION pgvector_chunk_hits(text, int, text, int, text[], jsonb, int);
DROP FUNCTION pgvector_document_hits(text, int, text, int, text[], jsonb);
DROP FUNCTION pgvector_nearest_chunks(text, int, text, text[], text[]);

-- The chunks nearest `query` (HNSW over the model's typed expression index, iterative scans so
-- filters do not starve the list); distance is cosine distance, best first (relaxed order: the
-- caller sorts the page). The partial index's predicate needs the model as a literal, and the
-- expression index its dimension: hence dynamic SQL.
CREATE FUNCTION pgvector_chunk_hits(model text, dimension int, query vector, k int, datanet_ids text[], metadata jsonb, ef_search int)
RETURNS TABLE (chunk_id text, distance float8) LANGUAGE plpgsql VOLATILE ROWS 100 AS $$
BEGIN
  PERFORM set_config('hnsw.ef_search', ef_search::text, true);
  PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
  RETURN QUERY EXECUTE format(
    'SELECT v.chunk_id, ((v.embedding::vector(%s)) <=> $1::vector(%s))::float8 AS distance
       FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id %s
      WHERE v.model = %L %s %s
      ORDER BY (v.embedding::vector(%s)) <=> $1::vector(%s) LIMIT $2',
    dimension, dimension,
    CASE WHEN metadata IS NULL THEN '' ELSE 'JOIN documents d ON d.id = c.document_id' END,
    model,
    CASE WHEN datanet_ids IS NULL OR cardinality(datanet_ids) = 0 THEN '' ELSE 'AND c.datanet_id = ANY($3)' END,
    CASE WHEN metadata IS NULL THEN '' ELSE 'AND d.metadata @> $4' END,
    dimension, dimension)
  USING query, k, datanet_ids, metadata;
END $$;

-- ROWS: their real sizes (k), so a statement calling them is not costed high enough to be JIT-compiled.
-- (The SQL functions below name their parameters by position: a column of the same name would win.)

-- Documents' own vectors nearest `query`: exact (a datanet has far fewer documents than chunks).
CREATE FUNCTION pgvector_document_hits(model text, dimension int, query vector, k int, datanet_ids text[], metadata jsonb)
RETURNS TABLE (document_id text, distance float8) LANGUAGE sql STABLE ROWS 50 AS $$
  SELECT v.document_id, (v.embedding <=> $3)::float8 AS distance
    FROM document_vectors v
   WHERE v.datanet_id = ANY($5) AND v.model = $1 AND vector_dims(v.embedding) = $2
     AND ($6 IS NULL OR EXISTS (SELECT 1 FROM documents d WHERE d.id = v.document_id AND d.metadata @> $6))
   ORDER BY distance, v.document_id LIMIT $4
$$;

-- For each of `document_ids` (within `datanet_ids`), its chunk nearest `query`.
CREATE FUNCTION pgvector_nearest_chunks(model text, dimension int, query vector, document_ids text[], datanet_ids text[])
RETURNS TABLE (document_id text, chunk_id text) LANGUAGE sql STABLE ROWS 50 AS $$
  SELECT DISTINCT ON (c.document_id) c.document_id, c.id
    FROM chunks c JOIN chunk_vectors v ON v.chunk_id = c.id AND v.model = $1
   WHERE c.document_id = ANY($4) AND c.datanet_id = ANY($5) AND vector_dims(v.embedding) = $2
   ORDER BY c.document_id, v.embedding <=> $3
$$;
