import type { CorpusDocument, GoldQuestion } from '../corpora/corpus.ts';
import { loadGitManual, loadGitQuestions } from '../corpora/git.ts';
import { loadNpmDocs, loadNpmDocsQuestions } from '../corpora/npm-docs.ts';
import { loadSotu, loadSotuClassicQuestions } from '../corpora/sotu.ts';

export const LAB_CORPORA: { name: string; documents: () => CorpusDocument[]; questions: () => GoldQuestion[] }[] = [
  { name: 'git', documents: loadGitManual, questions: loadGitQuestions },
  {
    name: 'sotu-1961-2000',
    documents: () => loadSotu({ fromYear: 1961, toYear: 2000 }),
    questions: loadSotuClassicQuestions,
  },
  { name: 'npm-docs', documents: loadNpmDocs, questions: loadNpmDocsQuestions },
];
