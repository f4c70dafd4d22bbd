// npx tsx bench/lab/report.ts DIR — every ranking variant tried for issue 16 item 2, measured on
// the dumps that bench/lab/dump.ts, doclex.ts and query.ts wrote to DIR (git, SOTU 1961–2000,
// npm docs): document-level R@1/R@5 per corpus and split, the production fusion unchanged otherwise.
// Variants are judged on the dev halves only (mean over corpora of R@1 + R@5); test halves are reported.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_INDEX_SETTINGS,
  rankDocuments,
  type Candidates,
  type DocumentHit,
  type IndexSettings,
} from '../../shared/core/document-ranking.ts';
import { saveResults } from '../lib/stats.ts';
import { variantTable } from './measure.ts';
import { rankVariant } from './fusion.ts';

const dir = process.argv[2] ?? '/tmp/h16a/lab';
interface Doc {
  corpusId: string;
  title: string[];
  summary: string[];
  headings: string[];
  syn: Record<string, string[][]>;
}
interface Question {
  q: { question: string; gold: string[]; split: 'dev' | 'test' };
  qlex: string[];
  terms: { chunkCount: number; selected: { idf: number }[] };
  c: Candidates & Record<string, unknown>;
}
const corpora = ['git', 'sotu-1961-2000', 'npm-docs']
  .filter((n) => existsSync(join(dir, `${n}.dump.json`)))
  .map((name) => {
    const raw = JSON.parse(readFileSync(join(dir, `${name}.dump.json`), 'utf8'));
    const questions: Question[] = raw.questions.map((x: any) => ({
      ...x,
      c: { ...x.c.candidates, chunks: new Map(Object.entries(x.c.candidates.chunks)) },
    }));
    return { name, documents: raw.documents as Record<string, Doc>, questions };
  });

// BM25F over the document fields from lexemes (each lexeme counted once per field), optionally with
// WordNet synonyms of the title and summary words as one more field.
interface Fields {
  title: number;
  summary: number;
  headings: number;
  syn: number;
  senses: number;
  synInLength: boolean;
}
const K1 = 1.2,
  B = 0.75;
function fieldSearch(docs: Record<string, Doc>, f: Fields) {
  const tf = new Map<string, Map<string, number>>();
  const len = new Map<string, number>();
  for (const [id, d] of Object.entries(docs)) {
    const m = new Map<string, number>();
    let l = 0;
    const add = (lexemes: string[], w: number, counts: boolean) => {
      for (const x of lexemes) {
        m.set(x, (m.get(x) ?? 0) + w);
        if (counts) l += w;
      }
    };
    add(d.title, f.title, true);
    add(d.summary, f.summary, true);
    add(d.headings, f.headings, true);
    if (f.syn > 0)
      add(
        [...new Set((d.syn[f.senses] ?? []).flat())].filter((x) => !m.has(x)),
        f.syn,
        f.synInLength,
      );
    tf.set(id, m);
    len.set(id, l);
  }
  const df = new Map<string, number>();
  for (const m of tf.values()) for (const x of m.keys()) df.set(x, (df.get(x) ?? 0) + 1);
  const n = tf.size,
    avg = [...len.values()].reduce((a, b) => a + b, 0) / n;
  return (q: string[]): DocumentHit[] => {
    const terms = [...new Set(q)].filter((x) => df.has(x));
    const out: DocumentHit[] = [];
    for (const [id, m] of tf) {
      let s = 0;
      for (const x of terms) {
        const t = m.get(x);
        if (!t) continue;
        s +=
          (Math.log(1 + (n - df.get(x)! + 0.5) / (df.get(x)! + 0.5)) * t * (K1 + 1)) /
          (t + K1 * (1 - B + (B * len.get(id)!) / Math.max(avg, 1)));
      }
      if (s > 0) out.push({ documentId: id, score: s });
    }
    return out.sort((a, b) => b.score - a.score || (a.documentId < b.documentId ? -1 : 1)).slice(0, 50);
  };
}
/** The rarest selected query term's idf over the largest idf possible (a term in one chunk), or their mean. */
const specificity = (x: Question, mean: boolean) => {
  const n = x.terms.chunkCount;
  const max = Math.log(1 + (n - 0.5) / 1.5);
  const s = x.terms.selected.map((t) => t.idf);
  return s.length === 0 ? 0 : (mean ? s.reduce((a, b) => a + b, 0) / s.length : Math.max(...s)) / max;
};

const { rows, measure } = variantTable(corpora, (c, d) => c.documents[d]!.corpusId);
const D = DEFAULT_INDEX_SETTINGS;
const prod = (cand: Candidates, s: IndexSettings = D) => rankDocuments(cand, s).map((d) => d.documentId);
measure('shipped', 'defaults (rankDocuments)', (x) => prod(x.c));
measure('shipped', 'lab fusion re-stated (must equal the line above)', (x) => rankVariant(x.c, D));
// Aggregation of chunk scores per document, normalisation, CombMNZ.
for (const decay of [0.2, 0.4, 0.6])
  for (const depth of [3, 10])
    measure('aggregation', `max + Σ ${decay}^i × next chunks, ${depth} chunks`, (x) =>
      rankVariant(x.c, D, { decay, depth }),
    );
for (const mnz of [0.1, 0.3, 0.5]) measure('fusion', `CombMNZ ^${mnz}`, (x) => rankVariant(x.c, D, { mnz }));
for (const norm of ['top', 'z'] as const)
  measure('fusion', `normalise by ${norm}`, (x) => rankVariant(x.c, D, { norm }));
// Adaptive weights from query specificity.
for (const mean of [false, true])
  for (const a of [0.5, 1, 2])
    measure('adaptive', `lexical × (1 + ${a}·(${mean ? 'mean' : 'max'} specificity − .5))`, (x) =>
      prod(x.c, {
        ...D,
        weights: { ...D.weights, lexical: D.weights.lexical * Math.max(0.1, 1 + a * (specificity(x, mean) - 0.5)) },
      }),
    );
for (const a of [0.5, 1])
  measure('adaptive', `dense lists × (1 − ${a}·(specificity − .5))`, (x) => {
    const k = Math.max(0.1, 1 - a * (specificity(x, false) - 0.5));
    return prod(x.c, { ...D, weights: { ...D.weights, dense: D.weights.dense * k, docDense: D.weights.docDense * k } });
  });
// Whole-document BM25 as a fifth list.
for (const weight of [0.5, 1, 2, 3])
  measure('document BM25', `weight ${weight}`, (x) =>
    rankVariant(x.c, D, { extra: { hits: x.c.documentLexical as DocumentHit[], weight } }),
  );
for (const weight of [1, 3])
  measure('document BM25', `every query term, weight ${weight}`, (x) =>
    rankVariant(x.c, D, { extra: { hits: x.c.documentLexicalAll as DocumentHit[], weight } }),
  );
// Question-phrasing stopwords (bench/lab/query.ts PHRASING).
measure('stopwords', 'lexical list', (x) => prod({ ...x.c, lexical: x.c.lexicalStop as Candidates['lexical'] }));
measure('stopwords', 'fields list', (x) => prod({ ...x.c, fields: x.c.fieldsStop as DocumentHit[] }));
measure('stopwords', 'both', (x) =>
  prod({ ...x.c, lexical: x.c.lexicalStop as Candidates['lexical'], fields: x.c.fieldsStop as DocumentHit[] }),
);
// More query terms in the chunk BM25 list (lexicalSearch keeps the rarest up to 2000 postings).
measure('query terms', 'postings cap 4000', (x) => prod({ ...x.c, lexical: x.c.lexical4000 as Candidates['lexical'] }));
measure('query terms', 'every query term', (x) => prod({ ...x.c, lexical: x.c.lexicalAll as Candidates['lexical'] }));
// BM25F field weights and WordNet field expansion (fields list recomputed in JS).
const base: Fields = { title: 3, summary: 2, headings: 1, syn: 0, senses: 1, synInLength: true };
const fieldVariants: [string, Fields][] = [
  ...(
    [
      [3, 2, 1],
      [5, 2, 1],
      [3, 3, 1],
      [4, 2, 0.5],
      [3, 2, 0.5],
      [6, 3, 1],
      [3, 1, 1],
    ] as const
  ).map(
    ([t, s, h]) =>
      [`title ${t} / summary ${s} / headings ${h}`, { ...base, title: t, summary: s, headings: h }] as [string, Fields],
  ),
  ...[1, 2, 3].flatMap((senses) =>
    [0.5, 1, 2].map(
      (syn) => [`WordNet synonyms ×${syn}, ${senses} sense(s)`, { ...base, syn, senses }] as [string, Fields],
    ),
  ),
  ['WordNet synonyms ×1, 1 sense, not in length', { ...base, syn: 1, senses: 1, synInLength: false }],
];
for (const [name, f] of fieldVariants) {
  const search = new Map(corpora.map((c) => [c.name, fieldSearch(c.documents, f)]));
  measure('fields (BM25F)', name, (x, c) => prod({ ...x.c, fields: search.get(c.name)!(x.qlex) }));
}
const file = saveResults('ranking-lab', {
  date: new Date().toISOString(),
  dumps: dir,
  corpora: corpora.map((c) => c.name),
  objective: 'mean over corpora of dev R@1 + R@5',
  rows,
});
console.log(`saved ${file}`);
