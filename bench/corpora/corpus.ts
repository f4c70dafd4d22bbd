// What every benchmark corpus gives: documents with stable ids, and gold questions over them.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CorpusDocument {
  id: string;
  title: string;
  text: string;
  /** How it is uploaded; plain text unless the loader renders Markdown headings. */
  contentType?: 'text/plain' | 'text/markdown';
  metadata: Record<string, unknown>;
}

export interface GoldQuestion {
  question: string;
  gold: string[];
  split: 'dev' | 'test';
  /** A case-insensitive regular expression that every gold document's text matches (the passage that answers). */
  evidence?: string;
}

/** Read and check `bench/corpora/<file>`: an array of `{ question, gold: [docId…], split }`. */
export function loadQuestionFile(file: string): GoldQuestion[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const raw: unknown = JSON.parse(readFileSync(join(here, file), 'utf8'));
  if (!Array.isArray(raw)) throw new Error(`${file} must be an array`);
  return raw.map((q: unknown, i): GoldQuestion => {
    const v = q as Record<string, unknown>;
    if (
      typeof v.question !== 'string' ||
      !Array.isArray(v.gold) ||
      v.gold.length === 0 ||
      !v.gold.every((g) => typeof g === 'string') ||
      (v.split !== 'dev' && v.split !== 'test') ||
      (v.evidence !== undefined && typeof v.evidence !== 'string')
    ) {
      throw new Error(`Malformed question at index ${i} in ${file}`);
    }
    return {
      question: v.question,
      gold: v.gold as string[],
      split: v.split,
      ...(v.evidence === undefined ? {} : { evidence: v.evidence }),
    };
  });
}

/** Gold labels still hold for these documents: every gold id exists and contains the question's evidence. */
export function checkGold(docs: readonly CorpusDocument[], questions: readonly GoldQuestion[]): string[] {
  const byId = new Map(docs.map((d) => [d.id, d]));
  const problems: string[] = [];
  for (const q of questions) {
    for (const id of q.gold) {
      const doc = byId.get(id);
      if (!doc) problems.push(`unknown gold ${id}: ${q.question}`);
      else if (q.evidence !== undefined && !new RegExp(q.evidence, 'i').test(doc.text))
        problems.push(`${id} lacks /${q.evidence}/: ${q.question}`);
    }
  }
  return problems;
}
