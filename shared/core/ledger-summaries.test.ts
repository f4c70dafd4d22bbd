import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { foldEarnings, foldUsage, type UsageRow } from './ledger-summaries.ts';

describe('foldUsage', () => {
  it('counts grants as credit, not calls, and groups the rest by kind and by key in name order', () => {
    const s = foldUsage([
      { kind: 'retrieval', keyId: 'key_b', calls: 2n, spend: 300n, credited: 0n },
      { kind: 'credit_grant', keyId: null, calls: 1n, spend: 0n, credited: 10_000n },
      { kind: 'answer', keyId: 'key_b', calls: 1n, spend: 700n, credited: 0n },
      { kind: 'retrieval', keyId: null, calls: 3n, spend: 90n, credited: 0n },
    ]);
    expect(s).toEqual({
      balance: 10_000n - 1_090n,
      credited: 10_000n,
      calls: 6,
      spend: 1_090n,
      byKind: [
        { kind: 'answer', calls: 1, spend: 700n },
        { kind: 'retrieval', calls: 5, spend: 390n },
      ],
      byKey: [
        { keyId: null, calls: 3, spend: 90n },
        { keyId: 'key_b', calls: 3, spend: 1_000n },
      ],
    });
  });

  it('whatever order the rows come in, the groups add up to the totals', () => {
    const row = fc.record({
      kind: fc.constantFrom('retrieval', 'answer', 'credit_grant', 'payout'),
      keyId: fc.constantFrom(null, 'key_a', 'key_b'),
      calls: fc.bigInt({ min: 0n, max: 1_000n }),
      spend: fc.bigInt({ min: 0n, max: 10n ** 12n }),
      credited: fc.bigInt({ min: 0n, max: 10n ** 12n }),
    }) satisfies fc.Arbitrary<UsageRow>;
    fc.assert(
      fc.property(fc.array(row, { maxLength: 20 }), (rows) => {
        const s = foldUsage(rows);
        expect(foldUsage([...rows].reverse())).toEqual(s);
        expect(s.byKind.reduce((a, k) => a + k.spend, 0n)).toBe(s.spend);
        expect(s.byKey.reduce((a, k) => a + k.calls, 0)).toBe(s.calls);
        expect(s.balance).toBe(s.credited - s.spend);
      }),
    );
  });
});

describe('foldEarnings', () => {
  it('sums documents into their datanets; total is what settled plus what is still on the ledger', () => {
    const doc = (documentId: string, datanetId: string, earned: bigint, calls: bigint) => ({
      documentId,
      datanetId,
      datanetName: `name of ${datanetId}`,
      title: documentId,
      deleted: false,
      earned,
      calls,
    });
    const s = foldEarnings([doc('d1', 'n1', 500n, 2n), doc('d2', 'n2', 300n, 1n), doc('d3', 'n1', 100n, 4n)], {
      balance: 600n,
      settled: 300n,
    });
    expect(s.total).toBe(900n);
    expect(s.unsettled).toBe(600n);
    expect(s.byDatanet).toEqual([
      { datanetId: 'n1', name: 'name of n1', earned: 600n, calls: 6 },
      { datanetId: 'n2', name: 'name of n2', earned: 300n, calls: 1 },
    ]);
    expect(s.byDocument.map((d) => [d.documentId, d.calls])).toEqual([
      ['d1', 2],
      ['d2', 1],
      ['d3', 4],
    ]);
  });
});
