-- The text deltas of answers being generated, so that a stream served by one process follows an
-- answer whose worker events another process applies (on AWS the results consumer is a Lambda of
-- its own). Keyed by the worker's per-job sequence number: a redelivered delta changes nothing and
-- readers put deltas consumed out of order back in order. Rows are written only while the answer
-- is open, and removed a few minutes after it closes (store/answer-deltas.ts: pruneDeltas), so the
-- table holds the answers in flight, not history: the closed answer keeps its text.
CREATE TABLE answer_deltas (
  answer_id  text NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
  seq        integer NOT NULL CHECK (seq >= 0),
  text       text NOT NULL,
  PRIMARY KEY (answer_id, seq)
);
