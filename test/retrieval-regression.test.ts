import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSotu, loadSotuClassicQuestions } from '../bench/corpora/sotu.ts';
import type { QualityReport } from '../bench/lib/quality.ts';
import type { Services } from '../shared/services/container.ts';
import { measureQuality } from './quality.ts';

// The quality bench's dev questions on one of its corpora (State of the Union 1961–2000, 41
// addresses), answered by the shipped retrieve() with the default index settings. The figures are
// the bench's "default" row for this corpus and split (npm run bench:quality, bench/results/);
// update them together with the default settings, never to make a worse figure pass.
const COMMITTED = { recallAt5: 0.818, recallAt1: 0.591 };
const MARGIN = 0.03;

let services: Services;
let report: QualityReport;

beforeAll(async () => {
  ({ services, report } = await measureQuality(
    'State of the Union 1961–2000',
    loadSotu({ fromYear: 1961, toYear: 2000 }),
    loadSotuClassicQuestions().filter((q) => q.split === 'dev'),
  ));
});
afterAll(() => services.db.close());

describe('retrieval quality regression on the bench dev questions', () => {
  it('keeps document recall@5 (and recall@1) within a small margin of the committed figures', () => {
    expect(report.questions).toBe(44);
    expect(report.recallAt5, JSON.stringify(report.misses, null, 1)).toBeGreaterThanOrEqual(
      COMMITTED.recallAt5 - MARGIN,
    );
    expect(report.recallAt1).toBeGreaterThanOrEqual(COMMITTED.recallAt1 - MARGIN);
  });
});
