import fc from 'fast-check';
import { getAddress, isAddress as viemIsAddress, keccak256, stringToBytes } from 'viem';
import { describe, expect, it } from 'vitest';
import { checksumAddress, isAddress, keccak256Utf8 } from './hex.ts';

// viem is the reference here only: core must not import it, and must agree with it.
describe('hex helpers agree with viem', () => {
  it('hashes strings the same', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (s) => {
        expect(keccak256Utf8(s)).toBe(keccak256(stringToBytes(s)));
      }),
    );
  });

  it('checksums and recognises addresses the same', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.boolean(), (bytes, upper) => {
        const hex = Buffer.from(bytes).toString('hex');
        const address = `0x${upper ? hex.toUpperCase() : hex}`;
        expect(checksumAddress(address)).toBe(getAddress(address));
        expect(isAddress(address)).toBe(true);
      }),
    );
    for (const bad of ['0x12', 'abc', `0x${'g'.repeat(40)}`, `0x${'1'.repeat(41)}`])
      expect(isAddress(bad)).toBe(viemIsAddress(bad, { strict: false }));
    expect(() => checksumAddress('0x12')).toThrow(/not an address/);
  });
});
