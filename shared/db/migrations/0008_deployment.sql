-- What this deployment is bound to, written once by the first process that needs it: the chain and
-- distributor settlement publishes to (a settler pointed at another refuses to run), and, for
-- several local `npm start` processes on one database, the queue server, chain node and object
-- store folder they share (functions/local/shared-services.ts).
CREATE TABLE deployment_settings (
  name         text PRIMARY KEY,
  value        jsonb NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now()
);
