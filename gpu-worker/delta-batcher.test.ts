import { describe, expect, it, vi } from 'vitest';
import { createDeltaBatcher } from './delta-batcher.ts';

describe('delta batcher', () => {
  it('sends the first delta at once and coalesces the rest, in order', async () => {
    const sent: [number, string][] = [];
    const clock = 1_000; // frozen: every later push falls inside the first interval
    const b = createDeltaBatcher(async (seq, text) => void sent.push([seq, text]), {
      intervalMs: 50,
      now: () => clock,
    });
    for (let i = 0; i < 100; i++) b.push(`t${i} `);
    await b.close();
    expect(sent.map(([seq]) => seq)).toEqual([0, 1]);
    expect(sent[0]![1]).toBe('t0 ');
    expect(sent.map(([, t]) => t).join('')).toBe(Array.from({ length: 100 }, (_, i) => `t${i} `).join(''));
  });

  it('flushes on its timer while the generator is still going', async () => {
    const sent: string[] = [];
    const b = createDeltaBatcher(async (_seq, text) => void sent.push(text), { intervalMs: 20, now: Date.now });
    b.push('a');
    b.push('b');
    await vi.waitFor(() => expect(sent).toEqual(['a', 'b']), { timeout: 10_000 });
    await b.close();
  });

  it('stops sending after a failed send and rethrows it on close; discard drops the buffer', async () => {
    const sent: string[] = [];
    const b = createDeltaBatcher(
      async (_seq, text) => {
        if (text === 'a') throw new Error('queue down');
        sent.push(text);
      },
      { intervalMs: 0, now: Date.now },
    );
    b.push('a');
    b.push('b');
    await expect(b.close()).rejects.toThrow('queue down');
    expect(sent).toEqual([]);
    const d = createDeltaBatcher(async (_s, text) => void sent.push(text), { intervalMs: 1000, now: Date.now });
    d.push('x');
    d.push('y');
    d.discard();
    await d.close();
    expect(sent).toEqual(['x']);
  });
});
