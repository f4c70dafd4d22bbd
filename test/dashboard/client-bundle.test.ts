import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { bundleClient, GENERATED } from '../../functions/dashboard/build-client.ts';

// The committed script bundle is what client/dashboard.js builds to now (run `npm run build:dashboard`).
describe('dashboard script bundle', () => {
  it('is up to date with client/dashboard.js and the installed viem', async () => {
    expect(await readFile(GENERATED, 'utf8')).toBe(await bundleClient());
  });
});
