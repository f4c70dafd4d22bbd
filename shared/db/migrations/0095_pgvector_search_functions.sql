-- pgvector's searches as table functions (issue 18: every statement is a round trip, and the edge
-- Worker's database is a network hop away). The chunk search used to be BEGIN, SET LOCAL, SELECT,
-- COMMIT; as a function it is one statement, and a store can call it inside a larger statement
-- (shared/store/search.ts gathers every retriever's list in one). Only the pgvector adapter and
-- that store call them; the `<=>` maths stays here, behind the VectorIndex port.

-- The chunks nearest `query` (HNSW over the model's typed expression index, iterative scans so
-- filters do not starve the list); distance is cosine distance, best first (relaxed order: the
-- caller sorts the page). The partial index's predicate needs the model as a literal, and the
-- expression index its dimension: hence dynamic SQL.
CREATE FUNCTION pgvector_chunk_hits(model text, dimension int, query text, k int, datanet_ids text[], metadata jsonb, ef_search int)
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
CREATE FUNCTION pgvector_document_hits(model text, dimension int, query text, k int, datanet_ids text[], metadata jsonb)
RETURNS TABLE (document_id text, distance float8) LANGUAGE sql STABLE ROWS 50 AS $$
  SELECT v.document_id, (v.embedding <=> $3::vector)::float8 AS distance
    FROM document_vectors v
   WHERE v.datanet_id = ANY($5) AND v.model = $1 AND vector_dims(v.embedding) = $2
     AND ($6 IS NULL OR EXISTS (SELECT 1 FROM documents d WHERE d.id = v.document_id AND d.metadata @> $6))
   ORDER BY distance, v.document_id LIMIT $4
$$;

-- For each of `document_ids` (within `datanet_ids`), its chunk nearest `query`.
CREATE FUNCTION pgvector_nearest_chunks(model text, dimension int, query text, document_ids text[], datanet_ids text[])
RETURNS TABLE (document_id text, chunk_id text) LANGUAGE sql STABLE ROWS 50 AS $$
  SELECT DISTINCT ON (c.document_id) c.document_id, c.id
    FROM chunks c JOIN chunk_vectors v ON v.chunk_id = c.id AND v.model = $1
   WHERE c.document_id = ANY($4) AND c.datanet_id = ANY($5) AND vector_dims(v.embedding) = $2
   ORDER BY c.document_id, v.embedding <=> $3::vector
$$;
