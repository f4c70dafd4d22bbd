import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { summarize } from './summary-reporter.ts';

// Fakes of vitest's reported-task objects (only the fields the summary reads), named as such.
const fakeTest = (state: 'passed' | 'failed' | 'skipped') => ({ result: () => ({ state }) });
const fakeSuite = (errors: unknown[], tests: ReturnType<typeof fakeTest>[]) => ({ errors: () => errors, tests });
function fakeModule(
  state: string,
  errors: unknown[],
  suites: ReturnType<typeof fakeSuite>[],
  own: ReturnType<typeof fakeTest>[] = [],
) {
  const all = [...own, ...suites.flatMap((s) => s.tests)];
  return {
    state: () => state,
    errors: () => errors,
    children: { allTests: () => all.values(), allSuites: () => suites.values() },
  } as never;
}

describe('the summary line', () => {
  it('counts a failed beforeAll as a failure although its tests only read as skipped', () => {
    const broken = fakeModule(
      'failed',
      [],
      [fakeSuite([{ message: 'beforeAll failed' }], [fakeTest('skipped'), fakeTest('skipped')])],
    );
    expect(summarize([broken])).toEqual({ passed: 0, failed: 1, skipped: 2 });
  });

  it('counts a file that failed to load, passing tests, failed tests and unhandled errors', () => {
    const unloadable = fakeModule('failed', [{ message: 'SyntaxError' }], []);
    const fine = fakeModule(
      'passed',
      [],
      [fakeSuite([], [fakeTest('passed'), fakeTest('failed')])],
      [fakeTest('passed')],
    );
    expect(summarize([unloadable, fine], 1)).toEqual({ passed: 2, failed: 3, skipped: 0 });
  });

  it('in a real vitest run, counts a failed file-level and a failed suite-level beforeAll as failures', () => {
    // A child vitest over test/fixtures/summary (two files whose beforeAll throws, one passing test),
    // with this reporter: what CI would read, not fakes of vitest's objects.
    const dir = fileURLToPath(new URL('./fixtures/summary/', import.meta.url));
    const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
    const run = spawnSync(process.execPath, [vitest, 'run', '--config', 'vitest.config.ts'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(run.stdout).toContain('vitest: 1 passed, 2 failed, 3 skipped');
    expect(run.status).not.toBe(0);
  });
});
