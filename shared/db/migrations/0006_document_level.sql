-- Document-level retrieval (issue #6): per-datanet index settings, a hash of each chunk's
-- text to spot boilerplate repeated across documents, a field index per document (title,
-- summary, headings) scored by BM25, and one vector per document beside the chunk vectors.

-- Fusion weights and the like; '{}' means the defaults in core/document-ranking.ts.
ALTER TABLE datanets ADD COLUMN index_settings jsonb NOT NULL DEFAULT '{}'::jsonb;

-- md5 of the lower-cased, whitespace-collapsed text: equal hashes in many documents = boilerplate.
ALTER TABLE chunks ADD COLUMN text_hash text;
UPDATE chunks SET text_hash = md5(lower(regexp_replace(text, '\s+', ' ', 'g')));
CREATE INDEX chunks_text_hash ON chunks (datanet_id, text_hash);

-- Postings over each live document's fields; tf counts a title occurrence 3×, summary 2×, heading 1×.
CREATE TABLE document_terms (
  datanet_id   text NOT NULL,
  lexeme       text NOT NULL,
  document_id  text NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  tf           real NOT NULL,
  doc_len      real NOT NULL,   -- the document's weighted field length
  PRIMARY KEY (datanet_id, lexeme, document_id)
);
CREATE INDEX document_terms_document ON document_terms (document_id);

CREATE TABLE document_lexeme_stats (
  datanet_id  text NOT NULL REFERENCES datanets(id),
  lexeme      text NOT NULL,
  df          integer NOT NULL CHECK (df >= 0),
  PRIMARY KEY (datanet_id, lexeme)
);

CREATE TABLE datanet_document_stats (
  datanet_id      text PRIMARY KEY REFERENCES datanets(id),
  document_count  integer NOT NULL DEFAULT 0,
  total_length    double precision NOT NULL DEFAULT 0
);

-- One vector per document and model (title + summary); searched exactly within the datanets asked.
CREATE TABLE document_vectors (
  document_id  text NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  datanet_id   text NOT NULL,
  model        text NOT NULL,
  embedding    vector NOT NULL,
  PRIMARY KEY (document_id, model)
);
CREATE INDEX document_vectors_datanet ON document_vectors (datanet_id, model);

-- Backfill the field index of documents stored before this migration: title, their chunks'
-- headings, and the start of the first chunk as the summary (vectors come with a re-embed).
INSERT INTO document_terms (datanet_id, lexeme, document_id, tf, doc_len)
  SELECT f.datanet_id, u.lexeme, f.id,
         3 * coalesce(cardinality(array_positions(u.weights, 'A')), 0)
         + 2 * coalesce(cardinality(array_positions(u.weights, 'B')), 0)
         + coalesce(cardinality(array_positions(u.weights, 'C')), 0), 0
    FROM (SELECT d.id, d.datanet_id,
                 setweight(to_tsvector('english', d.title), 'A')
                 || setweight(to_tsvector('english', coalesce((SELECT left(c.text, 400) FROM chunks c WHERE c.document_id = d.id ORDER BY c.ordinal LIMIT 1), '')), 'B')
                 || setweight(to_tsvector('english', coalesce((SELECT string_agg(DISTINCT h, ' ') FROM chunks c, unnest(c.heading_path) h WHERE c.document_id = d.id), '')), 'C') AS tsv
            FROM documents d WHERE d.deleted_at IS NULL) f, unnest(f.tsv) u;
UPDATE document_terms t SET doc_len = x.len FROM (SELECT document_id, sum(tf) AS len FROM document_terms GROUP BY 1) x WHERE x.document_id = t.document_id;
INSERT INTO document_lexeme_stats (datanet_id, lexeme, df) SELECT datanet_id, lexeme, count(*) FROM document_terms GROUP BY 1, 2;
INSERT INTO datanet_document_stats (datanet_id, document_count, total_length)
  SELECT datanet_id, count(*), sum(len) FROM (SELECT DISTINCT datanet_id, document_id, doc_len AS len FROM document_terms) x GROUP BY 1;
