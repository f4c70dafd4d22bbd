import type { TestProject } from 'vitest/node';
import { startFauxqs } from 'fauxqs';

// Real local servers for the whole run: fauxqs speaks S3 (and SQS) to the real AWS SDK clients.
export const TEST_BUCKET = 'citepay-test';

export default async function setup(project: TestProject) {
  const fauxqs = await startFauxqs({ port: 0, logger: false });
  fauxqs.createBucket(TEST_BUCKET);
  project.provide('awsEndpoint', fauxqs.address);
  return async () => {
    await fauxqs.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    awsEndpoint: string;
  }
}
