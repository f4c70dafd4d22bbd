import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../shared/object-store/index.ts';
import { startFakeEngine, type FakeEngine } from '../test/fake-engine.ts';
import { ADAPTER_FILE, AdapterIntegrityError, openAdapterCache, type AdapterRef } from './adapter-cache.ts';
import { EngineBadRequestError } from './generators/index.ts';
import { capturingLogger, s3Store, unique } from '../test/worker-kit.ts';

// Adapters in the real S3 client against fauxqs, loaded into the FAKE engine over HTTP.
const engines: FakeEngine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
});

/** The S3 store, counting downloads per key. */
function countingStore() {
  const inner = s3Store();
  const gets = new Map<string, number>();
  const store: ObjectStore = { ...inner, get: (key) => (gets.set(key, (gets.get(key) ?? 0) + 1), inner.get(key)) };
  return { store, downloads: (a: AdapterRef) => gets.get(a.objectKey) ?? 0 };
}

async function publish(store: ObjectStore, size: number): Promise<AdapterRef> {
  const id = unique('ad_test');
  const bytes = randomBytes(size);
  const objectKey = `adapters/${id}/${ADAPTER_FILE}`;
  await store.put(objectKey, bytes, 'application/octet-stream');
  return { id, baseModel: 'fake-base', objectKey, sha256: createHash('sha256').update(bytes).digest('hex') };
}

async function setup(maxBytes = 1e6, dir = mkdtempSync(join(tmpdir(), 'citepay-adapters-')), engine?: FakeEngine) {
  engine ??= await startFakeEngine();
  engines.push(engine);
  const { store, downloads } = countingStore();
  const cache = await openAdapterCache({ dir, maxBytes, store, engineUrl: engine.url, logger: capturingLogger() });
  return { cache, engine, store, downloads, dir };
}

describe('adapter cache', () => {
  it('downloads, verifies and loads an adapter once, however many jobs ask at the same time', async () => {
    const { cache, engine, store, downloads } = await setup();
    const a = await publish(store, 1000);
    const dirs = await Promise.all([cache.ensureLoaded(a), cache.ensureLoaded(a), cache.ensureLoaded(a)]);
    const dir = dirs[0]!;
    expect(new Set(dirs).size).toBe(1);
    expect(
      createHash('sha256')
        .update(readFileSync(join(dir, ADAPTER_FILE)))
        .digest('hex'),
    ).toBe(a.sha256);
    expect(engine.requests['/v1/load_lora_adapter']).toEqual([{ lora_name: a.id, lora_path: dir }]);
    expect(engine.loaded).toEqual(new Set([a.id]));
    await cache.ensureLoaded(a);
    expect(downloads(a)).toBe(1);
    expect(engine.requests['/v1/load_lora_adapter']).toHaveLength(1);
  });

  it('evicts the least recently used adapters by bytes, from disk and from the engine', async () => {
    const { cache, engine, store } = await setup(250);
    const [a, b, c] = [await publish(store, 100), await publish(store, 100), await publish(store, 100)];
    const dirA = await cache.ensureLoaded(a);
    const dirB = await cache.ensureLoaded(b);
    await cache.ensureLoaded(a); // a is now more recent than b
    const dirC = await cache.ensureLoaded(c);
    expect(engine.requests['/v1/unload_lora_adapter']).toEqual([{ lora_name: b.id }]);
    expect(engine.loaded).toEqual(new Set([a.id, c.id]));
    expect([existsSync(dirA), existsSync(dirB), existsSync(dirC)]).toEqual([true, false, true]);
  });

  it('never evicts an adapter a generation is using', async () => {
    const { cache, engine, store } = await setup(150);
    const [a, b] = [await publish(store, 100), await publish(store, 100)];
    await cache.use(a, async () => {
      await cache.ensureLoaded(b); // over budget rather than pulling a from under its job
      expect(engine.loaded).toEqual(new Set([a.id, b.id]));
    });
    const c = await publish(store, 100);
    await cache.ensureLoaded(c); // a is free again: now it goes, as the least recently used
    expect(engine.loaded).toEqual(new Set([c.id]));
  });

  it('rejects bytes that do not match the registered sha256, and a missing object, as bad requests', async () => {
    const { cache, engine, store, dir } = await setup();
    const a = await publish(store, 100);
    const tampered = { ...a, sha256: 'f'.repeat(64) };
    const err = await cache.ensureLoaded(tampered).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdapterIntegrityError);
    expect(err).toBeInstanceOf(EngineBadRequestError); // the job fails bad_request
    expect(existsSync(join(dir, a.id))).toBe(false);
    await expect(cache.ensureLoaded({ ...a, objectKey: 'adapters/none/here' })).rejects.toThrow(
      /not in the object store/,
    );
    await expect(cache.ensureLoaded({ ...a, id: '..' })).rejects.toBeInstanceOf(AdapterIntegrityError);
    expect(engine.requests['/v1/load_lora_adapter']).toEqual([]);
  });

  it('after a restart, reuses verified files and downloads again what no longer matches its hash', async () => {
    const first = await setup();
    const [good, bad] = [await publish(first.store, 100), await publish(first.store, 100)];
    await first.cache.ensureLoaded(good);
    const badDir = await first.cache.ensureLoaded(bad);
    writeFileSync(join(badDir, ADAPTER_FILE), 'corrupted on disk');

    // Same directory, same engine (which still holds both adapters from before).
    const second = await setup(1e6, first.dir, first.engine);
    await second.cache.ensureLoaded(good);
    await second.cache.ensureLoaded(bad);
    expect(second.downloads(good)).toBe(0);
    expect(second.downloads(bad)).toBe(1);
    expect(
      createHash('sha256')
        .update(readFileSync(join(badDir, ADAPTER_FILE)))
        .digest('hex'),
    ).toBe(bad.sha256);
    expect(second.engine.loaded).toEqual(new Set([good.id, bad.id]));
  });
});
