import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// shared/core is plain data in, plain data out: no database, chain client, file system, network,
// adapters or services. Its modules import each other and a few pure libraries, nothing else.
const PURE_PACKAGES = new Set([
  '@noble/hashes/sha3',
  '@noble/hashes/utils',
  '@openzeppelin/merkle-tree',
  'canonicalize',
  'entities',
  'htmlparser2',
]);

const dir = import.meta.dirname;
const modules = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

/** Every module specifier: static imports and re-exports (one line or many), side-effect and dynamic imports. */
function specifiers(source: string): string[] {
  const patterns = [
    /^[ \t]*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^[ \t]*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((re) => [...source.matchAll(re)].map((m) => m[1]!)).sort();
}

describe('shared/core stays pure', () => {
  it('finds the imports it checks, however they are written', () => {
    expect(
      specifiers(
        "import a from 'x';\nimport {\n  b,\n} from \"y\";\nexport * from './z.ts';\nimport 'w';\nawait import('v');\nconst words = ['from', 'has'];",
      ),
    ).toEqual(['./z.ts', 'v', 'w', 'x', 'y']);
  });

  it.each(modules)('%s imports only core modules and pure libraries', (file) => {
    for (const spec of specifiers(readFileSync(join(dir, file), 'utf8'))) {
      if (spec.startsWith('.')) expect(spec, `${file} imports ${spec}`).toMatch(/^\.\/[\w-]+\.ts$/);
      else expect(PURE_PACKAGES, `${file} imports ${spec}`).toContain(spec);
    }
  });
});

describe('shared/ runtime code', () => {
  // Benches and test helpers may use shared/, never the other way round: a deployed bundle has neither.
  const shared = join(dir, '..');
  const files = (readdirSync(shared, { recursive: true }) as string[]).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.includes('node_modules'),
  );

  it('imports nothing from bench/ or test/', () => {
    expect(files.length).toBeGreaterThan(50);
    const offenders = files.flatMap((f) =>
      specifiers(readFileSync(join(shared, f), 'utf8'))
        .filter((s) => /(?:^|\/)(?:bench|test)\//.test(s))
        .map((s) => `${f} → ${s}`),
    );
    expect(offenders).toEqual([]);
  });
});
