import { loadSotu, loadSotuQuestions } from '../bench/corpora/sotu.ts';
import { mulberry32 } from '../bench/lib/traffic.ts';

// Texts for comparing two engines of the same model (tests and bench/embed.ts only; the SOTU
// corpus is a dev dependency): hard cases first, then short questions, single sentences and
// passages of 20–500 words cut from State of the Union addresses, drawn with a seeded generator
// so every run compares the same texts.

export const EDGE_CASES: readonly string[] = [
  '',
  ' ',
  '\n\t ',
  'a',
  '?',
  'Ünïcödé façade — “quoted” – naïve café, Zürich, São Paulo',
  '日本語のテキストと中文文本，以及한국어',
  'مرحبا بالعالم — hello world — שלום עולם',
  'emoji 👍🏽 🎉 🇺🇸 and a family 👨‍👩‍👧‍👦',
  'e\u0301 vs é, ﬁ ligature, ① circled, ＦＵＬＬ ｗｉｄｔｈ',
  'https://example.com/a?b=1&c=2 costs $8,000 (10%) on 2001-09-11 at 9:37am',
  'word '.repeat(2000),
];

/** `count` texts (at least the edge cases): a quarter questions, a quarter sentences, the rest passages. */
export function parityTexts(count: number, seed = 1): string[] {
  const next = mulberry32(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!;
  const docs = loadSotu();
  const questions = loadSotuQuestions().map((q) => q.question);
  const texts = [...EDGE_CASES, docs[docs.length - 1]!.text]; // and a whole address
  while (texts.length < count) {
    const roll = next();
    const doc = pick(docs).text;
    if (roll < 0.25) texts.push(pick(questions));
    else if (roll < 0.5) {
      const sentences = doc.split(/(?<=[.!?])\s+/).filter((s) => s.length > 0);
      texts.push(pick(sentences));
    } else {
      const words = doc.split(/\s+/).filter(Boolean);
      const length = 20 + Math.floor(next() * 481);
      const start = Math.floor(next() * Math.max(1, words.length - length));
      texts.push(words.slice(start, start + length).join(' '));
    }
  }
  return texts.slice(0, Math.max(count, EDGE_CASES.length + 1));
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}
