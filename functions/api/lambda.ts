import { handle } from 'hono/aws-lambda';
import { loadConfig } from '../../shared/config.ts';
import { bootstrapAdminFromConfig } from '../../shared/services/bootstrap.ts';
import { createServices } from '../../shared/services/create.ts';
import { createApp } from './app.ts';

// AWS Lambda entry: one services container per warm container, built on first use. On a fresh
// database the first cold start makes the admin account from the CITEPAY_ADMIN_KEY secret
// (the local start does the same in functions/local/start.ts); later starts find it and go on.
let app: Promise<ReturnType<typeof handle>> | undefined;

async function start() {
  const services = await createServices(loadConfig());
  if (await bootstrapAdminFromConfig(services)) services.log.info('admin account created from CITEPAY_ADMIN_KEY');
  return handle(createApp(services));
}

export const handler: ReturnType<typeof handle> = async (event, context) => {
  app ??= start();
  // a failed start (database unreachable…) is retried by the next invocation, not cached
  app.catch(() => (app = undefined));
  return (await app)(event, context);
};
