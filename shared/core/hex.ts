import { keccak_256 } from '@noble/hashes/sha3';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';

// The few Ethereum encodings pure code needs (receipt hashes, payout tree addresses), on the
// hashing library viem itself uses, so core stays free of the chain client. Same results as
// viem's keccak256/stringToBytes, isAddress and getAddress (checked in hex.test.ts).

export type Hex = `0x${string}`;
export type Address = `0x${string}`;

/** keccak256 of a string's UTF-8 bytes, 0x-prefixed lower-case hex. */
export function keccak256Utf8(text: string): Hex {
  return `0x${bytesToHex(keccak_256(utf8ToBytes(text)))}`;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HEX = /^0x[0-9a-fA-F]*$/;

/** 20 bytes of hex, any letter case (no checksum check, like viem's `isAddress(a, { strict: false })`). */
export function isAddress(value: string): value is Address {
  return ADDRESS.test(value);
}

/** 0x-prefixed hex digits only (viem's `isHex(v, { strict: true })`). */
export function isHex(value: string): value is Hex {
  return HEX.test(value);
}

/** The EIP-55 mixed-case checksum form of an address. */
export function checksumAddress(address: string): Address {
  if (!isAddress(address)) throw new Error(`not an address: ${address}`);
  const lower = address.slice(2).toLowerCase();
  const hash = bytesToHex(keccak_256(utf8ToBytes(lower)));
  let out = '0x';
  for (let i = 0; i < 40; i++) out += parseInt(hash[i]!, 16) >= 8 ? lower[i]!.toUpperCase() : lower[i]!;
  return out as Address;
}
