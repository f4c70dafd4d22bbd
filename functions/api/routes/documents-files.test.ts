import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPdf } from '../../../shared/document-readers/pdf.ts';
import type { Services } from '../../../shared/services/container.ts';
import { makeDocx, makeEncryptedPdf, makeImageOnlyPdf, makePdf } from '../../../test/document-files.ts';
import { createWorld, httpClient, type Client } from '../../../test/http.ts';
import { createTestServices } from '../../../test/services.ts';

// PDF and DOCX uploads: the same path as text (content hash, chunker, one transaction), with pages.
let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;

beforeAll(async () => {
  services = await createTestServices({ MAX_DOCUMENT_BYTES: '40000' });
  client = httpClient(services);
  world = await createWorld(services);
});
afterAll(() => services.db.close());

const PDF = 'application/pdf';
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const uploadFile = (bytes: Uint8Array, name: string, type: string, datanet = world.ada.datanet) => {
  const form = new FormData();
  form.set('file', new File([bytes], name, { type }));
  return client.call('POST', `/v1/datanets/${datanet}/documents`, { key: world.ada.key, body: form });
};
const count = async (sql: string) => Number((await services.db.query<{ n: bigint }>(sql)).rows[0]!.n);

// Three pages, each about one topic and long enough that chunks do not straddle pages.
const para = (topic: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${topic} line ${i + 1} keeps the page about ${topic.toLowerCase()} alone.`);
const PAGES = [
  ['Lighthouse keeping', ...para('Lighthouse', 28)],
  ['Beekeeping in winter', ...para('Beehive', 28), 'Feed the colony fondant when frost settles on the hive roof.'],
  ['Sailing knots', ...para('Bowline', 28)],
];

describe('PDF uploads', () => {
  let pdf: Uint8Array;
  let documentId: string;

  it('indexes a multi-page PDF: spans into the extracted text, the page each chunk starts on', async () => {
    pdf = await makePdf(PAGES, { title: 'Field notes' });
    const r = await uploadFile(pdf, 'field-notes.pdf', PDF);
    expect(r.status).toBe(201);
    expect(r.body.document).toMatchObject({ title: 'Field notes', contentType: PDF, byteLength: pdf.byteLength });
    documentId = r.body.document.id;
    const { text } = await readPdf(pdf);
    expect(r.body.document.textLength).toBe(text.length);
    const chunks = await services.db.query<{ start_char: number; end_char: number; text: string; page: number | null }>(
      `SELECT start_char, end_char, text, page FROM chunks WHERE document_id = $1 ORDER BY ordinal`,
      [documentId],
    );
    expect(chunks.rows.length).toBeGreaterThanOrEqual(3);
    for (const c of chunks.rows) {
      expect(text.slice(c.start_char, c.end_char)).toBe(c.text);
      const topic = /Lighthouse|Beehive|Bowline/.exec(c.text)![0];
      expect(c.page).toBe(['Lighthouse', 'Beehive', 'Bowline'].indexOf(topic) + 1);
    }
    expect(new Set(chunks.rows.map((c) => c.page))).toEqual(new Set([1, 2, 3]));
    // The raw bytes come back as a PDF.
    const raw = await client.app.request(`/v1/documents/${documentId}/content`, {
      headers: { authorization: `Bearer ${world.ada.key}` },
    });
    expect(raw.headers.get('content-type')).toBe(PDF);
    expect(new Uint8Array(await raw.arrayBuffer())).toEqual(pdf);
  });

  it('cites the page in retrieval spans', async () => {
    const r = await client.call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      json: { query: 'feed the bee colony fondant in frost', datanets: [world.ada.datanet], topK: 1 },
    });
    expect(r.status).toBe(200);
    const [source] = r.body.sources;
    expect(source.documentId).toBe(documentId);
    expect(source.text).toContain('fondant');
    expect(source.span.page).toBe(2);
  });

  it('stores identical bytes once (content hash)', async () => {
    const before = await count(`SELECT count(*)::bigint AS n FROM chunks`);
    const r = await uploadFile(pdf, 'copy.pdf', PDF);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ duplicate: true, document: { id: documentId } });
    expect(await count(`SELECT count(*)::bigint AS n FROM chunks`)).toBe(before);
  });

  it('takes the type from the file name when the browser sends none', async () => {
    const r = await uploadFile(await makePdf([['Orchard pruning happens in late winter.']]), 'orchard.pdf', '');
    expect(r.status).toBe(201);
    expect(r.body.document).toMatchObject({ title: 'orchard', contentType: PDF });
  });
});

describe('DOCX uploads', () => {
  it('keeps headings as heading paths and table rows on one line; no pages', async () => {
    const docx = await makeDocx();
    const r = await uploadFile(docx, 'greenhouse.docx', DOCX);
    expect(r.status).toBe(201);
    expect(r.body.document).toMatchObject({ title: 'greenhouse', contentType: DOCX });
    const chunks = await services.db.query<{ text: string; heading_path: string[]; page: number | null }>(
      `SELECT text, heading_path, page FROM chunks WHERE document_id = $1 ORDER BY ordinal`,
      [r.body.document.id],
    );
    const calendar = chunks.rows.find((c) => c.heading_path.join('/') === 'Greenhouse Handbook/Planting calendar');
    expect(calendar?.text).toContain('Cucumber | March | July');
    expect(
      chunks.rows.some(
        (c) => c.heading_path.join('/') === 'Greenhouse Handbook/Ventilation' && c.text.includes('roof vents'),
      ),
    ).toBe(true);
    expect(chunks.rows.every((c) => c.page === null)).toBe(true);
  });
});

describe('unreadable files: a clear 4xx, nothing stored', () => {
  const truncated = async () => (await makePdf(PAGES)).slice(0, 300);
  it.each([
    ['an encrypted PDF', makeEncryptedPdf, 'secret.pdf', PDF, 422, 'encrypted'],
    ['an image-only PDF', makeImageOnlyPdf, 'scan.pdf', PDF, 422, 'no_text_layer'],
    ['a truncated PDF', truncated, 'cut.pdf', PDF, 422, 'malformed'],
    ['text named .pdf', async () => new TextEncoder().encode('not a pdf at all'), 'fake.pdf', PDF, 422, 'malformed'],
    [
      'a zip that is not a Word file',
      async () => new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4]),
      'broken.docx',
      DOCX,
      422,
      'malformed',
    ],
    [
      'an encrypted (OLE) Word file',
      async () => new Uint8Array([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]),
      'locked.docx',
      DOCX,
      422,
      'encrypted',
    ],
  ])('%s', async (_name, make, fileName, type, status, reason) => {
    const bytes = await make();
    const before = await count(`SELECT count(*)::bigint AS n FROM documents`);
    const r = await uploadFile(bytes, fileName, type);
    expect(r.status).toBe(status);
    expect(r.body.error).toMatchObject({ code: 'UNPROCESSABLE', details: { reason } });
    expect(r.body.error.requestId).toMatch(/^req_/);
    expect(await count(`SELECT count(*)::bigint AS n FROM documents`)).toBe(before);
    const hash = createHash('sha256').update(bytes).digest('hex');
    expect(await services.objectStore.get(`documents/${world.ada.datanet}/${hash}`)).toBeNull();
  });

  it('refuses a PDF over MAX_DOCUMENT_BYTES with 413', async () => {
    const big = await makePdf(Array.from({ length: 250 }, (_, i) => [`Page ${i} of a very long appendix`]));
    expect(big.byteLength).toBeGreaterThan(40000);
    const r = await uploadFile(big, 'appendix.pdf', PDF);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses a PDF sent as JSON text with 415, pointing at multipart', async () => {
    const r = await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, {
      key: world.ada.key,
      json: { title: 'x', content: '%PDF-1.7', contentType: PDF },
    });
    expect(r.status).toBe(415);
    expect(r.body.error.message).toMatch(/multipart/);
  });
});
