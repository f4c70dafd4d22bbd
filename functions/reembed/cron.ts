import type { Context } from 'aws-lambda';
import { loadConfig } from '../../shared/config.ts';
import type { Services } from '../../shared/services/container.ts';
import { createServices } from '../../shared/services/create.ts';
import { advanceReembedJobs } from '../../shared/services/reembed.ts';

// Scheduled Lambda (stacks/api.ts): the cloud home of re-embedding jobs, which `npm start` runs
// in the background instead. Each invocation works until a minute before its timeout; the jobs'
// progress is in the database, so the next invocation carries on where this one stopped.
const MARGIN_MS = 60_000;
let services: Promise<Services> | undefined;

export async function handler(_event: unknown, context: Context) {
  services ??= createServices(loadConfig());
  services.catch(() => (services = undefined)); // a failed start is tried again by the next tick
  const left = await advanceReembedJobs(await services, Date.now() + context.getRemainingTimeInMillis() - MARGIN_MS);
  return {
    running: left.map((j) => ({ id: j.id, datanetId: j.datanetId, toModel: j.toModel, done: j.done, total: j.total })),
  };
}
