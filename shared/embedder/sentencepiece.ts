import type { Vocabulary } from './use-lite-model.ts';

// The SentencePiece (unigram) tokenizer that Universal Sentence Encoder Lite was trained with,
// ported from @energetic-ai/embeddings (itself tfjs-models' USE tokenizer, Apache-2.0) so that it
// gives exactly the same ids — including its quirks: only ASCII spaces become "▁", an unknown
// symbol is id 0 with score 0, a running best of exactly 0 counts as "unset", ties go to the later
// candidate, and runs of unknown ids collapse to one. The trie and lattice are flat arrays built
// once, so a long passage costs linear time instead of the original's copy-per-position.

const SEPARATOR = '\u2581';
const RESERVED = 6; // <unk>-like and control pieces the original never matches

interface TrieNode {
  children: Map<number, TrieNode>;
  /** vocabulary index when a piece ends here, else -1 */
  id: number;
  score: number;
}

export class SentencePieceTokenizer {
  private readonly root: TrieNode = { children: new Map(), id: -1, score: 0 };
  /** piece lengths in code points, for walking back the lattice */
  private readonly pieceLength: Int32Array;

  constructor(vocabulary: Vocabulary) {
    this.pieceLength = new Int32Array(vocabulary.length);
    vocabulary.forEach(([piece], i) => (this.pieceLength[i] = piece.length));
    for (let i = RESERVED; i < vocabulary.length; i++) {
      const [piece, score] = vocabulary[i]!;
      let node = this.root;
      for (const symbol of piece) {
        const cp = symbol.codePointAt(0)!;
        let next = node.children.get(cp);
        if (!next) node.children.set(cp, (next = { children: new Map(), id: -1, score: 0 }));
        node = next;
      }
      node.id = i; // a repeated piece keeps the last index, as the original trie does
      node.score = score;
    }
  }

  encode(text: string): number[] {
    const normalized = text.normalize('NFKC');
    const input = normalized.length > 0 ? SEPARATOR + normalized.replace(/ /g, SEPARATOR) : normalized;
    const symbols: number[] = [];
    for (const s of input) symbols.push(s.codePointAt(0)!);
    const n = symbols.length;
    const best = new Float64Array(n + 1);
    const words = new Int32Array(n + 1);
    // Forward pass: candidates reach each end position in increasing start order, as in the original.
    for (let start = 0; start < n; start++) {
      let node = this.root.children.get(symbols[start]!);
      let matched = false;
      for (let end = start + 1; node; end++) {
        if (node.id >= 0) {
          matched = true;
          relax(best, words, end, node.score + best[start]!, node.id);
        }
        if (end >= n) break;
        node = node.children.get(symbols[end]!);
      }
      if (!matched) relax(best, words, start + 1, best[start]!, 0);
    }
    const ids: number[] = [];
    for (let at = n; at > 0; at -= this.pieceLength[words[at]!]!) ids.push(words[at]!);
    const merged: number[] = [];
    let previousUnknown = false;
    for (const id of ids) {
      if (!(previousUnknown && id === 0)) merged.push(id);
      previousUnknown = id === 0;
    }
    return merged.reverse();
  }
}

function relax(best: Float64Array, words: Int32Array, end: number, score: number, id: number) {
  if (best[end] === 0 || score >= best[end]!) {
    best[end] = score;
    words[end] = id;
  }
}
