import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { createFsObjectStore } from './fs.ts';
import { createS3ObjectStore } from './s3.ts';
import type { ObjectStore } from './index.ts';
import { TEST_BUCKET } from '../../test/global-setup.ts';

const stores: [string, () => ObjectStore][] = [
  ['filesystem', () => createFsObjectStore(mkdtempSync(join(tmpdir(), 'citepay-objects-')))],
  [
    'S3 (real client, local fauxqs server)',
    () =>
      createS3ObjectStore({
        bucket: TEST_BUCKET,
        region: 'us-east-1',
        endpoint: inject('awsEndpoint'),
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      }),
  ],
];

describe.each(stores)('ObjectStore: %s', (_name, make) => {
  it('round-trips bytes, reports missing keys as null, and deletes', async () => {
    const store = make();
    const key = `documents/dn_test/${Math.random().toString(36).slice(2)}`;
    const bytes = new TextEncoder().encode('héllo — wörld');
    expect(await store.get(key)).toBeNull();
    await store.put(key, bytes, 'text/plain');
    expect(Buffer.from((await store.get(key))!).toString('utf8')).toBe('héllo — wörld');
    await store.put(key, new Uint8Array([1, 2, 3]), 'application/octet-stream');
    expect([...(await store.get(key))!]).toEqual([1, 2, 3]);
    await store.delete(key);
    expect(await store.get(key)).toBeNull();
  });

  it('refuses keys that could escape their root', async () => {
    const store = make();
    for (const key of ['../etc/passwd', 'a/../../b', '/abs', 'a//b', ''])
      await expect(store.put(key, new Uint8Array(), 'text/plain')).rejects.toThrow(/unsafe/);
  });
});
