// npx tsx bench/lab/answers.ts [SOURCES.json] [--split dev|test|all] [--params '{"sourceCoverage":[0,0.1]}'] [--show]
// Replays the answer path after retrieval on recorded sources (bench/lab/record-sources.ts; by default
// the 05aac2b recording in bench/results/) (per question, what /v1/retrieve
// with topK 5 returned over the corpus's three datanets: the job an answer queues): the extractive
// composer with selection parameters, citation parsing, the support check exactly as
// shared/services/answer-results.ts runs it, and answer pricing (core/answer-charge.ts), then
// bench:attribution's answer figures. Seconds instead of an upload, so the composer is tuned on the
// DEV halves only; `npm run bench:attribution` reports the test halves through the real API.
// Each key of --params may hold a list: every combination is tried; an array of objects tries each.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { answerCharge } from '../../shared/core/answer-charge.ts';
import { bestSupportingSpan, dedupeSources, parseAnswer, supports, wordCoverage } from '../../shared/core/citations.ts';
import { createUseLiteEmbedder } from '../../shared/embedder/use-lite.ts';
import { NO_ANSWER, createExtractiveGenerator } from '../../gpu-worker/generators/extractive.ts';
import { DEFAULT_SELECTION, type SelectionParams } from '../../gpu-worker/generators/sentence-selection.ts';
import { attributionFigures, type CallOutcome } from '../lib/attribution-metrics.ts';
import { printTable, saveResults } from '../lib/stats.ts';
import { LAB_CORPORA } from './corpora.ts';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    split: { type: 'string', default: 'dev' },
    corpus: { type: 'string', multiple: true },
    show: { type: 'boolean', default: false },
    params: { type: 'string', default: '{}' },
    save: { type: 'string' },
  },
});

interface Recorded {
  corpus: string;
  question: string;
  gold: string[];
  split: 'dev' | 'test';
  sources: { documentId: string; doc: string; price: number; text: string; score: number }[];
}
const recorded = (positionals.length > 0 ? positionals : ['bench/results/answer-sources-05aac2b-2026-12-07T19-57.json'])
  .flatMap((f) => JSON.parse(readFileSync(f, 'utf8')) as Recorded[])
  .filter((r) => (args.split === 'all' || r.split === args.split) && (!args.corpus || args.corpus.includes(r.corpus)));
const titleOf = new Map<string, string>();
for (const c of LAB_CORPORA)
  if (recorded.some((r) => r.corpus === c.name)) for (const d of c.documents()) titleOf.set(d.id, d.title);

const model = await createUseLiteEmbedder();
const cache = new Map<string, Float32Array>(); // every text is embedded once across the parameter sets
const embedder = {
  ...model,
  async embed(texts: readonly string[]) {
    const missing = [...new Set(texts.filter((t) => !cache.has(t)))];
    if (missing.length > 0) (await model.embed(missing)).forEach((v, i) => cache.set(missing[i]!, v));
    return texts.map((t) => cache.get(t)!);
  },
};

// --params: one object (every combination of its lists) or an array of such objects (their union).
const expand = (spec: Record<string, number | number[]>) =>
  Object.entries(spec).reduce<Partial<SelectionParams>[]>(
    (sets, [k, v]) => sets.flatMap((s) => (Array.isArray(v) ? v : [v]).map((x) => ({ ...s, [k]: x }))),
    [{}],
  );
const spec = JSON.parse(args.params!) as Record<string, number | number[]> | Record<string, number | number[]>[];
const grid = (Array.isArray(spec) ? spec : [spec]).flatMap(expand);
const rows: Record<string, string | number>[] = [];
for (const overrides of grid) {
  const figures = await evaluate({ ...DEFAULT_SELECTION, ...overrides });
  rows.push(...figures.map((f) => ({ params: JSON.stringify(overrides), ...f })));
  const mean = (k: string) => figures.reduce((a, f) => a + Number(f[k as keyof typeof f]), 0) / figures.length;
  console.log(
    JSON.stringify(overrides),
    figures
      .map((f) => `${f.corpus} pp ${f.pp.toFixed(3)} cg5 ${f.cg5.toFixed(3)} ans ${f.answered.toFixed(2)}`)
      .join(' | '),
    `| mean pp ${mean('pp').toFixed(3)} cg5 ${mean('cg5').toFixed(3)}`,
  );
}
printTable(`answers replayed (${args.split})`, rows);
if (args.save) saveResults(args.save, { split: args.split, sources: positionals, rows });

async function evaluate(selection: SelectionParams) {
  const generator = createExtractiveGenerator(embedder as typeof model, selection);
  const byCorpus = new Map<string, CallOutcome[]>();
  const answered = new Map<string, number>();
  for (const r of recorded) {
    const sources = dedupeSources(r.sources).map((s, i) => ({ ...s, number: i + 1 }));
    const g = await generator.generate(
      {
        jobId: 'lab',
        enqueuedAt: 0,
        model: 'extractive',
        adapter: null,
        messages: [],
        question: r.question,
        sources: sources.map((s) => ({ number: s.number, title: titleOf.get(s.doc) ?? s.doc, text: s.text })),
        maxTokens: 1024,
        temperature: 0,
        logprobs: false,
        causal: false,
      },
      () => {},
    );
    if (g.text !== NO_ANSWER) answered.set(r.corpus, (answered.get(r.corpus) ?? 0) + 1);
    const parsed = parseAnswer(g.text, sources.length);
    const sentences = parsed.citations.map((c) => c.sentence.text);
    const pairs = parsed.citations.flatMap((c, i) =>
      c.sourceNumbers.map((n) => ({ sentence: i, source: sources[n - 1]! })),
    );
    // answer-results.ts's checkSupport
    const quotes = pairs.map((c) => bestSupportingSpan(sentences[c.sentence]!, c.source.text));
    const vectors = await embedder.embed([...sentences, ...pairs.map((c, i) => quotes[i]?.text ?? c.source.text)]);
    const checks = pairs.map((c, i) => {
      const a = vectors[c.sentence]!;
      const b = vectors[sentences.length + i]!;
      let similarity = 0;
      for (let k = 0; k < a.length; k++) similarity += a[k]! * b[k]!;
      return {
        sentence: c.sentence,
        number: c.source.number,
        supported: supports(similarity, wordCoverage(sentences[c.sentence]!, c.source.text)),
      };
    });
    const { charge } = answerCharge({
      sources: sources.map((s) => ({
        score: s.score,
        duplicateOf: null,
        contributorAccountId: `owner-${s.price}`,
        datanetId: String(s.price),
        documentId: s.documentId,
        pricePerSource: BigInt(s.price),
      })),
      sentenceCount: parsed.citations.length,
      checks,
      tokens: { prompt: 0, completion: 0, attribution: 0 },
      prices: { inputPerMillion: 0n, outputPerMillion: 0n },
      consumerAccountId: 'consumer',
      protocolAccountId: 'protocol',
      feeBps: 1000,
      cap: 10n ** 12n,
      adapter: null,
    });
    const paid: Record<string, number> = {};
    sources.forEach((s, i) => {
      paid[s.doc] = (paid[s.doc] ?? 0) + Number(charge.credits[i]);
    });
    const cited = [...new Set(pairs.map((p) => p.source.doc))];
    byCorpus.set(r.corpus, [
      ...(byCorpus.get(r.corpus) ?? []),
      { gold: r.gold, shown: sources, paid, cited, latencyMs: 0 },
    ]);
    if (args.show) {
      const shown = [...new Set(sources.map((s) => s.doc))];
      const rank = shown.findIndex((d) => r.gold.includes(d)) + 1;
      const ok = cited.some((d) => r.gold.includes(d)) ? 'OK  ' : rank > 0 ? 'MISS' : '--  ';
      console.log(`\n${ok} ${r.corpus} "${r.question}" gold ${r.gold.join(',')} @${rank}; shown ${shown.join(' ')}`);
      console.log(`   cited ${cited.join(',')}  ${g.text.slice(0, 400)}`);
    }
  }
  return [...byCorpus].map(([corpus, list]) => {
    const f = attributionFigures(list);
    return {
      corpus,
      n: f.questions,
      'R@1': f.recallAt1,
      'R@5': f.recallAt5,
      pp: f.payPrecision,
      cg: f.citesGold,
      cg5: f.citesGoldWhenInTop5,
      answered: (answered.get(corpus) ?? 0) / list.length,
      'pays non-gold': f.paysNonGold,
      'fee/gold-only': f.feeOverGoldOnly,
    };
  });
}
