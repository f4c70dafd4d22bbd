import { describe, expect, it } from 'vitest';
import { sseData } from './sse.ts';

async function collect(parts: string[]): Promise<string[]> {
  async function* chunks() {
    for (const p of parts) yield new TextEncoder().encode(p);
  }
  const out: string[] = [];
  for await (const d of sseData(chunks())) out.push(d);
  return out;
}

describe('sseData', () => {
  it('yields each event once, whatever the chunk boundaries', async () => {
    const stream = 'data: {"a":1}\n\ndata: {"b":"é"}\r\n\r\n: comment\nevent: x\ndata: [DONE]\n\n';
    const whole = await collect([stream]);
    expect(whole).toEqual(['{"a":1}', '{"b":"é"}', '[DONE]']);
    const bytes = new TextEncoder().encode(stream);
    // One byte at a time also splits the two-byte "é" and every "\r\n".
    async function* single() {
      for (const b of bytes) yield Uint8Array.of(b);
    }
    const out: string[] = [];
    for await (const d of sseData(single())) out.push(d);
    expect(out).toEqual(whole);
  });

  it('joins multi-line data and flushes an event left open at the end', async () => {
    expect(await collect(['data: one\ndata:two\n\ndata: last'])).toEqual(['one\ntwo', 'last']);
  });
});
