// One API process for the benches that need several (bench:retrieve's PostgreSQL runs): the Hono app
// on its services from the environment (DATABASE_URL, CITEPAY_ADMIN_KEY, OBJECT_STORE_DIR…), no queue,
// worker or chain. Prints {"port": N} once it listens; SIGTERM stops it.
import { serve } from '@hono/node-server';
import { createApp } from '../../functions/api/app.ts';
import { loadConfig } from '../../shared/config.ts';
import { bootstrapOnce } from '../../shared/services/bootstrap.ts';
import { createServices } from '../../shared/services/create.ts';

const services = await createServices(loadConfig());
await bootstrapOnce(services);
const server = serve({ fetch: createApp(services).fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
});
process.on('SIGTERM', () => server.close(() => void services.db.close().finally(() => process.exit(0))));
