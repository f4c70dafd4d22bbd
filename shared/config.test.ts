import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('reads an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' })).toMatchObject({ databaseUrl: undefined, port: 3000 });
  });

  it('wants PINECONE_API_KEY and PINECONE_INDEX_HOST with VECTOR_INDEX=pinecone, the host as the console shows it', () => {
    expect(() => loadConfig({ VECTOR_INDEX: 'pinecone' })).toThrow(/PINECONE_API_KEY and PINECONE_INDEX_HOST/);
    const host = 'my-index-abc123.svc.aped-4627-b74a.pinecone.io';
    expect(
      loadConfig({ VECTOR_INDEX: 'pinecone', PINECONE_API_KEY: 'k', PINECONE_INDEX_HOST: host }).vectorIndex,
    ).toEqual({ kind: 'pinecone', apiKey: 'k', indexHost: `https://${host}` });
    expect(
      loadConfig({ VECTOR_INDEX: 'pinecone', PINECONE_API_KEY: 'k', PINECONE_INDEX_HOST: 'http://127.0.0.1:5080' })
        .vectorIndex,
    ).toMatchObject({ indexHost: 'http://127.0.0.1:5080' });
    expect(() =>
      loadConfig({ VECTOR_INDEX: 'pinecone', PINECONE_API_KEY: 'k', PINECONE_INDEX_HOST: 'not a host' }),
    ).toThrow(ConfigError);
  });

  it('refuses a pool of one connection (a settlement pass holds one for its lock)', () => {
    expect(() => loadConfig({ DATABASE_POOL_MAX: '1' })).toThrow(/DATABASE_POOL_MAX: at least 2/);
    expect(loadConfig({ DATABASE_POOL_MAX: '4' }).databasePoolMax).toBe(4);
  });

  it('reads SETTLEMENT_FINALITY as confirmations or an OP-Stack block tag, and refuses anything else', () => {
    expect(loadConfig({}).chain.finality).toEqual({ kind: 'confirmations', confirmations: 1 });
    expect(loadConfig({ SETTLEMENT_FINALITY: '12' }).chain.finality).toEqual({
      kind: 'confirmations',
      confirmations: 12,
    });
    expect(loadConfig({ SETTLEMENT_FINALITY: 'safe' }).chain.finality).toEqual({ kind: 'tag', tag: 'safe' });
    expect(loadConfig({ SETTLEMENT_FINALITY: 'finalized' }).chain.finality).toEqual({ kind: 'tag', tag: 'finalized' });
    for (const bad of ['0', 'latest', '-1', '1.5'])
      expect(() => loadConfig({ SETTLEMENT_FINALITY: bad })).toThrow(/SETTLEMENT_FINALITY/);
  });
});
