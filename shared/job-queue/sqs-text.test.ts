import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sqsAccepts, sqsSafeJson } from './sqs-text.ts';

// What SQS and local SQS servers both accept, per UTF-16 code unit, written out independently of the
// adapter's regular expression (SQS also takes U+10000 and up; fauxqs refuses their surrogates).
function allowedBySqs(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const ok = c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd);
    if (!ok) return false;
  }
  return true;
}

// Strings made of any UTF-16 code units (lone surrogates included), biased towards the refused ones.
const nasty = fc.constantFrom(
  '\uFFFF',
  '\uFFFE',
  '\u0000',
  '\u0001',
  '\u001F',
  '\uD800',
  '\uDFFF',
  '\\',
  '"',
  'é',
  '😀',
  '\u007F',
  '\uFDD0',
);
const anyText = fc
  .array(fc.oneof(fc.string({ unit: 'binary' }), nasty), { maxLength: 8 })
  .map((parts) => parts.join(''));
const anyJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    anyText,
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(anyText, tie('value'), { maxKeys: 4 }),
  ),
})).value;

describe('sqsSafeJson', () => {
  it('leaves only characters SQS accepts, and parses back to the same value', () => {
    fc.assert(
      fc.property(anyJson, (value) => {
        const safe = sqsSafeJson(JSON.stringify(value));
        expect(allowedBySqs(safe)).toBe(true);
        expect(sqsAccepts(safe)).toBe(true);
        expect(JSON.parse(safe)).toEqual(value);
      }),
      { numRuns: 500 },
    );
  });

  it('changes nothing SQS already accepts', () => {
    fc.assert(
      fc.property(anyJson, (value) => {
        const json = JSON.stringify(value);
        if (allowedBySqs(json)) expect(sqsSafeJson(json)).toBe(json);
      }),
    );
  });

  it('escapes the characters seen failing in production', () => {
    expect(sqsSafeJson(JSON.stringify({ title: 'a\uFFFFb' }))).toBe('{"title":"a\\uffffb"}');
    expect(sqsAccepts('a\uFFFFb')).toBe(false);
    expect(sqsAccepts('tab\tok')).toBe(true);
  });
});
