-- PDF ingestion (issue #21): the 1-based page a chunk starts on, so spans and citations can name
-- it. NULL for formats without fixed pages (plain text, Markdown, HTML, DOCX).
ALTER TABLE chunks ADD COLUMN page integer CHECK (page >= 1);
