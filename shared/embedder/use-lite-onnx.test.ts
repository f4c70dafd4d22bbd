import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Embedder } from './index.ts';
import { cosine, parityTexts } from '../../test/embedder-parity.ts';
import { createUseLiteOnnxEmbedder, ensureUseLiteOnnx } from './use-lite-onnx.ts';
import { createUseLiteTfjsEmbedder } from './use-lite-tfjs.ts';
import { convertUseLite } from '../model-build/use-lite.ts';
import { USE_LITE_MODEL_ID, readUseLiteSource } from './use-lite-model.ts';

describe('USE-lite converted to ONNX', () => {
  it('converts to the same bytes every time', async () => {
    const source = await readUseLiteSource();
    const first = convertUseLite(source);
    const second = convertUseLite(await readUseLiteSource());
    expect(Buffer.compare(first, second)).toBe(0);
    expect(first.byteLength).toBeGreaterThan(27_000_000); // the weights are in it
  });

  it('is built on first use into the cache dir under its source hash, reused after, and replaces older builds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citepay-onnx-cache-'));
    const stale = join(dir, `${USE_LITE_MODEL_ID}.0123456789abcdef.onnx`); // a build from other package files
    writeFileSync(stale, 'old');
    const built = await ensureUseLiteOnnx(dir);
    expect(built.built).toBe(true);
    expect(built.path).toBe(join(dir, `${USE_LITE_MODEL_ID}.${built.sourceHash.slice(0, 16)}.onnx`));
    expect(Buffer.compare(readFileSync(built.path), convertUseLite(await readUseLiteSource()))).toBe(0);
    expect(readdirSync(dir)).toEqual([`${USE_LITE_MODEL_ID}.${built.sourceHash.slice(0, 16)}.onnx`]);
    const again = await ensureUseLiteOnnx(dir);
    expect(again).toEqual({ ...built, built: false });
  });
});

describe('USE-lite on onnxruntime vs TensorFlow.js', () => {
  let onnx: Embedder;
  let tfjs: Embedder;
  const texts = parityTexts(40);

  beforeAll(async () => {
    [onnx, tfjs] = await Promise.all([
      createUseLiteOnnxEmbedder({ cacheDir: mkdtempSync(join(tmpdir(), 'citepay-onnx-')) }),
      createUseLiteTfjsEmbedder(),
    ]);
  });

  it('keeps the model id and dimension, so stored vectors stay valid', () => {
    expect([onnx.modelId, onnx.dimension]).toEqual([tfjs.modelId, tfjs.dimension]);
  });

  it('gives the TF.js vector (cosine ≥ 0.999) for every text: empty, unicode, questions, passages, a whole speech', async () => {
    const [a, b] = await Promise.all([onnx.embed(texts), tfjs.embed(texts)]);
    expect(a).toHaveLength(texts.length);
    texts.forEach((text, i) => {
      expect(cosine(a[i]!, b[i]!), JSON.stringify(text.slice(0, 60))).toBeGreaterThanOrEqual(0.999);
    });
  });

  it('returns unit vectors in input order, whatever the batch around a text', async () => {
    const all = await onnx.embed(texts);
    for (const i of [0, 5, 13, 39]) {
      const [alone] = await onnx.embed([texts[i]!]);
      expect(cosine(alone!, all[i]!)).toBeGreaterThan(0.99999);
    }
    for (const v of all) expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    expect(cosine(all[20]!, all[21]!)).toBeLessThan(0.99); // different texts, different vectors
  });
});
