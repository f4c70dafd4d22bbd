import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createMarkerFilter } from './marker-stream.ts';

const run = (chunks: string[], sources: number) => {
  const f = createMarkerFilter(sources);
  return chunks.map((c) => f.push(c)).join('') + f.end();
};

describe('createMarkerFilter', () => {
  it('keeps valid markers split across deltas and drops dangling ones', () => {
    expect(run(['Paris is the capital [', '1', '] and Rome [7].'], 3)).toBe('Paris is the capital [1] and Rome .');
    expect(run(['A [1, 3] B【2†source】 C [^2]'], 3)).toBe('A [1][3] B[2] C [2]');
  });

  it('never splices a new marker out of the text around a dropped one', () => {
    expect(run(['[', '【5】', '4]'], 3)).toBe('');
    expect(run(['[2【5】4]'], 3)).toBe('');
    expect(run(['[[【5】4]4]'], 3)).toBe('');
    expect(run(['see [[7]2] and [[1]'], 3)).toBe('see [2] and [[1]');
  });

  it('leaves ordinary brackets alone', () => {
    expect(run(['see [a] and [the', ' notes]'], 2)).toBe('see [a] and [the notes]');
  });

  it('drops a marker cut off at the end of the stream', () => {
    expect(run(['Done. [', '2'], 3)).toBe('Done. ');
  });

  it('never emits an out-of-range marker, however the text is split (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constantFrom('[1]', '[2]', '[9]', '[0]', '[1-4]', '【5】', ' word', '. ', '[x]', '[', '4]', '2'),
            fc.string({ maxLength: 4 }),
          ),
          { maxLength: 20 },
        ),
        fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 20 }),
        (parts, cuts) => {
          const text = parts.join('');
          const chunks: string[] = [];
          let i = 0;
          for (const c of cuts) {
            chunks.push(text.slice(i, i + c));
            i += c;
          }
          chunks.push(text.slice(i));
          const out = run(chunks, 3);
          for (const m of out.matchAll(/\[(\d+)\]/g))
            expect(Number(m[1])).toBeGreaterThanOrEqual(1), expect(Number(m[1])).toBeLessThanOrEqual(3);
          expect(out).not.toMatch(/【\d/);
        },
      ),
    );
  });
});
