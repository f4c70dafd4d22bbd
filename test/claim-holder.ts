// A process that wins an Idempotency-Key claim through the real `idempotently` and then works
// forever (it renews its lease while alive), for the test that SIGKILLs it mid-request.
// argv: DATABASE_URL accountId key requestHash
import { openPg } from '../shared/db/pg.ts';
import { createLogger } from '../shared/logger.ts';
import { idempotently } from '../shared/services/idempotency.ts';
import type { Principal } from '../shared/services/api-keys.ts';
import type { Services } from '../shared/services/container.ts';

const [url, accountId, key, requestHash] = process.argv.slice(2) as [string, string, string, string];
const services = { db: openPg(url, { max: 2 }), log: createLogger('error') } as unknown as Services;
const principal = { accountId, livemode: true } as Principal;
await idempotently(
  services,
  principal,
  { key, requestHash },
  {
    replay: async () => null,
    work: () => {
      console.log('claimed'); // the work started: the claim is ours
      return new Promise<never>(() => {});
    },
  },
);
