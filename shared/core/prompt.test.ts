import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MESSAGE_OVERHEAD_TOKENS,
  PromptTooLargeError,
  SYSTEM_PROMPT,
  buildPrompt,
  countPromptTokens,
  estimateTokens,
  withoutSource,
} from './prompt.ts';
import type { BuildPromptInput, BuiltPrompt, ChatMessage } from './prompt.ts';

const words = (n: number, w = 'word') => Array.from({ length: n }, () => w).join(' ');
const userOf = (p: BuiltPrompt) => p.messages[p.messages.length - 1]!.content;
const chars = (t: string) => t.length; // an exact, easy-to-reason-about counter for tests

describe('estimateTokens', () => {
  it('is max(1.3 × words, chars / 4), rounded up', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abcd')).toBe(2); // 1 word → 1.3
    expect(estimateTokens('hello world')).toBe(3); // 2.6 vs 2.75
    expect(estimateTokens('a'.repeat(400))).toBe(100);
    expect(estimateTokens(words(100, 'a'))).toBe(130);
  });

  it('is deterministic and grows with the text', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(estimateTokens(a)).toBe(estimateTokens(a));
        expect(estimateTokens(a + ' ' + b)).toBeGreaterThanOrEqual(estimateTokens(a));
      }),
    );
  });
});

describe('SYSTEM_PROMPT', () => {
  it('demands grounded, cited answers', () => {
    expect(SYSTEM_PROMPT).toMatch(/ONLY the numbered sources/);
    expect(SYSTEM_PROMPT).toMatch(/\[n\]/);
    expect(SYSTEM_PROMPT).toMatch(/never invent source numbers/i);
    expect(SYSTEM_PROMPT).toMatch(/do not contain the answer/);
  });
});

describe('buildPrompt', () => {
  const base = (over: Partial<BuildPromptInput> = {}): BuildPromptInput => ({
    question: 'What is the capital of France?',
    sources: [
      { title: 'France', text: 'Paris is the capital of France.' },
      { title: 'Germany\nfacts', text: 'Berlin is the capital of Germany.' },
    ],
    contextTokens: 8000,
    maxOutputTokens: 500,
    ...over,
  });

  it('formats numbered sources and the question in the user message', () => {
    const history: ChatMessage[] = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello! Ask me anything.' },
    ];
    const p = buildPrompt(base({ history }));
    expect(p.messages[0]).toEqual({ role: 'system', content: SYSTEM_PROMPT });
    expect(p.messages.slice(1, 3)).toEqual(history);
    expect(p.messages).toHaveLength(4);
    expect(userOf(p)).toBe(
      'Sources:\n\n[1] France\nParis is the capital of France.\n\n[2] Germany facts\nBerlin is the capital of Germany.' +
        '\n\nQuestion: What is the capital of France?',
    );
    expect(p.sources).toEqual([
      { number: 1, title: 'France', text: 'Paris is the capital of France.' },
      { number: 2, title: 'Germany facts', text: 'Berlin is the capital of Germany.' },
    ]);
    expect(p.trimmed).toBe(0);
    expect(p.promptTokens).toBe(countPromptTokens(p.messages));
    expect(p.promptTokens).toBe(
      p.messages.reduce((sum, m) => sum + estimateTokens(m.content) + MESSAGE_OVERHEAD_TOKENS, 0),
    );
  });

  it('says so when there are no sources', () => {
    const p = buildPrompt(base({ sources: [] }));
    expect(userOf(p)).toBe('Sources: none.\n\nQuestion: What is the capital of France?');
    expect(p.sources).toEqual([]);
  });

  it('uses the caller’s token counter', () => {
    const p = buildPrompt(base({ countTokens: chars }));
    expect(p.promptTokens).toBe(p.messages.reduce((s, m) => s + m.content.length + MESSAGE_OVERHEAD_TOKENS, 0));
  });

  it('drops the oldest history turns before touching sources', () => {
    const history: ChatMessage[] = [
      { role: 'user', content: `old question ${words(200)}` },
      { role: 'assistant', content: `old answer ${words(200)}` },
      { role: 'user', content: 'recent question' },
      { role: 'assistant', content: 'recent answer' },
    ];
    const full = buildPrompt(base({ history }));
    const withoutOld = buildPrompt(base({ history: history.slice(2) }));
    // Room for everything except the old turn.
    const p = buildPrompt(base({ history, contextTokens: withoutOld.promptTokens + 500 }));
    expect(full.promptTokens).toBeGreaterThan(withoutOld.promptTokens + 1);
    expect(p.messages.slice(1, -1)).toEqual(history.slice(2)); // user and assistant go together
    expect(p.sources).toHaveLength(2);
    expect(p.trimmed).toBe(0);
  });

  it('drops the last sources first, then cuts the last kept one at a sentence boundary', () => {
    const sources = [
      { title: 'A', text: 'Alpha one. Alpha two. Alpha three.' },
      { title: 'B', text: 'Beta one. Beta two. Beta three.' },
      { title: 'C', text: `Gamma ${words(300)}.` },
    ];
    const history: ChatMessage[] = [{ role: 'user', content: 'earlier' }];
    const cutB = [sources[0]!, { title: 'B', text: 'Beta one.' }];
    // Room for A and B's first sentence plus 5 characters: not " Beta two.", not C, not the history.
    const room = buildPrompt({ ...base(), sources: cutB, countTokens: chars }).promptTokens + 5;
    const p = buildPrompt({ ...base(), history, sources, countTokens: chars, contextTokens: room + 500 });
    expect(p.sources).toEqual([
      { number: 1, title: 'A', text: 'Alpha one. Alpha two. Alpha three.' },
      { number: 2, title: 'B', text: 'Beta one.' },
    ]);
    expect(p.trimmed).toBe(2); // C dropped, B cut
    expect(p.messages.map((m) => m.role)).toEqual(['system', 'user']); // history went first
    expect(p.promptTokens).toBe(room - 5);
  });

  it('cuts at a word boundary when not even one sentence fits', () => {
    const sources = [{ title: 'Long', text: `${words(50, 'lorem')}. Second sentence.` }];
    const threeWords = [{ title: 'Long', text: 'lorem lorem lorem' }];
    // Two characters short of a fourth " lorem".
    const room = buildPrompt({ ...base(), sources: threeWords, countTokens: chars }).promptTokens + 4;
    const p = buildPrompt({ ...base(), sources, countTokens: chars, contextTokens: room + 500 });
    expect(p.sources).toEqual([{ number: 1, title: 'Long', text: 'lorem lorem lorem' }]);
    expect(p.trimmed).toBe(1);
  });

  it('throws PromptTooLargeError when instructions and question alone do not fit', () => {
    const run = () => buildPrompt(base({ question: words(5000), contextTokens: 4000, maxOutputTokens: 500 }));
    expect(run).toThrow(PromptTooLargeError);
    expect(run).toThrow(/context window is 4000 tokens/);
    try {
      run();
    } catch (e) {
      expect(e).toBeInstanceOf(Error);
      expect((e as PromptTooLargeError).name).toBe('PromptTooLargeError');
      expect((e as PromptTooLargeError).requiredTokens).toBeGreaterThan(3500);
    }
    // The reserve for the answer counts too.
    const small = buildPrompt(base({ sources: [] }));
    expect(() => buildPrompt(base({ sources: [], contextTokens: small.promptTokens + 499 }))).toThrow(
      PromptTooLargeError,
    );
    expect(buildPrompt(base({ sources: [], contextTokens: small.promptTokens + 500 })).promptTokens).toBe(
      small.promptTokens,
    );
  });

  it('rejects nonsensical budgets', () => {
    expect(() => buildPrompt(base({ maxOutputTokens: -1 }))).toThrow(RangeError);
    expect(() => buildPrompt(base({ contextTokens: Number.NaN }))).toThrow(RangeError);
  });

  const textArb = fc.string({
    unit: fc.constantFrom('word ', 'Word. ', 'x', ' ', '\n', 'Dr. ', '3.5 '),
    maxLength: 60,
  });
  const inputArb = fc.record({
    question: textArb,
    history: fc.array(
      fc.record({ role: fc.constantFrom<ChatMessage['role']>('user', 'assistant'), content: textArb }),
      { maxLength: 6 },
    ),
    sources: fc.array(fc.record({ title: fc.string({ maxLength: 10 }), text: textArb }), { maxLength: 8 }),
    contextTokens: fc.integer({ min: 0, max: 1500 }),
    maxOutputTokens: fc.integer({ min: 0, max: 300 }),
    counter: fc.constantFrom<[string, (t: string) => number]>(
      ['estimate', estimateTokens],
      ['chars', chars],
      ['words', (t) => t.split(/\s+/).filter(Boolean).length],
    ),
  });

  it('property: fits the budget, numbers 1..k, trims only from the end, history before sources', () => {
    fc.assert(
      fc.property(inputArb, ({ counter: [, countTokens], ...rest }) => {
        const input: BuildPromptInput = { ...rest, countTokens };
        let p: BuiltPrompt;
        try {
          p = buildPrompt(input);
        } catch (e) {
          expect(e).toBeInstanceOf(PromptTooLargeError);
          // Only when even the bare prompt does not fit.
          expect(() => buildPrompt({ ...input, sources: [], history: [] })).toThrow(PromptTooLargeError);
          return;
        }
        expect(p.promptTokens + input.maxOutputTokens).toBeLessThanOrEqual(input.contextTokens);
        expect(p.promptTokens).toBe(countPromptTokens(p.messages, countTokens));
        expect(p.sources.map((s) => s.number)).toEqual(p.sources.map((_, i) => i + 1));

        // Kept sources are a prefix of the input; only the last may be cut, at a boundary.
        const k = p.sources.length;
        p.sources.forEach((s, i) => {
          const original = input.sources[i]!.text.trim();
          if (i < k - 1) expect(s.text).toBe(original);
          else expect(original.startsWith(s.text)).toBe(true);
          expect(userOf(p)).toContain(`[${s.number}] ${s.title}\n${s.text}`);
        });
        const cut = k > 0 && p.sources[k - 1]!.text !== input.sources[k - 1]!.text.trim() ? 1 : 0;
        expect(p.trimmed).toBe(input.sources.length - k + cut);

        // History kept is a suffix of the input, and sources are trimmed only once it is gone.
        const kept = p.messages.slice(1, -1);
        expect(kept).toEqual(rest.history.slice(rest.history.length - kept.length));
        if (p.trimmed > 0) expect(kept).toEqual([]);
        expect(p.messages[0]!.role).toBe('system');
        expect(userOf(p)).toContain(`Question: ${input.question.trim()}`);
      }),
      { numRuns: 500 },
    );
  });

  it('property: keeps everything when everything fits', () => {
    fc.assert(
      fc.property(inputArb, ({ counter: [, countTokens], ...rest }) => {
        const input: BuildPromptInput = { ...rest, contextTokens: 1_000_000, countTokens };
        const p = buildPrompt(input);
        expect(p.trimmed).toBe(0);
        expect(p.sources).toHaveLength(input.sources.length);
        expect(p.messages.slice(1, -1)).toEqual(input.history);
      }),
    );
  });
});

describe('withoutSource', () => {
  const question = '  Which capitals? ';
  const history: ChatMessage[] = [
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello.' },
  ];
  const p = buildPrompt({
    question,
    history,
    sources: [
      { title: 'France', text: 'Paris is the capital of France.' },
      { title: 'Germany', text: 'Berlin is the capital of Germany.' },
      { title: 'Italy', text: 'Rome is the capital of Italy.' },
    ],
    contextTokens: 8000,
    maxOutputTokens: 500,
  });

  it('removes one source block and keeps the others’ numbers, the history and the question', () => {
    const ablated = withoutSource(p.messages, question, p.sources, 2)!;
    expect(ablated.slice(0, -1)).toEqual(p.messages.slice(0, -1));
    expect(ablated.at(-1)).toEqual({
      role: 'user',
      content:
        'Sources:\n\n[1] France\nParis is the capital of France.\n\n[3] Italy\nRome is the capital of Italy.\n\nQuestion: Which capitals?',
    });
    expect(p.messages.at(-1)!.content).toContain('[2] Germany'); // the input is left alone
  });

  it('leaves "Sources: none." when the only source is removed', () => {
    const one = buildPrompt({
      question,
      sources: [{ title: 'France', text: 'Paris.' }],
      contextTokens: 8000,
      maxOutputTokens: 500,
    });
    expect(withoutSource(one.messages, question, one.sources, 1)!.at(-1)!.content).toBe(
      'Sources: none.\n\nQuestion: Which capitals?',
    );
  });

  it('returns null for messages it did not build, and refuses a number not shown', () => {
    const edited = [...p.messages.slice(0, -1), { role: 'user' as const, content: userOf(p).replace('Paris', 'Lyon') }];
    expect(withoutSource(edited, question, p.sources, 1)).toBeNull();
    expect(withoutSource(p.messages.slice(0, -1), question, p.sources, 1)).toBeNull();
    expect(() => withoutSource(p.messages, question, p.sources, 4)).toThrow(RangeError);
  });
});
