import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { LAMBDAS, NODEJS_BUILD, type LambdaName, type LambdaSettings } from '../../stacks/lambda-settings.ts';

// Builds a Lambda's folder the way `sst deploy` does for a Node function (SST 4: the Go runtime
// pkg/runtime/node/build.go, then the zip step of platform/src/components/aws/function.ts):
//   1. esbuild: ESM bundle at <out>/<handler dir>/<file>.mjs with SST's options and banner;
//   2. `npm install --force --platform=linux --os=linux --arch=x64 --cpu=x64` in <out> of a
//      package.json listing nodejs.install, each at the range our package.json gives it;
//   3. copyFiles added beside (SST adds them to the zip; here they are copied into the folder).
// The settings come from stacks/lambda-settings.ts, which stacks/api.ts hands to SST.

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/** SST marks these external whatever the function says (and installs them when imported). */
const SST_FORCE_EXTERNAL = ['sharp', 'pg-native'];

/** SST's ESM banner: CommonJS globals for bundled packages that still use them. */
const SST_BANNER = [
  `import { createRequire as topLevelCreateRequire } from 'module';`,
  `const require = topLevelCreateRequire(import.meta.url);`,
  `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
  `const __filename = topLevelFileUrlToPath(import.meta.url)`,
  `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
  '',
].join('\n');

export interface BuiltLambda {
  name: LambdaName;
  dir: string;
  /** the bundle's entry file, absolute */
  entry: string;
  /** the exported handler's name */
  exportName: string;
  /** unzipped size of everything in the folder, as Lambda counts it */
  bytes: number;
  buildMs: number;
}

export async function buildLambda(name: LambdaName, outRoot: string): Promise<BuiltLambda> {
  const started = performance.now();
  const settings: LambdaSettings = LAMBDAS[name];
  const dir = join(outRoot, name);
  await rm(dir, { recursive: true, force: true });
  const dot = settings.handler.lastIndexOf('.');
  const file = settings.handler.slice(0, dot); // functions/api/lambda
  const exportName = settings.handler.slice(dot + 1);
  const entry = join(dir, `${file}.mjs`);

  const result = await build({
    entryPoints: [join(ROOT, `${file}.ts`)],
    platform: 'node',
    external: [...SST_FORCE_EXTERNAL, ...settings.install, ...settings.external],
    keepNames: true,
    bundle: true,
    splitting: NODEJS_BUILD.splitting,
    metafile: true,
    // with splitting SST writes into the entry's folder with .mjs chunks
    ...(NODEJS_BUILD.splitting
      ? { outdir: join(dir, file, '..'), outExtension: { '.js': '.mjs' } }
      : { outfile: entry }),
    sourcemap: false, // SST: no source maps outside `sst dev` unless nodejs.sourcemap
    write: true,
    format: 'esm',
    target: 'esnext',
    mainFields: ['module', 'main'],
    banner: { js: SST_BANNER },
    logLevel: 'error',
  });
  if (result.errors.length)
    throw new Error(`esbuild failed for ${name}: ${result.errors.map((e) => e.text).join('; ')}`);

  if (settings.install.length) await npmInstall(dir, settings.install);
  for (const copy of settings.copyFiles) await cp(join(ROOT, copy.from), join(dir, copy.to), { recursive: true });

  return { name, dir, entry, exportName, bytes: await folderBytes(dir), buildMs: performance.now() - started };
}

async function npmInstall(dir: string, packages: readonly string[]) {
  const ours = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const dependencies = Object.fromEntries(packages.map((p) => [p, ours.dependencies[p] ?? '*']));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ dependencies }));
  // SST's exact command. prefer-offline only spares re-validating npm's cache (same packages).
  await run('npm', ['install', '--force', '--platform=linux', '--os=linux', '--arch=x64', '--cpu=x64'], {
    cwd: dir,
    env: { ...process.env, npm_config_prefer_offline: 'true', npm_config_fund: 'false', npm_config_audit: 'false' },
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** Sum of file sizes (apparent, not blocks): what the unzipped deployment package holds. */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** Folders under `dir` that hold an onnxruntime native binding, relative to it. */
export async function onnxBindings(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === 'onnxruntime_binding.node') found.push(relative(dir, entry.parentPath));
  }
  return found.sort();
}

/**
 * Packages npm installed in the folder that have install-time scripts (what `sst deploy` would run
 * on the deploying machine), by name. Folders that arrived through copyFiles are left out: npm never
 * saw them, so their scripts never run.
 */
export async function installScripts(dir: string, copied: readonly string[]): Promise<string[]> {
  const names = new Set<string>();
  for (const entry of await readdir(join(dir, 'node_modules'), { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || entry.name !== 'package.json') continue;
    const folder = relative(dir, entry.parentPath);
    if (
      copied.some((c) => folder === c || folder.startsWith(`${c}/`) || c === `${folder}/package.json`) ||
      /\/(test|tests|fixtures?)\b/.test(folder)
    )
      continue;
    const pkg = JSON.parse(await readFile(join(entry.parentPath, entry.name), 'utf8')) as {
      name?: string;
      scripts?: Record<string, string>;
    };
    if (pkg.name && ['preinstall', 'install', 'postinstall'].some((s) => pkg.scripts?.[s])) names.add(pkg.name);
  }
  return [...names].sort();
}

export const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

// `tsx test/lambda/build.ts [outDir] [name…]`: build folders to look at by hand.
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const [out = join(ROOT, '.data/lambda'), ...names] = process.argv.slice(2);
  await mkdir(out, { recursive: true });
  for (const name of (names.length ? names : Object.keys(LAMBDAS)) as LambdaName[]) {
    const built = await buildLambda(name, out);
    console.log(
      `${name.padEnd(11)} ${mb(built.bytes).padStart(7)} MB  ${(built.buildMs / 1000).toFixed(1)} s  ${built.dir}`,
    );
  }
}
