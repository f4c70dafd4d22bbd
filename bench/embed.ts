// npm run bench:embed [-- --texts 1000 --queries 300 --short 256 --passages 96 --rounds 5]
// USE-lite on onnxruntime (the default engine) against the same model on TF.js, in one process,
// on the same inputs and batch sizes: parity (cosine per text), throughput for short texts and
// ~120-word passages, single-query latency. Prints tables and writes JSON to bench/results/.
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadConfig } from '../shared/config.ts';
import type { Embedder } from '../shared/embedder/index.ts';
import { sessionOptions } from '../shared/embedder/onnx-runtime.ts';
import { cosine, parityTexts } from '../test/embedder-parity.ts';
import { createUseLiteOnnxEmbedder, ensureUseLiteOnnx } from '../shared/embedder/use-lite-onnx.ts';
import { createUseLiteTfjsEmbedder } from '../shared/embedder/use-lite-tfjs.ts';
import { loadSotu, loadSotuQuestions } from './corpora/sotu.ts';
import { printTable, saveResults, summarize } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    texts: { type: 'string', default: '1000' },
    queries: { type: 'string', default: '300' },
    short: { type: 'string', default: '256' },
    passages: { type: 'string', default: '96' },
    rounds: { type: 'string', default: '5' },
  },
});
const loadAtStart = loadavg();
const BATCHES = [16, 64];
const ROUNDS = Number(args.rounds);
const threads = loadConfig().embedder.threads;

// Inputs: short texts are questions and single sentences (5–30 words); passages are 120-word windows.
const docs = loadSotu();
const questions = loadSotuQuestions().map((q) => q.question);
const sentences = docs
  .flatMap((d) => d.text.split(/(?<=[.!?])\s+/))
  .filter((s) => s.split(/\s+/).length >= 5 && s.split(/\s+/).length <= 30);
const shortTexts = Array.from({ length: Number(args.short) }, (_, i) =>
  i % 2 ? questions[(i >> 1) % questions.length]! : sentences[(i * 7919) % sentences.length]!,
);
const words = docs.slice(-40).flatMap((d) => d.text.split(/\s+/).filter(Boolean));
const passages = Array.from({ length: Number(args.passages) }, (_, i) => words.slice(i * 120, i * 120 + 120).join(' '));
const sets = { short: shortTexts, passages };

const buildStart = performance.now();
const model = await ensureUseLiteOnnx(loadConfig().embedder.cacheDir);
const buildMs = performance.now() - buildStart;
const openStart = performance.now();
const onnx = await createUseLiteOnnxEmbedder({ threads });
const onnxOpenMs = performance.now() - openStart;
const tfjsStart = performance.now();
const tfjs = await createUseLiteTfjsEmbedder();
const tfjsOpenMs = performance.now() - tfjsStart;
const settings = sessionOptions({ threads });
console.log(
  `ONNX model ${model.built ? 'built' : 'cached'} in ${buildMs.toFixed(0)} ms at ${model.path}; session ${onnxOpenMs.toFixed(0)} ms; TF.js ${tfjsOpenMs.toFixed(0)} ms`,
);
console.log(
  `onnxruntime ${ort.env.versions.node}: intraOpNumThreads ${settings.intraOpNumThreads}, interOpNumThreads ${settings.interOpNumThreads}, ${settings.executionMode}, optimization ${settings.graphOptimizationLevel}, no spinning`,
);

// 1. Parity on the full set.
const texts = parityTexts(Number(args.texts));
const [a, b] = [await onnx.embed(texts), await tfjs.embed(texts)];
const cosines = texts.map((_, i) => cosine(a[i]!, b[i]!));
const worst = cosines.reduce((w, c, i) => (c < cosines[w]! ? i : w), 0);
const parity = {
  texts: texts.length,
  minCosine: cosines[worst]!,
  meanCosine: cosines.reduce((s, c) => s + c, 0) / cosines.length,
  below0999: cosines.filter((c) => c < 0.999).length,
  worstText: texts[worst]!.slice(0, 80),
};
printTable(`Parity: cosine(ONNX, TF.js) over ${texts.length} texts`, [
  {
    texts: parity.texts,
    'min cosine': parity.minCosine.toFixed(12),
    '1 − min': (1 - parity.minCosine).toExponential(1),
    '1 − mean': (1 - parity.meanCosine).toExponential(1),
    'below 0.999': parity.below0999,
  },
]);

// 2. Throughput: the same texts in the same batch sizes, after a warm-up pass. Other work on the
// machine comes and goes, so the engines take turns for ROUNDS rounds and each keeps its best.
async function throughput(embedder: Embedder, list: readonly string[], batch: number) {
  const start = performance.now();
  for (let i = 0; i < list.length; i += batch) await embedder.embed(list.slice(i, i + batch));
  return list.length / ((performance.now() - start) / 1000);
}
const rates = [];
for (const [set, list] of Object.entries(sets)) {
  for (const batch of BATCHES) {
    await onnx.embed(list.slice(0, batch));
    await tfjs.embed(list.slice(0, batch));
    const onnxRounds: number[] = [];
    const tfjsRounds: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      onnxRounds.push(await throughput(onnx, list, batch));
      tfjsRounds.push(await throughput(tfjs, list, batch));
    }
    const onnxRate = Math.max(...onnxRounds);
    const tfjsRate = Math.max(...tfjsRounds);
    rates.push({
      set,
      texts: list.length,
      batch,
      onnxPerSecond: onnxRate,
      tfjsPerSecond: tfjsRate,
      ratio: onnxRate / tfjsRate,
      onnxRounds,
      tfjsRounds,
    });
  }
}

// 2b. The thread setting: one intra-op thread against one per core, same alternating rounds.
const threadChoices = [...new Set([1, availableParallelism()])];
const byThreads = await Promise.all(threadChoices.map((t) => createUseLiteOnnxEmbedder({ threads: t })));
const threadRates: { set: string; batch: number; intraOpNumThreads: number; perSecond: number; rounds: number[] }[] =
  [];
for (const [set, list] of Object.entries(sets)) {
  const rounds = threadChoices.map(() => [] as number[]);
  for (const e of byThreads) await e.embed(list.slice(0, 64));
  for (let r = 0; r < ROUNDS; r++)
    for (const [k, e] of byThreads.entries()) rounds[k]!.push(await throughput(e, list, 64));
  threadChoices.forEach((t, k) =>
    threadRates.push({ set, batch: 64, intraOpNumThreads: t, perSecond: Math.max(...rounds[k]!), rounds: rounds[k]! }),
  );
}

// 3. Single-query latency: one question per call, one after another.
async function latency(embedder: Embedder, count: number) {
  for (let i = 0; i < 10; i++) await embedder.embed([questions[i]!]);
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await embedder.embed([questions[i % questions.length]!]);
    samples.push(performance.now() - t);
  }
  return summarize(samples);
}
const single = { onnx: await latency(onnx, Number(args.queries)), tfjs: await latency(tfjs, Number(args.queries)) };

printTable(
  `Throughput (texts/s, best of ${ROUNDS} alternating rounds), same inputs and batch sizes`,
  rates.map((r) => ({
    set: r.set,
    texts: r.texts,
    batch: r.batch,
    'ONNX/s': r.onnxPerSecond,
    'TF.js/s': r.tfjsPerSecond,
    'ONNX÷TF.js': r.ratio,
  })),
);
printTable(
  `onnxruntime by intra-op threads (texts/s, batch 64, best of ${ROUNDS})`,
  threadRates.map((r) => ({ set: r.set, threads: r.intraOpNumThreads, 'ONNX/s': r.perSecond })),
);
printTable('Single query (one question per call), ms', [
  { engine: 'onnxruntime', n: single.onnx.n, p50: single.onnx.p50, p90: single.onnx.p90, p99: single.onnx.p99 },
  { engine: 'tfjs', n: single.tfjs.n, p50: single.tfjs.p50, p90: single.tfjs.p90, p99: single.tfjs.p99 },
]);

const targets = { minCosine: 0.999, minThroughputRatio: 5, maxSingleQueryP50Ms: 5 };
const met = {
  parity: parity.minCosine >= targets.minCosine,
  throughput: rates.every((r) => r.ratio >= targets.minThroughputRatio),
  latency: single.onnx.p50 < targets.maxSingleQueryP50Ms,
};
console.log(
  `\ntargets: parity ${met.parity ? 'met' : 'MISSED'}, throughput ×${targets.minThroughputRatio} ${met.throughput ? 'met' : 'MISSED'}, single-query p50 < ${targets.maxSingleQueryP50Ms} ms ${met.latency ? 'met' : 'MISSED'}`,
);

const file = saveResults('embed', {
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    availableParallelism: availableParallelism(),
    model: cpus()[0]?.model,
    node: process.version,
    onnxruntime: ort.env.versions.node,
    loadAverage: { start: loadAtStart, end: loadavg() },
  },
  model: {
    id: onnx.modelId,
    dimension: onnx.dimension,
    onnxFile: model.path,
    sourceSha256: model.sourceHash,
    builtThisRun: model.built,
    buildMs,
    onnxOpenMs,
    tfjsOpenMs,
  },
  session: {
    intraOpNumThreads: settings.intraOpNumThreads,
    interOpNumThreads: settings.interOpNumThreads,
    executionMode: settings.executionMode,
    graphOptimizationLevel: settings.graphOptimizationLevel,
    allowSpinning: false,
  },
  inputs: {
    short: { texts: shortTexts.length, meanWords: meanWords(shortTexts) },
    passages: { texts: passages.length, meanWords: meanWords(passages) },
    batches: BATCHES,
    rounds: ROUNDS,
  },
  parity,
  throughput: rates,
  threads: threadRates,
  singleQuery: single,
  targets,
  met,
});
console.log(`saved ${file}`);

function meanWords(list: readonly string[]) {
  return list.reduce((s, t) => s + t.split(/\s+/).filter(Boolean).length, 0) / list.length;
}
