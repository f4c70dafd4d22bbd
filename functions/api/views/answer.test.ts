import { describe, expect, it } from 'vitest';
import { decodeAnswerResult, encodeAnswerResult } from '../../../shared/services/answer-results.ts';
import type { AnswerRecord, AnswerResult, ShownSource } from '../../../shared/store/answers.ts';
import { answerView } from './answer.ts';

// The answer body is rendered from domain values (finalizeAnswer → store/answer-results.ts →
// views/answer.ts). Rows written before that hold the rendered body itself; they must render as
// they were stored, and a fresh result must survive the stored form unchanged.

const shown = (n: number, over: Partial<ShownSource> = {}): ShownSource => ({
  number: n,
  chunkId: `chk_${n}`,
  documentId: `doc_${n}`,
  datanetId: 'dn_1',
  title: `Title ${n}`,
  metadata: {},
  contributorAccountId: `acct_${n}`,
  contributorWallet: `0x${String(n).repeat(40)}`,
  pricePerSource: '1000',
  text: 'Paris is the capital of France. It is large.',
  start: 100 * n,
  end: 100 * n + 44,
  headingPath: [],
  page: null,
  score: 1 / n,
  similarity: 0.8,
  ranks: { dense: n },
  duplicateOf: null,
  ...over,
});

const record = (sources: ShownSource[], stored: unknown): AnswerRecord => ({
  id: 'ans_1',
  requestId: 'req_1',
  accountId: 'acct_c',
  keyId: 'key_1',
  status: 'succeeded',
  model: 'extractive',
  adapterId: null,
  query: 'capital of France?',
  sources,
  hold: 5000n,
  livemode: true,
  result: decodeAnswerResult(JSON.parse(JSON.stringify(stored))),
  error: null,
  createdAt: new Date('2026-12-01T00:00:00Z'),
  startedAt: new Date('2026-12-01T00:00:01Z'),
  finishedAt: new Date('2026-12-01T00:00:02Z'),
  deadlineAt: new Date('2026-12-01T00:01:00Z'),
});

const attribution = {
  formulaVersion: 'answer-v2',
  receiptId: 'rcpt_1',
  sources: [
    {
      sourceId: 'chk_1',
      documentId: 'doc_1',
      wallet: `0x${'1'.repeat(40)}`,
      weight: 1,
      weightPpm: 1_000_000,
      amount: '900',
      signals: { retrieval: 1, citation: 1, unsupported: false, causal: null, duplicateOf: null, used: true },
    },
  ],
  adapter: null,
};

describe('answer view', () => {
  it('renders a body stored before domain values (cited sources copied in, no causal fields) exactly as stored', () => {
    const sources = [shown(1, { page: 3 }), shown(2)];
    // As finalizeAnswer wrote it before causal attribution: usage without attributionTokens, attribution without causal.
    const legacy = {
      text: 'Paris is the capital of France.[1]',
      citations: [
        {
          sentence: { start: 0, end: 31, text: 'Paris is the capital of France.' },
          sources: [
            {
              number: 1,
              sourceId: 'chk_1',
              documentId: 'doc_1',
              title: 'Title 1',
              datanetId: 'dn_1',
              contributor: { accountId: 'acct_1', wallet: `0x${'1'.repeat(40)}` },
              span: { start: 100, end: 144, page: 3 },
              quote: { text: 'Paris is the capital of France.', start: 100, end: 131 },
              supported: true,
              similarity: 0.93,
            },
          ],
        },
      ],
      invalidMarkers: [{ marker: '[7]', number: 7, reason: 'out_of_range' }],
      model: 'extractive',
      finishReason: 'stop',
      usage: {
        promptTokens: 212,
        completionTokens: 9,
        charged: '1013',
        tokenCharge: '13',
        dataFee: '900',
        adapterFee: '0',
        protocolFee: '100',
        balance: '98987',
        currency: 'USD',
        unit: 'micro',
      },
      attribution: { ...attribution, supportThreshold: 0.5 },
      timings: { queuedMs: 3, generateMs: 40 },
    };
    const view = answerView(record(sources, legacy));
    expect(view.text).toBe(legacy.text);
    expect(view.citations).toEqual(legacy.citations);
    expect(view.invalidMarkers).toEqual(legacy.invalidMarkers);
    // The two fields added since are their true values for such an answer: no causal pass ran.
    expect(view.usage).toEqual({ ...legacy.usage, attributionTokens: 0 });
    expect(view.attribution).toEqual({ ...legacy.attribution, causal: null });
    expect(view.timings).toEqual(legacy.timings);
  });

  it('keeps a fresh result through the stored form, and renders money as decimal strings in micro-USD', () => {
    const result: AnswerResult = {
      text: 'It is large.[2]',
      citations: [
        {
          sentence: { start: 0, end: 12, text: 'It is large.' },
          sources: [{ number: 2, supported: false, similarity: 0.31, quote: null }],
        },
      ],
      invalidMarkers: [],
      model: 'qwen',
      finishReason: 'length',
      tokens: { prompt: 300, completion: 20, attribution: 150 },
      charge: { total: 2n ** 60n, tokenCharge: 17n, dataFee: 900n, adapterFee: 4n, protocolFee: 100n },
      balanceAfter: -1n,
      attribution,
      supportThreshold: 0.55,
      causal: { method: 'leave-one-out', promptTokens: 150, ms: 12 },
      timings: { queuedMs: 1, generateMs: 2 },
    };
    const stored = JSON.parse(JSON.stringify(encodeAnswerResult(result)));
    // What the 0071 (usage split) and 0072 (answer.completed webhook) triggers read from the row.
    expect(stored.usage).toMatchObject({ tokenCharge: '17', charged: String(2n ** 60n), currency: 'USD' });
    expect(decodeAnswerResult(stored)).toEqual(result);

    const sources = [shown(1), shown(2)];
    const view = answerView(record(sources, encodeAnswerResult(result)));
    expect(view.usage).toEqual({
      promptTokens: 300,
      completionTokens: 20,
      attributionTokens: 150,
      charged: '1152921504606846976',
      tokenCharge: '17',
      dataFee: '900',
      adapterFee: '4',
      protocolFee: '100',
      balance: '-1',
      currency: 'USD',
      unit: 'micro',
    });
    expect(view.citations[0]!.sources[0]).toEqual({
      number: 2,
      sourceId: 'chk_2',
      documentId: 'doc_2',
      title: 'Title 2',
      datanetId: 'dn_1',
      contributor: { accountId: 'acct_2', wallet: `0x${'2'.repeat(40)}` },
      span: { start: 200, end: 244, page: null },
      quote: null,
      supported: false,
      similarity: 0.31,
    });
    expect(view.attribution).toEqual({
      ...attribution,
      supportThreshold: 0.55,
      causal: { method: 'leave-one-out', promptTokens: 150, ms: 12 },
    });
  });

  it('shows no outcome for an answer still running', () => {
    const view = answerView({ ...record([shown(1)], null), status: 'running', finishedAt: null });
    expect(view).toMatchObject({ text: null, citations: [], usage: null, attribution: null, timings: null });
  });
});
