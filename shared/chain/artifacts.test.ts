import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARTIFACTS_DIR, CONTRACTS, renderArtifacts } from '../../contracts/build.ts';

describe('contracts/artifacts', () => {
  it('are exactly what contracts/build.ts compiles from the sources (run `npm run build:contracts`)', () => {
    const fresh = renderArtifacts();
    expect(Object.keys(fresh).sort()).toEqual(CONTRACTS.map((c) => `${c.name}.ts`).sort());
    for (const [file, text] of Object.entries(fresh)) {
      expect(readFileSync(join(ARTIFACTS_DIR, file), 'utf8'), `contracts/artifacts/${file} is stale`).toBe(text);
    }
    // solc-js (WebAssembly) compiling Permit2 through the IR pipeline takes a minute on a quiet
    // machine, several on a loaded one: more than the default per-test budget
  }, 900_000);
});
