import { Tokenizer } from '@huggingface/tokenizers';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { createFsObjectStore } from '../object-store/fs.ts';
import { openConfiguredEmbedder } from './open.ts';
import { ElemType, OnnxGraph } from '../model-build/onnx-graph.ts';
import { cosine, parityTexts } from '../../test/embedder-parity.ts';
import { createSentenceTransformerEmbedder, downloadModelDir } from './sentence-transformers.ts';

// The real all-MiniLM-L6-v2 tokenizer and config with a small randomly initialised graph of
// the same signature: input_ids, attention_mask, token_type_ids → last_hidden_state.
const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'all-MiniLM-L6-v2');
const VOCAB = 30522;
const HIDDEN = 8;

function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

/** Embedding lookup (word + token type), a dense layer and tanh. Like BERT, padded positions get
 *  states of their own (here from the [PAD] embedding), so pooling must leave them out itself. */
function tinyBert(seed = 7) {
  const next = seeded(seed);
  const weights = {
    word: Float32Array.from({ length: VOCAB * HIDDEN }, next),
    type: Float32Array.from({ length: 2 * HIDDEN }, next),
    dense: Float32Array.from({ length: HIDDEN * HIDDEN }, next),
  };
  const g = new OnnxGraph();
  for (const name of ['input_ids', 'attention_mask', 'token_type_ids'])
    g.input(name, ElemType.INT64, ['batch', 'sequence']);
  g.initializer('word', ElemType.FLOAT, [VOCAB, HIDDEN], weights.word);
  g.initializer('type', ElemType.FLOAT, [2, HIDDEN], weights.type);
  g.initializer('dense', ElemType.FLOAT, [HIDDEN, HIDDEN], weights.dense);
  const x = g.op('Add', [
    g.op('Gather', ['word', 'input_ids'], { axis: { i: 0 } }),
    g.op('Gather', ['type', 'token_type_ids'], { axis: { i: 0 } }),
  ]);
  g.op('Tanh', [g.op('MatMul', [x, 'dense'])], {}, 'last_hidden_state');
  g.output('last_hidden_state', ElemType.FLOAT, ['batch', 'sequence', HIDDEN]);
  return { bytes: g.encode({ opset: 18, producer: 'test' }), weights };
}

/** The same network in plain TypeScript, then pooling and L2 normalisation. */
function reference(
  weights: ReturnType<typeof tinyBert>['weights'],
  ids: number[],
  typeIds: number[],
  pooling: 'mean' | 'cls',
): Float32Array {
  const states = ids.map((id, t) => {
    const x = Array.from(
      { length: HIDDEN },
      (_, k) => weights.word[id * HIDDEN + k]! + weights.type[typeIds[t]! * HIDDEN + k]!,
    );
    return Array.from({ length: HIDDEN }, (_, j) =>
      Math.tanh(x.reduce((s, xk, k) => s + xk * weights.dense[k * HIDDEN + j]!, 0)),
    );
  });
  const pooled =
    pooling === 'cls'
      ? states[0]!
      : Array.from({ length: HIDDEN }, (_, j) => states.reduce((s, h) => s + h[j]!, 0) / states.length);
  const norm = Math.hypot(...pooled);
  return Float32Array.from(pooled, (v) => v / norm);
}

function modelDir(name: string, files: Record<string, string | Uint8Array> = {}, model = tinyBert()) {
  const dir = join(mkdtempSync(join(tmpdir(), 'citepay-st-')), name);
  cpSync(FIXTURE, dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), model.bytes);
  for (const [file, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), body);
  }
  return { dir, weights: model.weights };
}

const poolingConfig = (mode: string) =>
  JSON.stringify({ word_embedding_dimension: HIDDEN, [`pooling_mode_${mode}`]: true });

describe('sentence-transformers ONNX adapter', () => {
  it('tokenises like BERT WordPiece: lowercase, accents stripped, subwords, [CLS]/[SEP], CJK split', async () => {
    const st = await createSentenceTransformerEmbedder(modelDir('all-MiniLM-L6-v2').dir);
    expect(st.encode('Hello, World!').ids).toEqual([101, 7592, 1010, 2088, 999, 102]);
    expect(st.encode('Héllo NAÏVE Café').ids).toEqual([101, 7592, 15743, 7668, 102]);
    expect(st.encode('unaffable tokenization').ids).toEqual([101, 14477, 20961, 3468, 19204, 3989, 102]);
    expect(st.encode('日本語').ids).toEqual([101, 1864, 1876, 1950, 102]);
    expect(st.encode('')).toEqual({ ids: [101, 102], typeIds: [0, 0] });
    // and like the library's own encoding with special tokens, whenever no truncation applies
    const library = new Tokenizer(
      JSON.parse(readFileSync(join(FIXTURE, 'tokenizer.json'), 'utf8')),
      JSON.parse(readFileSync(join(FIXTURE, 'tokenizer_config.json'), 'utf8')),
    );
    for (const text of parityTexts(60)) {
      const want = library.encode(text).ids;
      if (want.length <= st.maxLength) expect(st.encode(text).ids, JSON.stringify(text.slice(0, 40))).toEqual(want);
    }
  });

  it('truncates to the max length, keeping [CLS] and [SEP]: tokenizer.json, or sentence_bert_config.json when present', async () => {
    const long = 'word '.repeat(300);
    const plain = await createSentenceTransformerEmbedder(modelDir('plain').dir);
    const ids = plain.encode(long).ids;
    expect([plain.maxLength, ids.length, ids[0], ids.at(-2), ids.at(-1)]).toEqual([128, 128, 101, 2773, 102]);
    const st = await createSentenceTransformerEmbedder(
      modelDir('short', { 'sentence_bert_config.json': '{"max_seq_length": 16}' }).dir,
    );
    expect(st.encode(long).ids).toEqual([101, ...Array(14).fill(2773), 102]);
  });

  it('mean-pools over the real tokens by default and matches a plain TypeScript reference', async () => {
    const { dir, weights } = modelDir('all-MiniLM-L6-v2');
    const st = await createSentenceTransformerEmbedder(dir);
    expect([st.modelId, st.dimension, st.pooling]).toEqual(['st:all-MiniLM-L6-v2', HIDDEN, 'mean']);
    const texts = [
      'a',
      'Hello, World!',
      'word '.repeat(300),
      'Which address proposed cutting the lowest income tax rate?',
      '',
    ];
    const vectors = await st.embed(texts); // one padded batch of very different lengths
    texts.forEach((text, i) => {
      const { ids, typeIds } = st.encode(text);
      const want = reference(weights, ids, typeIds, 'mean');
      vectors[i]!.forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 5));
      expect(Math.hypot(...vectors[i]!)).toBeCloseTo(1, 5);
    });
  });

  it('CLS-pools when 1_Pooling/config.json says so', async () => {
    const { dir, weights } = modelDir('bge-like', { '1_Pooling/config.json': poolingConfig('cls_token') });
    const st = await createSentenceTransformerEmbedder(dir);
    expect(st.pooling).toBe('cls');
    const [v] = await st.embed(['Hello, World! and more words after it']);
    const { ids, typeIds } = st.encode('Hello, World! and more words after it');
    expect(cosine(v!, reference(weights, ids, typeIds, 'cls'))).toBeGreaterThan(0.99999);
    expect(cosine(v!, reference(weights, ids, typeIds, 'mean'))).toBeLessThan(0.999);
  });

  it('refuses a pooling it does not implement', async () => {
    await expect(
      createSentenceTransformerEmbedder(modelDir('max', { '1_Pooling/config.json': poolingConfig('max_tokens') }).dir),
    ).rejects.toThrow(/pooling max_tokens is not supported/);
  });

  it('loads a model folder from the object store, as the cloud does', async () => {
    const { dir } = modelDir('local');
    const store = createFsObjectStore(mkdtempSync(join(tmpdir(), 'citepay-store-')));
    for (const file of ['tokenizer.json', 'tokenizer_config.json', 'config.json', 'model.onnx'])
      await store.put(`models/all-MiniLM-L6-v2/${file}`, readFileSync(join(dir, file)), 'application/octet-stream');
    const dest = join(mkdtempSync(join(tmpdir(), 'citepay-st-dl-')), 'all-MiniLM-L6-v2');
    await downloadModelDir(store, 'models/all-MiniLM-L6-v2', dest);
    const [fromStore, local] = await Promise.all([
      createSentenceTransformerEmbedder(dest),
      createSentenceTransformerEmbedder(dir),
    ]);
    const [a, b] = await Promise.all([fromStore.embed(['a test sentence']), local.embed(['a test sentence'])]);
    expect(fromStore.modelId).toBe('st:all-MiniLM-L6-v2');
    expect(cosine(a[0]!, b[0]!)).toBeGreaterThan(0.99999);
    await expect(downloadModelDir(store, 'models/missing', dest)).rejects.toThrow(/no models\/missing\/tokenizer.json/);
    // and through configuration: EMBEDDER=st with the folder's key
    const cacheDir = mkdtempSync(join(tmpdir(), 'citepay-st-cache-'));
    const configured = await openConfiguredEmbedder(
      loadConfig({ EMBEDDER: 'st', EMBEDDER_MODEL_KEY: 'models/all-MiniLM-L6-v2', EMBEDDER_CACHE_DIR: cacheDir })
        .embedder,
      store,
    );
    expect([configured.modelId, configured.dimension]).toEqual(['st:all-MiniLM-L6-v2', HIDDEN]);
    expect(
      readFileSync(join(cacheDir, 'models', 'all-MiniLM-L6-v2', 'model.onnx')).equals(
        readFileSync(join(dir, 'model.onnx')),
      ),
    ).toBe(true);
  });

  it('opens a local folder through configuration, named after the folder', async () => {
    const { dir } = modelDir('gte-small');
    const st = await openConfiguredEmbedder(
      loadConfig({ EMBEDDER: 'st', EMBEDDER_MODEL_DIR: dir, EMBEDDER_THREADS: '1' }).embedder,
    );
    expect(st.modelId).toBe('st:gte-small');
  });
});
