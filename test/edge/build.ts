import { readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { getCloudflarePreset } from '@cloudflare/unenv-preset';
import { build } from 'esbuild';
import { defineEnv } from 'unenv';
import { EDGE_WORKER } from '../../stacks/edge-settings.ts';

// Builds the edge Worker the way `sst deploy` does for sst.cloudflare.Worker (SST 4: the Go
// runtime pkg/runtime/worker, with the unenv aliases of platform/src/runtime/worker/unenv.mjs):
// SST's stdin wrapper around the handler (wrapCloudflareHandler), platform node, conditions
// workerd/worker/browser, node:* and cloudflare:* external, unenv's Cloudflare preset for bare
// Node built-in names, and SST's createRequire banner. One ESM file, as Cloudflare receives it.

const ROOT = resolve(import.meta.dirname, '../..');

export interface BuiltWorker {
  /** the bundle, absolute */
  file: string;
  bytes: number;
  gzipBytes: number;
  buildMs: number;
  /** every source file esbuild put in the bundle (relative to the repository root) */
  inputs: string[];
}

export async function buildEdgeWorker(outDir: string): Promise<BuiltWorker> {
  const started = performance.now();
  const handler = join(ROOT, EDGE_WORKER.handler);
  const file = join(outDir, 'worker.mjs');
  await rm(outDir, { recursive: true, force: true });
  const { env } = defineEnv({
    npmShims: true,
    presets: [
      getCloudflarePreset({
        compatibilityDate: EDGE_WORKER.compatibility.date,
        compatibilityFlags: [...EDGE_WORKER.compatibility.flags],
      }),
    ],
  });
  const result = await build({
    stdin: {
      contents: [
        `import handler from ${JSON.stringify(handler)};`,
        `import { wrapCloudflareHandler } from "sst/resource/cloudflare";`,
        `export default wrapCloudflareHandler(handler);`,
      ].join('\n'),
      resolveDir: dirname(handler),
      loader: 'ts',
    },
    platform: 'node',
    alias: env.alias,
    external: ['node:*', 'cloudflare:*', ...env.external],
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    keepNames: true,
    bundle: true,
    metafile: true,
    write: true,
    outfile: file,
    target: 'esnext',
    format: 'esm',
    sourcemap: false,
    banner: {
      js: [
        `import { createRequire as topLevelCreateRequire } from 'module';`,
        `const require = topLevelCreateRequire("/");`,
      ].join('\n'),
    },
    logLevel: 'error',
  });
  if (result.errors.length)
    throw new Error(`esbuild failed for the edge Worker: ${result.errors.map((e) => e.text).join('; ')}`);
  const code = await readFile(file);
  return {
    file,
    bytes: code.length,
    gzipBytes: gzipSync(code).length,
    buildMs: performance.now() - started,
    inputs: Object.keys(result.metafile.inputs),
  };
}
