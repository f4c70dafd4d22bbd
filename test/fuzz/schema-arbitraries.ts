import fc from 'fast-check';

// fast-check arbitraries from the OpenAPI 3.1 document's JSON Schemas: values of the documented
// shape, and mutants of them (wrong types, boundary numbers, huge and deep values, control and
// unusual Unicode characters, missing and extra fields).

export type Schema = Record<string, any>;
export type Components = Record<string, Schema>;

const resolve = (s: Schema | undefined, components: Components): Schema => {
  if (!s) return {};
  if (typeof s.$ref === 'string') return components[s.$ref.split('/').pop()!] ?? {};
  return s;
};

/** Strings a careless client, a hostile one or a different language sends. */
export const oddString = (): fc.Arbitrary<string> =>
  fc.oneof(
    // Characters storage and protocols choke on, inside otherwise ordinary text.
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.string({ maxLength: 6 }),
          fc.constantFrom(
            '\u0000',
            '\ud800',
            '\udc00',
            '\u0001',
            '\u001b',
            '\u007f',
            '\u0085',
            '\u2028',
            '\ufffe',
            '\uffff',
          ),
          fc.string({ maxLength: 6 }),
        )
        .map((p) => p.join('')),
    },
    fc.constantFrom(
      '',
      ' ',
      '\u0000',
      'a\u0000b',
      '\ud800',
      'x\udfffy',
      '\u0001\u0002\u001f\u007f',
      '\r\n\t',
      '\u202e\u200b\ufeff',
      '%00',
      '%',
      '%zz',
      '../../etc/passwd',
      '🦀🏳️‍🌈',
      'Ω≈ç√∫',
      '\\u0000',
      '"\'`<script>',
      'null',
      '-1',
      '1e999',
      'NaN',
      'ß'.repeat(300),
      'ﷺ'.repeat(50),
    ),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.stringMatching(/^[\u0000-\u001f]{1,5}$/),
  );

/** Characters that storage, JSON and protocols treat specially (the ones PostgreSQL refuses, more often). */
export const ODD_CHARS = [
  '\u0000',
  '\u0000',
  '\u0000',
  '\ud800',
  '\ud800',
  '\udc00',
  '\u0001',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u2028',
  '\ufeff',
  '\uffff',
  '\u202e',
  '%00',
  '\\',
] as const;

/** A value with an odd character put into its strings: every string leaf, or one of them. */
export const poisoned = (arb: fc.Arbitrary<unknown>) =>
  fc
    .tuple(arb, fc.constantFrom(...ODD_CHARS), fc.integer({ min: -1, max: 6 }))
    .map(([v, ch, pick]) => poisonLeaves(v, ch, pick));

/** `pick` -1 poisons every string leaf, otherwise the pick-th (mod their count). Keys stay, so the shape still validates. */
function poisonLeaves(value: unknown, ch: string, pick: number): unknown {
  let count = 0;
  const countStrings = (v: unknown): void => {
    if (typeof v === 'string') count++;
    else if (Array.isArray(v)) v.forEach(countStrings);
    else if (v && typeof v === 'object') Object.values(v).forEach(countStrings);
  };
  countStrings(value);
  const target = pick < 0 || count === 0 ? -1 : pick % count;
  let n = 0;
  const visit = (v: unknown): unknown => {
    if (typeof v === 'string') return target < 0 || n++ === target ? `${v.slice(0, 1)}${ch}${v.slice(1)}` : v;
    if (Array.isArray(v)) return v.map(visit);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visit(x)]));
    return v;
  };
  return visit(value);
}

export const anyJson = (maxDepth = 2): fc.Arbitrary<unknown> =>
  fc.letrec<{ v: unknown }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small', maxDepth },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.string({ maxLength: 12 }),
      oddString(),
      fc.array(tie('v'), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 6 }), tie('v'), { maxKeys: 3 }),
    ),
  })).v;

/** An array nested `depth` levels around a value. */
const nest = (depth: number, inner: unknown = 1): unknown => {
  let v: unknown = inner;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};

export interface FileValue {
  file: { name: string; type: string; text: string };
}

/** A value of the schema's shape; sizes kept small so a valid request is cheap to serve. */
export function validValue(schema: Schema | undefined, components: Components, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema, components);
  if (s.const !== undefined) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  const alternatives = s.anyOf ?? s.oneOf;
  if (Array.isArray(alternatives))
    return fc.oneof(...alternatives.map((a: Schema) => validValue(a, components, depth)));
  const types: string[] = Array.isArray(s.type) ? s.type : s.type ? [s.type] : s.properties ? ['object'] : [];
  if (types.length === 0) return depth > 3 ? fc.constant(null) : anyJson(1);
  if (types.length > 1) return fc.oneof(...types.map((t) => validValue({ ...s, type: t }, components, depth)));
  const withExample = <T>(arb: fc.Arbitrary<T>) =>
    s.example !== undefined ? fc.oneof(fc.constant(s.example as T), arb) : arb;
  switch (types[0]) {
    case 'string': {
      if (s.format === 'binary')
        return fc
          .record({
            name: fc.oneof(fc.constantFrom('notes.txt', 'page.html', 'readme.md', 'blob.bin', ''), oddString()),
            type: fc.constantFrom('text/plain', 'text/markdown', 'text/html', 'application/octet-stream', ''),
            text: fc.oneof(fc.lorem({ maxCount: 30 }), fc.string({ maxLength: 200 }), oddString()),
          })
          .map((file) => ({ file }) satisfies FileValue);
      const min = s.minLength ?? 0;
      const max = Math.max(min, Math.min(s.maxLength ?? 40, 40));
      if (s.pattern)
        return withExample(
          fc
            .stringMatching(new RegExp(s.pattern))
            .filter((v) => v.length >= min && v.length <= (s.maxLength ?? Infinity)),
        );
      return withExample(
        fc.oneof(
          fc.lorem({ maxCount: 6 }).filter((v) => v.length >= min && v.length <= max),
          fc.string({ minLength: min, maxLength: max }),
        ),
      );
    }
    case 'integer':
      return fc.integer({ min: s.minimum ?? -1_000_000, max: s.maximum ?? 1_000_000 });
    case 'number':
      return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(validValue(s.items, components, depth + 1), {
        minLength: s.minItems ?? 0,
        maxLength: Math.max(s.minItems ?? 0, Math.min(s.maxItems ?? 3, 3)),
      });
    default: {
      const properties: Record<string, Schema> = s.properties ?? {};
      const required: string[] = s.required ?? [];
      const shape = Object.fromEntries(
        Object.entries(properties).map(([k, v]) => [k, validValue(v, components, depth + 1)]),
      );
      const record = fc.record(shape, { requiredKeys: required.filter((k) => k in shape) });
      if (Object.keys(properties).length === 0 && s.additionalProperties !== false)
        return depth > 3 ? fc.constant({}) : fc.dictionary(fc.string({ maxLength: 8 }), anyJson(1), { maxKeys: 3 });
      return record;
    }
  }
}

/** The schema's value, or something near it that is wrong in one way. */
export function mutantValue(schema: Schema | undefined, components: Components, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema, components);
  const numbers = [0, -1, 1, -0, 0.5, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, -1e308, Number.MIN_VALUE];
  for (const bound of [s.minimum, s.maximum, s.minLength, s.maxLength, s.minItems, s.maxItems])
    if (typeof bound === 'number') numbers.push(bound - 1, bound, bound + 1, bound + 0.5);
  const limit = s.maxLength ?? 256;
  const mutations: fc.Arbitrary<unknown>[] = [
    fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.constant([]),
      fc.constant({}),
      fc.string({ maxLength: 8 }),
    ),
    fc.constantFrom(...numbers),
    oddString(),
    fc.constantFrom('x'.repeat(limit + 1), 'é'.repeat(Math.min(limit + 1, 5000)), `${'a\u0000'.repeat(20)}`),
    fc.integer({ min: 20, max: 60 }).map((d) => nest(d)),
  ];
  const objectLike = resolve(s, components).properties !== undefined && depth < 3;
  if (objectLike) {
    const properties: Record<string, Schema> = s.properties;
    const keys = Object.keys(properties);
    const base = validValue(s, components, depth) as fc.Arbitrary<Record<string, unknown>>;
    const onePropertyWrong = fc
      .tuple(base, fc.constantFrom(...keys))
      .chain(([obj, key]) => mutantValue(properties[key], components, depth + 1).map((v) => ({ ...obj, [key]: v })));
    mutations.push(
      onePropertyWrong,
      onePropertyWrong,
      onePropertyWrong,
      // a required property missing
      fc.tuple(base, fc.constantFrom(...keys)).map(([obj, key]) => {
        const copy = { ...obj };
        delete copy[key];
        return copy;
      }),
      // an extra property (including the ones that bite prototype-walking code)
      fc
        .tuple(
          base,
          fc.oneof(
            fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', '', '\u0000'),
            fc.string({ maxLength: 8 }),
          ),
          anyJson(1),
        )
        .map(([obj, key, value]) => {
          const copy: Record<string, unknown> = { ...obj };
          Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true });
          return copy;
        }),
    );
  }
  if (s.type === 'array' || (Array.isArray(s.type) && s.type.includes('array')))
    mutations.push(
      fc.array(mutantValue(s.items, components, depth + 1), { maxLength: 4 }),
      fc.constant(new Array((s.maxItems ?? 100) + 1).fill(1)),
    );
  return fc.oneof(
    { weight: 3, arbitrary: validValue(s, components, depth) },
    ...mutations.map((m) => ({ weight: 1, arbitrary: m })),
  );
}
