// npx tsx bench/lab/glove.ts DIR — GloVe variants of the ranking (issue 16), measured on the dumps
// bench/lab/glove-dump.ts wrote to DIR, with the compact table bench/lab/glove-table.ts derived there:
//  (a) query expansion: each query word's nearest GloVe neighbours in the corpus vocabulary, weighted
//      by cosine, as a whole-document BM25 list fused with the production lists;
//  (b) a soft-matching reranker of the top 20 ("GloVe BERTScore": each query word's best cosine to
//      the document's words, idf-weighted), mixed with the fused score;
//  (c) SIF-weighted mean GloVe vectors of document fields / body as one more dense list.
// Variants are chosen on the dev halves only (mean over corpora of R@1 + R@5); test halves are reported.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_INDEX_SETTINGS as D,
  rankDocuments,
  type Candidates,
  type DocumentHit,
} from '../../shared/core/document-ranking.ts';
import { saveResults } from '../lib/stats.ts';
import { variantTable } from './measure.ts';
import { rankVariant } from './fusion.ts';

const dir = process.argv[2] ?? '/tmp/hc-lab';
const DIM = 100;
const STOP = new Set(
  `the and for that this with from into onto what which who whom how why when where can could would should
  does did done doing have has had are was were been being not but its his her their them they you your our
  there here than then also any all some more most much many very just only about over under out use used
  using want wants need needs way get make one two like will shall may might must let see find know thing`.split(/\s+/),
);
const words = (text: string) => text.toLowerCase().match(/[a-z]+/g) ?? [];
const queryWords = (text: string) => [...new Set(words(text).filter((w) => w.length >= 3 && !STOP.has(w)))];

// The table: int8 rows, re-normalised to unit length as float32.
const vocab = readFileSync(join(dir, 'glove.words'), 'utf8').split('\n');
const i8 = new Int8Array(readFileSync(join(dir, 'glove.i8')).buffer.slice(0));
const table = new Float32Array(i8.length);
for (let r = 0; r < vocab.length; r++) {
  let n = 0;
  for (let d = 0; d < DIM; d++) n += i8[r * DIM + d]! ** 2;
  n = Math.sqrt(n) || 1;
  for (let d = 0; d < DIM; d++) table[r * DIM + d] = i8[r * DIM + d]! / n;
}
const row = new Map(vocab.map((w, i) => [w, i]));
const dot = (a: number, b: number) => {
  let s = 0;
  for (let d = 0; d < DIM; d++) s += table[a * DIM + d]! * table[b * DIM + d]!;
  return s;
};

interface Doc {
  corpusId: string;
  fields: string[];
  body: string[];
}
interface Question {
  q: { question: string; gold: string[]; split: 'dev' | 'test' };
  c: Candidates;
}
const corpora = ['git', 'sotu-1961-2000', 'npm-docs']
  .filter((n) => existsSync(join(dir, `${n}.glove-dump.json`)))
  .map((name) => {
    const raw = JSON.parse(readFileSync(join(dir, `${name}.glove-dump.json`), 'utf8'));
    const questions: Question[] = raw.questions.map((x: any) => ({
      ...x,
      c: { ...x.c, chunks: new Map(Object.entries(x.c.chunks)) },
    }));
    return { name, ...index(raw.documents as Record<string, Doc>), questions };
  });

/** Per corpus: BM25 statistics over whole documents, its GloVe vocabulary, SIF document vectors. */
function index(documents: Record<string, Doc>) {
  const ids = Object.keys(documents);
  const tf = new Map<string, Map<string, number>>();
  const len = new Map<string, number>();
  const df = new Map<string, number>();
  const freq = new Map<string, number>();
  let total = 0;
  for (const id of ids) {
    const all = [...documents[id]!.fields, ...documents[id]!.body];
    const m = new Map<string, number>();
    for (const w of all) {
      m.set(w, (m.get(w) ?? 0) + 1);
      freq.set(w, (freq.get(w) ?? 0) + 1);
    }
    total += all.length;
    tf.set(id, m);
    len.set(id, all.length);
    for (const w of m.keys()) df.set(w, (df.get(w) ?? 0) + 1);
  }
  const n = ids.length;
  const avg = [...len.values()].reduce((a, b) => a + b, 0) / n;
  const idf = (w: string) => Math.log(1 + (n - (df.get(w) ?? 0) + 0.5) / ((df.get(w) ?? 0) + 0.5));
  const corpusRows = [...df.keys()].filter((w) => row.has(w) && w.length >= 3).map((w) => row.get(w)!);
  // distinct GloVe rows of each document's fields and body (for soft matching)
  const rowsOf = (ws: string[]) => [...new Set(ws.filter((w) => row.has(w)).map((w) => row.get(w)!))];
  const docRows = new Map(
    ids.map((id) => [id, { fields: rowsOf(documents[id]!.fields), body: rowsOf(documents[id]!.body) }]),
  );
  const sifWeight = (w: string, a: number) => a / (a + (freq.get(w) ?? 0) / total);
  const sif = (ws: string[], a: number) => {
    const v = new Float32Array(DIM);
    for (const w of ws) {
      const r = row.get(w);
      if (r === undefined) continue;
      const k = sifWeight(w, a);
      for (let d = 0; d < DIM; d++) v[d]! += k * table[r * DIM + d]!;
    }
    return v;
  };
  const docSif = (part: 'fields' | 'body', a: number, removePc: boolean) => {
    const vs = ids.map((id) => sif(documents[id]![part], a));
    const pc = removePc ? principal(vs) : null;
    return { vecs: new Map(ids.map((id, i) => [id, unit(pc ? minus(vs[i]!, pc) : vs[i]!)])), pc };
  };
  const bm25 = (query: Map<string, number>): DocumentHit[] => {
    const out: DocumentHit[] = [];
    for (const [id, m] of tf) {
      let s = 0;
      for (const [w, qw] of query) {
        const t = m.get(w);
        if (!t) continue;
        s += (qw * idf(w) * t * 2.2) / (t + 1.2 * (0.25 + (0.75 * len.get(id)!) / avg));
      }
      if (s > 0) out.push({ documentId: id, score: s });
    }
    return out.sort((a, b) => b.score - a.score || (a.documentId < b.documentId ? -1 : 1)).slice(0, 50);
  };
  const corpusIdOf = (id: string) => documents[id]!.corpusId;
  return { ids, idf, corpusRows, docRows, sif, docSif, bm25, corpusIdOf };
}
function unit(v: Float32Array) {
  const n = Math.sqrt(v.reduce((a, b) => a + b * b, 0)) || 1;
  return v.map((x) => x / n);
}
function minus(v: Float32Array, pc: Float32Array) {
  const p = v.reduce((a, x, d) => a + x * pc[d]!, 0);
  return v.map((x, d) => x - p * pc[d]!);
}
/** First principal direction (uncentred, as in SIF) by power iteration. */
function principal(vs: Float32Array[]) {
  let u = unit(new Float32Array(DIM).fill(1));
  for (let it = 0; it < 30; it++) {
    const next = new Float32Array(DIM);
    for (const v of vs) {
      const p = v.reduce((a, x, d) => a + x * u[d]!, 0);
      for (let d = 0; d < DIM; d++) next[d]! += p * v[d]!;
    }
    u = unit(next);
  }
  return u;
}
const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, d) => s + x * b[d]!, 0);

type Corpus = (typeof corpora)[number];
const { rows, measure } = variantTable(corpora, (c, d) => c.corpusIdOf(d));

const prod = (c: Candidates) => rankDocuments(c, D);
measure('shipped', 'defaults (rankDocuments)', (x) => prod(x.c).map((d) => d.documentId));

// (a) Query expansion restricted to the corpus vocabulary.
const nearest = new Map<string, [string, number][]>(); // corpus + word → its 10 nearest ≥ 0.6, best first
function neighbours(c: Corpus, w: string, k: number, min: number): [string, number][] {
  const r = row.get(w);
  if (r === undefined) return [];
  const key = `${c.name} ${w}`;
  let best = nearest.get(key);
  if (!best) {
    const all: [number, number][] = [];
    for (const v of c.corpusRows) {
      if (v === r) continue;
      const s = dot(r, v);
      if (s >= 0.6) all.push([v, s]);
    }
    best = all
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([v, s]) => [vocab[v]!, s]);
    nearest.set(key, best);
  }
  return best.filter(([, s]) => s >= min).slice(0, k);
}
for (const k of [3, 5, 10])
  for (const min of [0.6, 0.7])
    for (const keepOriginal of [false, true])
      for (const weight of [0.25, 0.5, 1, 2]) {
        const cache = new Map<string, DocumentHit[]>();
        measure(
          'GloVe expansion',
          `${k} neighbours ≥ ${min}${keepOriginal ? ' + query words' : ' only'}, doc BM25 list ×${weight}`,
          (x, c) => {
            let hits = cache.get(x.q.question);
            if (!hits) {
              const q = new Map<string, number>();
              const qw = queryWords(x.q.question);
              if (keepOriginal) for (const w of qw) q.set(w, 1);
              for (const w of qw)
                for (const [n, s] of neighbours(c, w, k, min))
                  if (!qw.includes(n)) q.set(n, Math.max(q.get(n) ?? 0, s));
              hits = c.bm25(q);
              cache.set(x.q.question, hits);
            }
            return rankVariant(x.c, D, { extra: { hits, weight } });
          },
        );
      }

// (b) Soft-matching reranker of the top 20.
function soft(qRows: { r: number; idf: number }[], docRows: number[]) {
  let s = 0,
    z = 0;
  for (const { r, idf } of qRows) {
    let best = 0;
    for (const v of docRows) {
      const x = dot(r, v);
      if (x > best) best = x;
    }
    s += idf * best;
    z += idf;
  }
  return z > 0 ? s / z : 0;
}
const minmax = (xs: number[]) => {
  const lo = Math.min(...xs),
    hi = Math.max(...xs);
  return xs.map((x) => (hi > lo ? (x - lo) / (hi - lo) : 0));
};
const softCache = new Map<string, number[]>(); // part + question → soft score of each top-20 document
for (const part of ['fields', 'body'] as const)
  for (const lambda of [0.05, 0.1, 0.2, 0.3, 0.5]) {
    const cache = {
      get: (q: string) => softCache.get(`${part} ${q}`),
      set: (q: string, v: number[]) => softCache.set(`${part} ${q}`, v),
    };
    measure('GloVe rerank top 20', `max-cosine on ${part}, λ ${lambda}`, (x, c) => {
      const ranked = prod(x.c);
      const top = ranked.slice(0, 20);
      let s = cache.get(x.q.question);
      if (!s) {
        const qRows = queryWords(x.q.question)
          .filter((w) => row.has(w))
          .map((w) => ({ r: row.get(w)!, idf: c.idf(w) }));
        s = top.map((d) => {
          const dr = c.docRows.get(d.documentId)!;
          return soft(qRows, part === 'fields' ? dr.fields : dr.body);
        });
        cache.set(x.q.question, s);
      }
      const f = minmax(top.map((d) => d.score));
      const g = minmax(s);
      const re = top
        .map((d, i) => ({ id: d.documentId, v: (1 - lambda) * f[i]! + lambda * g[i]! }))
        .sort((a, b) => b.v - a.v || (a.id < b.id ? -1 : 1))
        .map((d) => d.id);
      return [...re, ...ranked.slice(20).map((d) => d.documentId)];
    });
  }

// (c) SIF document vectors as one more dense document list.
for (const part of ['fields', 'body'] as const)
  for (const removePc of [false, true]) {
    const a = 1e-3;
    const docs = new Map(corpora.map((c) => [c.name, c.docSif(part, a, removePc)]));
    for (const weight of [0.25, 0.5, 1, 2])
      measure('GloVe SIF list', `${part}${removePc ? ', first component removed' : ''}, ×${weight}`, (x, c) => {
        const { vecs, pc } = docs.get(c.name)!;
        const qv = c.sif(words(x.q.question), a);
        const q = unit(pc ? minus(qv, pc) : qv);
        const hits = [...vecs]
          .map(([id, v]) => ({ documentId: id, score: cosine(q, v) }))
          .sort((p, r) => r.score - p.score)
          .slice(0, 50);
        return rankVariant(x.c, D, { extra: { hits, weight } });
      });
  }

const file = saveResults('ranking-lab-glove', {
  date: new Date().toISOString(),
  dumps: dir,
  table: `${vocab.length} words × ${DIM}, int8 (bench/lab/glove-table.ts)`,
  corpora: corpora.map((c) => c.name),
  objective: 'mean over corpora of dev R@1 + R@5',
  rows,
});
console.log(`saved ${file}`);
