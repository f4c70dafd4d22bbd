-- BM25 over Postgres full text. chunk_terms is an inverted index (one row per distinct
-- lexeme per chunk, with its boosted term frequency and the chunk's length), so a query
-- reads only the postings of its terms instead of unnesting every candidate's tsvector.
-- All of it is written in the transaction that writes the chunks.
CREATE TABLE chunk_terms (
  datanet_id  text NOT NULL,
  lexeme      text NOT NULL,
  chunk_id    text NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
  tf          real NOT NULL,     -- occurrences; title/heading ones (weight B) count twice
  chunk_len   integer NOT NULL,  -- lexeme occurrences in the chunk, for length normalisation
  PRIMARY KEY (datanet_id, lexeme, chunk_id)
);
CREATE INDEX chunk_terms_chunk ON chunk_terms (chunk_id);

CREATE TABLE lexeme_stats (
  datanet_id  text NOT NULL REFERENCES datanets(id),
  lexeme      text NOT NULL,
  df          integer NOT NULL CHECK (df >= 0),
  PRIMARY KEY (datanet_id, lexeme)
);

CREATE TABLE datanet_lexical_stats (
  datanet_id    text PRIMARY KEY REFERENCES datanets(id),
  chunk_count   integer NOT NULL DEFAULT 0,
  total_length  bigint NOT NULL DEFAULT 0
);

-- Backfill for chunks indexed before this migration.
INSERT INTO chunk_terms (datanet_id, lexeme, chunk_id, tf, chunk_len)
  SELECT c.datanet_id, u.lexeme, c.id,
         array_length(u.positions, 1) + coalesce(cardinality(array_positions(u.weights, 'B')), 0),
         (SELECT coalesce(sum(array_length(x.positions, 1)), 0) FROM unnest(c.tsv) x)
    FROM chunks c, unnest(c.tsv) u;
INSERT INTO lexeme_stats (datanet_id, lexeme, df)
  SELECT datanet_id, lexeme, count(*) FROM chunk_terms GROUP BY 1, 2;
INSERT INTO datanet_lexical_stats (datanet_id, chunk_count, total_length)
  SELECT datanet_id, count(DISTINCT chunk_id), 0 FROM chunk_terms GROUP BY 1;
UPDATE datanet_lexical_stats s SET total_length = (
  SELECT coalesce(sum(l), 0) FROM (SELECT DISTINCT chunk_id, chunk_len AS l FROM chunk_terms t WHERE t.datanet_id = s.datanet_id) x);
