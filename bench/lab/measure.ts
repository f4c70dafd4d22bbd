// One scoring of ranking variants for the lab scripts (report.ts, glove.ts): per corpus and split,
// the document-level R@1 / R@5 of a ranker over the dumped questions, and the dev objective (mean
// over corpora of dev R@1 + R@5) every lab table is sorted by. Prints a line per variant and keeps
// the rows for the JSON.
export interface LabQuestion {
  q: { gold: string[]; split: 'dev' | 'test' };
}
export interface LabCorpus {
  name: string;
  questions: LabQuestion[];
}

export function variantTable<C extends LabCorpus>(
  corpora: C[],
  /** the corpus's own id (what `gold` names) of a lab document id */
  corpusIdOf: (c: C, documentId: string) => string,
) {
  const rows: Record<string, unknown>[] = [];
  function measure(family: string, variant: string, rank: (x: C['questions'][number], c: C) => string[]) {
    const row: Record<string, unknown> = { family, variant };
    let dev = 0;
    const cells: string[] = [];
    for (const c of corpora)
      for (const split of ['dev', 'test'] as const) {
        const ranks = c.questions
          .filter((x) => x.q.split === split)
          .map(
            (x) =>
              rank(x, c)
                .map((d) => corpusIdOf(c, d))
                .findIndex((d) => x.q.gold.includes(d)) + 1,
          );
        const r1 = ranks.filter((r) => r === 1).length / ranks.length;
        const r5 = ranks.filter((r) => r >= 1 && r <= 5).length / ranks.length;
        row[`${c.name} ${split} R@1`] = r1;
        row[`${c.name} ${split} R@5`] = r5;
        if (split === 'dev') dev += r1 + r5;
        cells.push(`${c.name.slice(0, 4)} ${split} ${r1.toFixed(3)}/${r5.toFixed(3)}`);
      }
    row['dev objective'] = dev / corpora.length;
    rows.push(row);
    console.log(`${family}: ${variant}`.padEnd(60), cells.join('  '), ` dev ${(dev / corpora.length).toFixed(3)}`);
  }
  return { rows, measure };
}
