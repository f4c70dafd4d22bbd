import { describe, expect, it } from 'vitest';
import { replaceWord } from './x402-contracts.ts';

// The patch that gives Permit2's runtime code its canonical domain separator: a byte-aligned
// replace of a 32-byte word (the install then reads DOMAIN_SEPARATOR() back; test/x402-upto.test.ts).
const word = (b: string) => `0x${b.repeat(32)}` as const;

describe('replaceWord', () => {
  it('replaces every byte-aligned occurrence and nothing else', () => {
    const code = `0x60${word('ab').slice(2)}01${word('ab').slice(2)}` as const;
    expect(replaceWord(code, word('ab'), word('cd'))).toBe(`0x60${word('cd').slice(2)}01${word('cd').slice(2)}`);
  });
  it('ignores a match that starts mid-byte, and refuses code without the word', () => {
    const shifted = `0x6${'ab'.repeat(32)}0` as const; // the word at an odd nibble offset
    expect(() => replaceWord(shifted, word('ab'), word('cd'))).toThrow(/not in the code/);
  });
});
