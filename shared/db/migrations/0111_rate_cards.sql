-- Rate cards (issue 21): an owner's price per use type, a minimum per use and the test-mode terms,
-- per datanet, as an append-only history. The highest version is the card in force; a call reads
-- it when it prices its sources and its receipt names the version, so any receipt can be checked
-- against the card it was charged under (GET /v1/datanets/{id}/rate-card lists every version).
CREATE TABLE rate_cards (
  datanet_id             text NOT NULL REFERENCES datanets (id),
  version                integer NOT NULL CHECK (version >= 1),
  retrieval_price        bigint NOT NULL CHECK (retrieval_price >= 0),
  answer_price           bigint NOT NULL CHECK (answer_price >= 0),
  minimum_per_use        bigint NOT NULL DEFAULT 0 CHECK (minimum_per_use >= 0),
  -- same: test calls pay the live prices; excluded: test calls pay nothing; price: the test_* prices
  test_mode              text NOT NULL DEFAULT 'same' CHECK (test_mode IN ('same', 'excluded', 'price')),
  test_retrieval_price   bigint CHECK (test_retrieval_price >= 0),
  test_answer_price      bigint CHECK (test_answer_price >= 0),
  changed_by             text,             -- the account that set it (null: created with the datanet)
  effective_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (datanet_id, version),
  CHECK ((test_mode = 'price') = (test_retrieval_price IS NOT NULL AND test_answer_price IS NOT NULL))
);

CREATE FUNCTION rate_cards_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'rate cards are a price history: add a version, never change or delete one'; END $$;
CREATE TRIGGER rate_cards_no_change BEFORE UPDATE OR DELETE ON rate_cards
  FOR EACH ROW EXECUTE FUNCTION rate_cards_append_only();

-- Every datanet has a card from its first moment (whoever inserts it): version 1 is its one price
-- for both use types.
CREATE FUNCTION rate_cards_initial() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO rate_cards (datanet_id, version, retrieval_price, answer_price, effective_at)
    VALUES (NEW.id, 1, NEW.price_per_source, NEW.price_per_source, NEW.created_at);
  RETURN NULL;
END $$;
CREATE TRIGGER datanets_rate_card AFTER INSERT ON datanets FOR EACH ROW EXECUTE FUNCTION rate_cards_initial();

INSERT INTO rate_cards (datanet_id, version, retrieval_price, answer_price, effective_at)
  SELECT id, 1, price_per_source, price_per_source, created_at FROM datanets;
