// npx tsx bench/fit-ranking.ts DUMP_DIR [--write]
// Fits the shipped retrieval settings on the dev halves only, from the candidate lists that
// `npm run bench:quality -- --dump DIR` saved per question (no re-ingestion): one set of fusion
// settings for every corpus (coordinate ascent, bench/lib/quality.ts learnSettings; the objective
// is the mean over corpora of R@1 + R@5 + MRR@10 on dev), then the relevance floor — the largest
// relative and similarity floors that lose no dev question's gold document from the top 5.
// Prints dev and test figures per corpus for the current defaults and the fitted settings, and
// saves them (with the settings) to bench/results/fit-ranking-*.json; the test halves never tune.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_INDEX_SETTINGS,
  rankDocuments,
  type Candidates,
  type IndexSettings,
  type RankedDocument,
} from '../shared/core/document-ranking.ts';
import { aboveFloor, type RelevanceFloor } from '../shared/core/relevance-floor.ts';
import type { GoldQuestion } from './corpora/corpus.ts';
import { goldRank, learnSettings, rankMetrics } from './lib/quality.ts';
import { printTable, saveResults } from './lib/stats.ts';

interface Dumped {
  q: GoldQuestion;
  candidates: Candidates;
}
interface Corpus {
  name: string;
  corpusOf: Map<string, string>;
  questions: Dumped[];
}

const dir = process.argv[2];
if (!dir) throw new Error('usage: tsx bench/fit-ranking.ts DUMP_DIR (from npm run bench:quality -- --dump DUMP_DIR)');
const corpora: Corpus[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => {
    const raw = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    return {
      name: f.replace(/\.json$/, ''),
      corpusOf: new Map(Object.entries(raw.corpusOf as Record<string, string>)),
      questions: (
        raw.questions as { q: GoldQuestion; c: { candidates: Candidates & { chunks: Record<string, never> } } }[]
      ).map(({ q, c }) => ({
        q,
        candidates: { ...c.candidates, chunks: new Map(Object.entries(c.candidates.chunks)) },
      })),
    };
  });

const ranked = (c: Corpus, d: Dumped, s: IndexSettings): RankedDocument[] =>
  aboveFloor(rankDocuments(d.candidates, s), s.floor);
const metrics = (c: Corpus, split: 'dev' | 'test', s: IndexSettings) =>
  rankMetrics(
    c.questions
      .filter((d) => d.q.split === split)
      .map((d) =>
        goldRank(
          ranked(c, d, s).map((r) => c.corpusOf.get(r.documentId)!),
          d.q.gold,
        ),
      ),
  );
const objective = (s: IndexSettings) =>
  corpora.reduce((sum, c) => {
    const m = metrics(c, 'dev', s);
    return sum + m.recallAt1 + m.recallAt5 + m.mrr;
  }, 0) / corpora.length;

const noFloor = { relative: 0, similarity: 0 };
const start = { ...DEFAULT_INDEX_SETTINGS, floor: noFloor };
const fitted = learnSettings(objective, start).settings;

// The floor: the strictest values that keep every dev gold document that was in the top 5 without one.
const keptTop5 = (s: IndexSettings) =>
  corpora.reduce(
    (n, c) =>
      n +
      c.questions
        .filter((d) => d.q.split === 'dev')
        .filter((d) => {
          const r = goldRank(
            ranked(c, d, s).map((x) => c.corpusOf.get(x.documentId)!),
            d.q.gold,
          );
          return r >= 1 && r <= 5;
        }).length,
    0,
  );
const sourcesTop5 = (s: IndexSettings) => {
  const all = corpora.flatMap((c) =>
    c.questions.filter((d) => d.q.split === 'dev').map((d) => Math.min(5, ranked(c, d, s).length)),
  );
  return all.reduce((a, b) => a + b, 0) / all.length;
};
const reference = keptTop5(fitted);
let floor: RelevanceFloor = noFloor;
for (const relative of [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
  for (const similarity of [0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35]) {
    const s = { ...fitted, floor: { relative, similarity } };
    if (keptTop5(s) < reference) continue;
    if (relative + similarity > floor.relative + floor.similarity) floor = { relative, similarity };
  }
const shipped: IndexSettings = { ...fitted, floor };

const rows = [];
for (const c of corpora)
  for (const split of ['dev', 'test'] as const)
    for (const [name, s] of [
      ['current defaults', start],
      ['fitted on dev', fitted],
      ['fitted + floor', shipped],
    ] as const) {
      const m = metrics(c, split, s);
      rows.push({
        corpus: c.name,
        split,
        settings: name,
        n: m.questions,
        'R@1': m.recallAt1,
        'R@5': m.recallAt5,
        MRR: m.mrr,
      });
    }
printTable('document-level ranking from dumped candidates', rows);
console.log('fitted:', JSON.stringify(shipped));
console.log(
  `mean sources in the top 5 on dev: ${sourcesTop5(start).toFixed(2)} without the floor, ${sourcesTop5(shipped).toFixed(2)} with it`,
);
const file = saveResults('fit-ranking', {
  date: new Date().toISOString(),
  corpora: corpora.map((c) => c.name),
  objective: 'mean over corpora of dev R@1 + R@5 + MRR@10',
  start,
  fitted: shipped,
  rows,
});
console.log(`saved ${file}`);
