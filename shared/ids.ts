import { randomBytes } from 'node:crypto';

// Prefixed ids, so an id in a log says what it names.
export const ID_PREFIXES = {
  account: 'acct',
  key: 'key',
  datanet: 'dn',
  document: 'doc',
  chunk: 'chk',
  request: 'req',
  transaction: 'txn',
  job: 'job',
  receipt: 'rcpt',
  epoch: 'ep',
  answer: 'ans',
  adapter: 'ad',
  session: 'ses',
  payment: 'pay',
  channelClaim: 'clm',
  topUp: 'top',
  webhook: 'whe',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Random base62 string; rejection sampling keeps every character uniform. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${randomBase62(20)}`;
}
