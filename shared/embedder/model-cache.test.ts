import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cachedFile } from './model-cache.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('model cache', () => {
  it('builds a missing file once, then reuses it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citepay-cache-'));
    let builds = 0;
    const build = () => (builds++, bytes('model A'));
    const first = await cachedFile([dir], 'm.aaaa.onnx', 'm.', build);
    const second = await cachedFile([dir], 'm.aaaa.onnx', 'm.', build);
    expect([first.built, second.built, builds]).toEqual([true, false, 1]);
    expect(readFileSync(first.path, 'utf8')).toBe('model A');
  });

  it('builds again for a new source hash and drops the older build of the same family only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citepay-cache-'));
    writeFileSync(join(dir, 'other.onnx'), 'x');
    await cachedFile([dir], 'm.aaaa.onnx', 'm.', () => bytes('model A'));
    const next = await cachedFile([dir], 'm.bbbb.onnx', 'm.', () => bytes('model B'));
    expect(next.built).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['m.bbbb.onnx', 'other.onnx']);
  });

  it('falls back to the next dir when one cannot be written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citepay-cache-'));
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    const got = await cachedFile([join(file, 'cache'), join(dir, 'ok')], 'm.aaaa.onnx', 'm.', () => bytes('model A'));
    expect(got.path).toBe(join(dir, 'ok', 'm.aaaa.onnx'));
    await expect(cachedFile([join(file, 'cache')], 'm.cccc.onnx', 'm.', () => bytes('c'))).rejects.toThrow(
      /no writable model cache dir/,
    );
  });

  it('leaves no half-written file when builders race', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'citepay-cache-'));
    const big = new Uint8Array(8 << 20).fill(7);
    await Promise.all(Array.from({ length: 4 }, () => cachedFile([dir], 'm.race.onnx', 'm.', () => big)));
    expect(readdirSync(dir)).toEqual(['m.race.onnx']);
    expect(readFileSync(join(dir, 'm.race.onnx')).equals(Buffer.from(big))).toBe(true);
  });
});
