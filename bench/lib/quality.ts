import type { Services } from '../../shared/services/container.ts';
import type { Principal } from '../../shared/services/api-keys.ts';
import { addDocument } from '../../shared/services/documents.ts';
import { retrieve } from '../../shared/services/retrieval.ts';
import type { CorpusDocument, GoldQuestion } from '../corpora/sotu.ts';

export interface QualityReport {
  questions: number;
  recallAt1: number;
  recallAt5: number;
  recallAt10: number;
  mrr: number;
  misses: { question: string; gold: string[]; top: string[] }[];
}

/** Ingest a corpus into one datanet; returns corpus id → document id. */
export async function ingestCorpus(services: Services, owner: Principal, datanetId: string, docs: readonly CorpusDocument[]) {
  const ids = new Map<string, string>();
  for (const doc of docs) {
    const { document } = await addDocument(services, owner, datanetId, {
      title: doc.title,
      contentType: 'text/plain',
      content: new TextEncoder().encode(doc.text),
      metadata: { ...doc.metadata, corpusId: doc.id },
    });
    ids.set(doc.id, document.id);
  }
  return ids;
}

/** Document-level recall@k and MRR: a question is answered when any gold document appears. */
export async function evaluate(services: Services, datanetId: string, questions: readonly GoldQuestion[]): Promise<QualityReport> {
  let r1 = 0, r5 = 0, r10 = 0, rr = 0;
  const misses: QualityReport['misses'] = [];
  for (const q of questions) {
    const sources = await retrieve(services, { query: q.question, datanetIds: [datanetId], topK: 10 });
    const docs: string[] = [];
    for (const s of sources) {
      const corpusId = String(s.metadata.corpusId);
      if (!docs.includes(corpusId)) docs.push(corpusId);
    }
    const rank = docs.findIndex((d) => q.gold.includes(d)) + 1;
    if (rank === 1) r1++;
    if (rank >= 1 && rank <= 5) r5++;
    if (rank >= 1 && rank <= 10) r10++;
    if (rank >= 1) rr += 1 / rank;
    if (rank === 0 || rank > 5) misses.push({ question: q.question, gold: q.gold, top: docs.slice(0, 5) });
  }
  const n = questions.length;
  return { questions: n, recallAt1: r1 / n, recallAt5: r5 / n, recallAt10: r10 / n, mrr: rr / n, misses };
}
