import { EmbeddingsModel } from '@energetic-ai/embeddings';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { parityTexts } from '../../test/embedder-parity.ts';
import { SentencePieceTokenizer } from './sentencepiece.ts';
import { readUseLiteVocabulary, type Vocabulary } from './use-lite-model.ts';

// The port must give exactly the ids of the tokenizer the TF.js engine uses.
let vocabulary: Vocabulary;
let ours: SentencePieceTokenizer;
let original: { encode(text: string): number[] };

beforeAll(async () => {
  vocabulary = await readUseLiteVocabulary();
  ours = new SentencePieceTokenizer(vocabulary);
  original = new EmbeddingsModel({ vocabulary, model: undefined as never }).tokenizer;
});

describe('SentencePiece tokenizer (USE-lite)', () => {
  it('splits known words into known pieces', () => {
    const ids = ours.encode('the quick brown fox');
    expect(ids.map((id) => vocabulary[id]![0]).join('')).toBe('▁the▁quick▁brown▁fox');
    expect(ids[0]).toBe(vocabulary.findIndex(([piece]) => piece === '▁the'));
  });

  it('gives the original ids on corpus text, edge cases and whole speeches', () => {
    for (const text of parityTexts(120))
      expect(ours.encode(text), JSON.stringify(text.slice(0, 60))).toEqual(original.encode(text));
  });

  it('gives the original ids on arbitrary unicode (unknown symbols collapse the same way)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (text) => {
        expect(ours.encode(text)).toEqual(original.encode(text));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('the', ' ', 'ing', 'é', '😀', '\n', 'ab', '.', '日'), { maxLength: 40 }),
        (parts) => {
          const text = parts.join('');
          expect(ours.encode(text)).toEqual(original.encode(text));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('encodes the empty string to nothing', () => {
    expect(ours.encode('')).toEqual([]);
  });
});
