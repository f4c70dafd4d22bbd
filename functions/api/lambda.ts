import { Hono } from 'hono';
import { streamHandle } from 'hono/aws-lambda';
import { loadConfig } from '../../shared/config.ts';
import { bootstrapAdminFromConfig } from '../../shared/services/bootstrap.ts';
import { createServices } from '../../shared/services/create.ts';
import { createApp } from './app.ts';

// AWS Lambda entry, behind a Function URL in RESPONSE_STREAM mode (stacks/api.ts: streaming):
// an SSE answer reaches the client delta by delta while another Lambda applies the worker's
// events (the stream tails the database, shared/services/answer-feed.ts); any other response is
// sent whole through the same stream. One services container per warm container, built on first
// use. On a fresh database the first cold start makes the admin account from the CITEPAY_ADMIN_KEY
// secret (the local start does the same in functions/local/start.ts); later starts find it.
let app: Promise<ReturnType<typeof createApp>> | undefined;

async function start() {
  const services = await createServices(loadConfig());
  if (await bootstrapAdminFromConfig(services)) services.log.info('admin account created from CITEPAY_ADMIN_KEY');
  return createApp(services);
}

// streamHandle wraps its app when this module loads (awslambda.streamifyResponse); the real app
// needs the database, so a forwarding route builds it on the first request instead.
const entry = new Hono().all('*', async (c) => {
  app ??= start();
  // a failed start (database unreachable…) is retried by the next invocation, not cached
  app.catch(() => (app = undefined));
  return (await app).fetch(c.req.raw, c.env);
});

export const handler = streamHandle(entry);
