import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';

describe('embedder configuration', () => {
  it('defaults to USE-lite on onnxruntime, one thread per core, the default cache', () => {
    expect(loadConfig({}).embedder).toEqual({
      engine: 'use-lite',
      modelDir: undefined,
      modelKey: undefined,
      cacheDir: undefined,
      threads: 0,
    });
    expect(loadConfig({ EMBEDDER: 'use-lite-tfjs', EMBEDDER_THREADS: '2' }).embedder).toMatchObject({
      engine: 'use-lite-tfjs',
      threads: 2,
    });
  });

  it('names the variable when a choice is incomplete or wrong', () => {
    expect(() => loadConfig({ EMBEDDER: 'st' })).toThrow(ConfigError);
    expect(() => loadConfig({ EMBEDDER: 'st' })).toThrow(/EMBEDDER_MODEL_DIR or EMBEDDER_MODEL_KEY/);
    expect(() => loadConfig({ EMBEDDER: 'st', EMBEDDER_MODEL_DIR: '/m', EMBEDDER_MODEL_KEY: 'models/m' })).toThrow(
      /exactly one/,
    );
    expect(() => loadConfig({ EMBEDDER: 'st', EMBEDDER_MODEL_KEY: '../escape' })).toThrow(/EMBEDDER_MODEL_KEY/);
    expect(() => loadConfig({ EMBEDDER: 'bert' })).toThrow(/EMBEDDER/);
    expect(() => loadConfig({ EMBEDDER_THREADS: '-1' })).toThrow(/EMBEDDER_THREADS/);
  });
});

describe('default embedder', () => {
  it('is USE-lite on onnxruntime, opened once per process', async () => {
    const { createUseLiteEmbedder } = await import('./use-lite.ts');
    const { openConfiguredEmbedder } = await import('./open.ts');
    const first = await createUseLiteEmbedder();
    expect([first.modelId, first.dimension]).toEqual(['use-lite-512', 512]);
    expect(await openConfiguredEmbedder(loadConfig({}).embedder)).toBe(first);
  });
});
