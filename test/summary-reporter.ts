import type { Reporter, TestModule } from 'vitest/node';

// One plain closing line ("vitest: N passed, N failed, N skipped") that any CI can read.
// A failed hook (beforeAll, afterAll) leaves its tests skipped, not failed: each file or suite with
// an error of its own counts as one failure, so a suite whose setup broke never reads as green.
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>) {
    const { passed, failed, skipped } = summarize(testModules, unhandledErrors.length);
    process.stdout.write(`\nvitest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

type ModuleLike = Pick<TestModule, 'state' | 'errors' | 'children'>;

export function summarize(testModules: ReadonlyArray<ModuleLike>, unhandled = 0) {
  let passed = 0,
    failed = unhandled,
    skipped = 0;
  for (const module of testModules) {
    const tests = [...module.children.allTests()];
    if (module.errors().length > 0 || (module.state() === 'failed' && tests.length === 0)) failed++;
    for (const suite of module.children.allSuites()) if (suite.errors().length > 0) failed++;
    for (const test of tests) {
      const state = test.result().state;
      if (state === 'passed') passed++;
      else if (state === 'failed') failed++;
      else skipped++;
    }
  }
  return { passed, failed, skipped };
}
