import { fileURLToPath } from 'node:url';

// The dashboard's script, bundled from client/dashboard.js and npm packages (viem) by esbuild
// the first time it is asked for, then served from memory: never from a CDN.
let bundle: Promise<string> | undefined;

export function dashboardScript(): Promise<string> {
  bundle ??= (async () => {
    // A computed specifier: bundlers (the edge Worker's build) must not pull esbuild itself in.
    const specifier = 'esbuild';
    const esbuild = (await import(specifier)) as typeof import('esbuild');
    const out = await esbuild.build({
      // Resolved here, not at module load: the edge Worker imports this module and has no file URLs.
      entryPoints: [fileURLToPath(new URL('./client/dashboard.js', import.meta.url))], bundle: true, format: 'esm', platform: 'browser', target: 'es2020', minify: true, write: false, legalComments: 'none',
    });
    return out.outputFiles[0]!.text;
  })();
  bundle.catch(() => (bundle = undefined));
  return bundle;
}
