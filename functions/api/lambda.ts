import { handle } from 'hono/aws-lambda';
import { loadConfig } from '../../shared/config.ts';
import { createServices } from '../../shared/services/create.ts';
import { createApp } from './app.ts';

// AWS Lambda entry: one services container per warm container, built on first use.
let app: Promise<ReturnType<typeof handle>> | undefined;

export const handler: ReturnType<typeof handle> = async (event, context) => {
  app ??= createServices(loadConfig()).then((services) => handle(createApp(services)));
  return (await app)(event, context);
};
