import { describe, expect, it } from 'vitest';
import { checkGold } from './corpus.ts';
import { loadGitManual, loadGitQuestions, renderManPage } from './git.ts';
import { loadNpmDocs, loadNpmDocsQuestions } from './npm-docs.ts';
import { loadSotu, loadSotuClassicQuestions } from './sotu.ts';

const splits = (qs: { split: string }[]) => ({
  dev: qs.filter((q) => q.split === 'dev').length,
  test: qs.filter((q) => q.split === 'test').length,
});

describe('quality benchmark corpora', () => {
  it('renders a man page to Markdown headings, without the running header and footer', () => {
    const roff = Buffer.from(
      '.TH "GIT\\-DEMO" "1" "01/01/2025" "Git 2\\&.39" "Git Manual"\n.SH "NAME"\ngit-demo \\- Do a demo\n.SH "DESCRIPTION"\n.sp\nSome \\fBbold\\fR text\\&.\n.SS "Details"\n.sp\n# not a heading\n',
    );
    expect(renderManPage(roff)).toBe(
      '# NAME\ngit-demo - Do a demo\n\n# DESCRIPTION\nSome bold text.\n\n## Details\n\\# not a heading\n',
    );
  });

  it('git manual: every gold page exists and holds its evidence; ≥60 questions split in halves', () => {
    const questions = loadGitQuestions();
    expect(checkGold(loadGitManual(), questions)).toEqual([]);
    const { dev, test } = splits(questions);
    expect(dev + test).toBeGreaterThanOrEqual(60);
    expect(Math.abs(dev - test)).toBeLessThanOrEqual(1);
  });

  it('SOTU 1961–2000: every gold address exists and holds its evidence; ≥60 questions split in halves', () => {
    const questions = loadSotuClassicQuestions();
    expect(checkGold(loadSotu({ fromYear: 1961, toYear: 2000 }), questions)).toEqual([]);
    const { dev, test } = splits(questions);
    expect(dev + test).toBeGreaterThanOrEqual(60);
    expect(Math.abs(dev - test)).toBeLessThanOrEqual(1);
  });

  it('npm docs: 91 vendored pages; every gold page exists and holds its evidence; ≥40 questions split in halves', () => {
    const docs = loadNpmDocs();
    expect(docs).toHaveLength(91);
    const questions = loadNpmDocsQuestions();
    expect(checkGold(docs, questions)).toEqual([]);
    const { dev, test } = splits(questions);
    expect(dev + test).toBeGreaterThanOrEqual(40);
    expect(Math.abs(dev - test)).toBeLessThanOrEqual(1);
  });
});
