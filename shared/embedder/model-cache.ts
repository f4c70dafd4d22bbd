import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

// On-disk cache for model files this project builds or downloads itself. Files are named by
// the hash of what they were made from, so a changed source gets a new file; writes go to a
// temp file and are renamed into place, so concurrent builders (test workers) never see half
// a file and the last rename wins with identical bytes.

/** node_modules/.cache/citepay, like other tools' caches; the OS temp dir where that is read-only. */
export function defaultCacheDirs(): string[] {
  const require = createRequire(import.meta.url);
  let nodeModules: string | undefined;
  try {
    const pkg = require.resolve('onnxruntime-node/package.json');
    nodeModules = dirname(dirname(pkg));
  } catch {
    nodeModules = undefined;
  }
  return [...(nodeModules ? [join(nodeModules, '.cache', 'citepay')] : []), join(tmpdir(), 'citepay-cache')];
}

export interface CachedFile {
  path: string;
  /** true when this call built the file */
  built: boolean;
}

/**
 * `<dir>/<name>` for the first usable dir, built with `build` when missing. Other files in that
 * dir whose names start with `family` (older builds of the same thing) are removed after a build.
 */
export async function cachedFile(
  dirs: readonly string[],
  name: string,
  family: string,
  build: () => Promise<Uint8Array> | Uint8Array,
): Promise<CachedFile> {
  for (const dir of dirs) {
    const path = join(dir, name);
    if (await isFile(path)) return { path, built: false };
  }
  const bytes = await build();
  let lastError: unknown;
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      await mkdir(dir, { recursive: true });
      const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, path);
      await removeStale(dir, name, family);
      return { path, built: true };
    } catch (err) {
      lastError = err; // read-only or full: try the next dir
    }
  }
  throw new Error(`no writable model cache dir among ${dirs.join(', ')}: ${(lastError as Error)?.message}`);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function removeStale(dir: string, keep: string, family: string) {
  for (const file of await readdir(dir)) {
    if (file !== keep && file.startsWith(family) && !file.endsWith('.tmp')) await rm(join(dir, file), { force: true });
  }
}
