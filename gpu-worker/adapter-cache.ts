import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '../shared/logger.ts';
import type { ObjectStore } from '../shared/object-store/index.ts';
import { enginePost } from './generators/engine-http.ts';
import { EngineBadRequestError } from './generators/index.ts';

// LoRA adapters on local disk, loaded into the engine on demand (vLLM's dynamic LoRA
// API). Bounded by bytes: the least recently used adapter goes first, from disk and
// from the engine, but never one a running generation is using.
export type { AdapterRef } from '../shared/generation/messages.ts';
import type { AdapterRef } from '../shared/generation/messages.ts';
export const ADAPTER_FILE = 'adapter_model.safetensors';
const SAFE_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/; // one directory name, never "." or ".."

/** The adapter's bytes are missing or not the ones registered: the job can never succeed. */
export class AdapterIntegrityError extends EngineBadRequestError {
  override readonly name: string = 'AdapterIntegrityError';
}

export interface AdapterCache {
  /** On disk, verified and loaded into the engine; resolves to its directory. */
  ensureLoaded(adapter: AdapterRef): Promise<string>;
  /** ensureLoaded, then `fn` with the adapter pinned so no eviction unloads it meanwhile. */
  use<T>(adapter: AdapterRef, fn: () => Promise<T>): Promise<T>;
  /** The engine no longer knows the adapter (it restarted): the next ensureLoaded loads it again. */
  forget(adapterId: string): void;
}

interface Entry {
  id: string;
  bytes: number;
  /** null until checked: entries found on disk at start are verified on first use. */
  sha256: string | null;
  loaded: boolean;
  lastUsed: number;
}

export async function openAdapterCache(options: {
  dir: string;
  maxBytes: number;
  store: ObjectStore;
  engineUrl: string;
  logger: Logger;
}): Promise<AdapterCache> {
  const root = resolve(options.dir); // the engine resolves lora_path from its own working directory
  const { store, logger } = options;
  const dirOf = (id: string) => join(root, id);
  const fileOf = (id: string) => join(root, id, ADAPTER_FILE);
  const index = await rebuildIndex(root);
  const pins = new Map<string, number>();
  const pending = new Map<string, Promise<string>>();
  let tick = Math.max(0, ...[...index.values()].map((e) => e.lastUsed));
  // Downloads, evictions and engine loads run one at a time, so two cold adapters
  // cannot both count the same free bytes.
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => {});
    return run;
  };

  const engine = (path: string, body: unknown) => enginePost(`${options.engineUrl}${path}`, body).then((r) => r.text());

  async function drop(e: Entry): Promise<void> {
    index.delete(e.id);
    // Unloaded even when we never loaded it: the engine may hold it from before a worker restart.
    await engine('/v1/unload_lora_adapter', { lora_name: e.id }).catch((err: unknown) => {
      if (!(err instanceof EngineBadRequestError))
        logger.warn('adapter unload failed', { adapterId: e.id, error: String(err) });
    });
    await rm(dirOf(e.id), { recursive: true, force: true });
  }

  async function evictFor(needed: number, keep: string): Promise<void> {
    let total = [...index.values()].reduce((a, e) => a + e.bytes, 0);
    for (const e of [...index.values()].sort((a, b) => a.lastUsed - b.lastUsed)) {
      if (total + needed <= options.maxBytes) return;
      if (e.id === keep || (pins.get(e.id) ?? 0) > 0) continue;
      await drop(e);
      total -= e.bytes;
      logger.info('adapter evicted', { adapterId: e.id, bytes: e.bytes, cacheBytes: total });
    }
    if (total + needed > options.maxBytes)
      logger.warn('adapter cache over budget: every other adapter is in use', { cacheBytes: total, needed });
  }

  async function download(adapter: AdapterRef): Promise<Entry> {
    const bytes = await store.get(adapter.objectKey);
    if (!bytes)
      throw new AdapterIntegrityError(`adapter ${adapter.id}: ${adapter.objectKey} is not in the object store`);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== adapter.sha256)
      throw new AdapterIntegrityError(`adapter ${adapter.id}: sha256 is ${actual}, registered ${adapter.sha256}`);
    await evictFor(bytes.length, adapter.id);
    await mkdir(dirOf(adapter.id), { recursive: true });
    const tmp = join(dirOf(adapter.id), `.${ADAPTER_FILE}.${randomBytes(6).toString('hex')}.tmp`);
    await writeFile(tmp, bytes);
    await rename(tmp, fileOf(adapter.id)); // the engine never sees half a file
    const entry: Entry = { id: adapter.id, bytes: bytes.length, sha256: actual, loaded: false, lastUsed: 0 };
    index.set(adapter.id, entry);
    logger.info('adapter downloaded', { adapterId: adapter.id, bytes: bytes.length });
    return entry;
  }

  async function prepare(adapter: AdapterRef): Promise<string> {
    if (!SAFE_ID.test(adapter.id))
      throw new AdapterIntegrityError(`adapter id ${JSON.stringify(adapter.id)} is not a safe directory name`);
    let entry = index.get(adapter.id);
    if (entry && entry.sha256 !== adapter.sha256) {
      const actual = entry.sha256 ?? (await hashFile(fileOf(adapter.id)).catch(() => null));
      if (actual === adapter.sha256) entry.sha256 = actual;
      else {
        logger.warn('cached adapter does not match its sha256; downloading it again', { adapterId: adapter.id });
        await drop(entry);
        entry = undefined;
      }
    }
    entry ??= await download(adapter);
    entry.lastUsed = ++tick;
    if (!entry.loaded) {
      await engine('/v1/load_lora_adapter', { lora_name: adapter.id, lora_path: dirOf(adapter.id) }).catch(
        (err: unknown) => {
          // vLLM answers 400 for a name it already holds (e.g. loaded before this worker restarted).
          if (!(err instanceof EngineBadRequestError && /already been loaded/i.test(err.message))) throw err;
        },
      );
      entry.loaded = true;
    }
    return dirOf(adapter.id);
  }

  const ensureLoaded = (adapter: AdapterRef): Promise<string> => {
    const warm = index.get(adapter.id);
    if (warm?.loaded && warm.sha256 === adapter.sha256) {
      warm.lastUsed = ++tick;
      return Promise.resolve(dirOf(adapter.id));
    }
    let p = pending.get(adapter.id);
    if (!p) {
      p = exclusive(() => prepare(adapter)).finally(() => pending.delete(adapter.id));
      pending.set(adapter.id, p);
    }
    return p;
  };

  return {
    ensureLoaded,
    forget(adapterId) {
      const entry = index.get(adapterId);
      if (entry) entry.loaded = false;
    },
    async use(adapter, fn) {
      pins.set(adapter.id, (pins.get(adapter.id) ?? 0) + 1);
      try {
        await ensureLoaded(adapter);
        return await fn();
      } finally {
        const n = pins.get(adapter.id)! - 1;
        if (n > 0) pins.set(adapter.id, n);
        else pins.delete(adapter.id);
      }
    },
  };
}

/** Adapters left by an earlier run, oldest download first; their hashes are checked lazily. */
async function rebuildIndex(root: string): Promise<Map<string, Entry>> {
  await mkdir(root, { recursive: true });
  const found: (Entry & { mtime: number })[] = [];
  for (const name of await readdir(root)) {
    if (!SAFE_ID.test(name)) continue;
    const dir = join(root, name);
    const info = await stat(join(dir, ADAPTER_FILE)).catch(() => null);
    // A download cut short leaves only its temp file: remove ours, touch nothing else.
    for (const f of await readdir(dir).catch(() => []))
      if (f.startsWith(`.${ADAPTER_FILE}.`) && f.endsWith('.tmp')) await rm(join(dir, f), { force: true });
    if (info?.isFile())
      found.push({ id: name, bytes: info.size, sha256: null, loaded: false, lastUsed: 0, mtime: info.mtimeMs });
  }
  found.sort((a, b) => a.mtime - b.mtime);
  return new Map(found.map(({ mtime: _mtime, ...e }, i) => [e.id, { ...e, lastUsed: i + 1 }]));
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
