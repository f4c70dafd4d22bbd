import { latestReembedJob } from '../store/reembed.ts';
import { createHash } from 'node:crypto';
import { chunkDocument, type Chunk } from '../core/chunking.ts';
import { documentFields, documentVectorText } from '../core/document-fields.ts';
import { htmlToMarkdownText } from '../core/html-text.ts';
import { InvalidInput, NotFound, PayloadTooLarge, Unavailable, UnsupportedMediaType } from '../errors.ts';
import { DOCX, PDF, type BinaryContentType } from '../document-readers/index.ts';
import { pageAt } from '../core/pages.ts';
import { newId } from '../ids.ts';
import { embeddingModelForShare, findDatanet, type Datanet } from '../store/datanets.ts';
import { deleteDocumentTerms, insertDocumentTerms, updateLexicalStats } from '../store/lexical.ts';
import { noteRowsWritten } from '../store/analyze.ts';
import {
  findDocument,
  findLiveDocumentByHash,
  insertChunks,
  insertDocument,
  objectKeyInUse,
  softDeleteDocument,
  type DocumentRecord,
} from '../store/documents.ts';
import type { Services } from './container.ts';
import type { Principal } from './api-keys.ts';

export const TEXT_CONTENT_TYPES = ['text/plain', 'text/markdown', 'text/html'] as const;
export const CONTENT_TYPES = [...TEXT_CONTENT_TYPES, PDF, DOCX] as const;
export type ContentType = (typeof CONTENT_TYPES)[number];
type TextContentType = (typeof TEXT_CONTENT_TYPES)[number];

const ALIASES: Record<string, ContentType> = {
  'text/plain': 'text/plain',
  'text/markdown': 'text/markdown',
  'text/x-markdown': 'text/markdown',
  'text/html': 'text/html',
  'application/xhtml+xml': 'text/html',
  [PDF]: PDF,
  'application/x-pdf': PDF,
  [DOCX]: DOCX,
};
const EXTENSIONS: Record<string, ContentType> = {
  txt: 'text/plain',
  text: 'text/plain',
  md: 'text/markdown',
  markdown: 'text/markdown',
  html: 'text/html',
  htm: 'text/html',
  pdf: PDF,
  docx: DOCX,
};

/** Media type from a declared type (parameters ignored) or, failing that, a file name. */
export function resolveContentType(declared: string | undefined, fileName?: string): ContentType {
  const base = declared?.split(';')[0]?.trim().toLowerCase();
  if (base && ALIASES[base]) return ALIASES[base];
  const ext = fileName?.split('.').pop()?.toLowerCase();
  if ((!base || base === 'application/octet-stream') && ext && EXTENSIONS[ext]) return EXTENSIONS[ext];
  throw new UnsupportedMediaType(
    `unsupported content type ${declared ?? '(none)'}: use one of ${CONTENT_TYPES.join(', ')}`,
    declared ?? null,
  );
}

export const isBinaryContentType = (t: ContentType): t is BinaryContentType => t === PDF || t === DOCX;

/** A chunk as ingestion stores it: its span in the extracted text and, for paged formats, the page it starts on. */
export type PagedChunk = Chunk & { page: number | null };

/** The indexed text of a text document (HTML as Markdown-like text) and the chunks cut from it. */
export function parseContent(contentType: TextContentType, raw: string) {
  const { text, title } = contentType === 'text/html' ? htmlToMarkdownText(raw) : { text: raw, title: null };
  const chunks: PagedChunk[] = chunkDocument(text, contentType === 'text/plain' ? 'text/plain' : 'text/markdown').map(
    (c) => ({ ...c, page: null }),
  );
  return { text, htmlTitle: title, chunks };
}

/**
 * Any stored or uploaded bytes → the text that spans index, a title the file declares, and its
 * chunks. Binary formats go through the DocumentReaders port (absent where nothing is ingested).
 */
export async function readContent(
  services: Pick<Services, 'documentReaders'>,
  contentType: ContentType,
  bytes: Uint8Array,
) {
  if (!isBinaryContentType(contentType)) {
    let raw: string;
    try {
      raw = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new InvalidInput('document content is not valid UTF-8 text', 'content');
    }
    // PostgreSQL text cannot hold U+0000 (and no text format needs it).
    if (raw.includes('\u0000')) throw new InvalidInput('content: must not contain U+0000 (NUL) characters', 'content');
    return parseContent(contentType, raw);
  }
  const read = services.documentReaders?.[contentType];
  if (!read)
    throw new Unavailable(
      `${contentType} documents are ingested by the API on Node or Lambda, not here`,
      'documentReaders',
    );
  const doc = await read(bytes);
  const chunks: PagedChunk[] = chunkDocument(doc.text, doc.markup).map((c) => ({
    ...c,
    page: doc.pageStarts ? pageAt(doc.pageStarts, c.start) : null,
  }));
  return { text: doc.text, htmlTitle: doc.title, chunks };
}

export interface NewDocument {
  title?: string | undefined;
  /** Used when neither `title` nor an HTML <title> gives one (e.g. an uploaded file's name). */
  fallbackTitle?: string | undefined;
  contentType: ContentType;
  content: Uint8Array;
  metadata: Record<string, unknown>;
}

export interface AddedDocument {
  document: DocumentRecord;
  duplicate: boolean;
}

export function canManageDatanet(principal: Principal, datanet: Datanet): boolean {
  return (
    principal.role === 'admin' || (principal.role === 'contributor' && datanet.ownerAccountId === principal.accountId)
  );
}

export async function requireManagedDatanet(
  services: Services,
  principal: Principal,
  datanetId: string,
): Promise<Datanet> {
  const datanet = await findDatanet(services.db, datanetId);
  // Another tenant's datanet looks exactly like a missing one.
  if (!datanet || !canManageDatanet(principal, datanet))
    throw new NotFound(`no datanet ${datanetId}`, 'datanet', datanetId);
  return datanet;
}

/**
 * Store raw bytes (content-addressed), embed, then write document + chunks + vectors in ONE
 * transaction. A failure after the bytes are stored removes them again unless a live document
 * uses them, so a failed upload leaves no rows and no object (a crash at the wrong moment can
 * still leave an orphan object, never a row without its bytes).
 */
export async function addDocument(
  services: Services,
  principal: Principal,
  datanetId: string,
  input: NewDocument,
): Promise<AddedDocument> {
  const { db, objectStore, vectorIndex } = services;
  const datanet = await requireManagedDatanet(services, principal, datanetId);
  const max = services.config.maxDocumentBytes;
  if (input.content.byteLength > max) throw new PayloadTooLarge(`document content is limited to ${max} bytes`);
  // The datanet's own model; a re-embed in progress picks up new chunks before it switches.
  const embedder = await services.embedders.get(datanet.embeddingModel);

  const contentHash = createHash('sha256').update(input.content).digest('hex');
  const existing = await findLiveDocumentByHash(db, datanetId, contentHash);
  if (existing) return { document: existing, duplicate: true };

  // Everything is read and checked before a byte is stored: a refused file leaves nothing behind.
  const { text, htmlTitle, chunks } = await readContent(services, input.contentType, input.content);
  // Compressed PDF streams can inflate far beyond the upload: bound what gets chunked and embedded.
  const maxText = MAX_TEXT_PER_BYTE * services.config.maxDocumentBytes;
  if (text.length > maxText)
    throw new PayloadTooLarge(`the document's extracted text is limited to ${maxText} characters`);
  const title = input.title?.trim() || htmlTitle || input.fallbackTitle || null;
  if (!title) throw new InvalidInput('title is required (HTML documents may take it from <title>)', 'title');
  if (chunks.length === 0) throw new InvalidInput('document has no text to index', 'content');

  const objectKey = `documents/${datanetId}/${contentHash}`;
  await objectStore.put(objectKey, input.content, input.contentType);
  const documentId = newId('document');
  const rows = chunks.map((c) => ({ ...c, id: newId('chunk') }));
  try {
    // One more vector for the document itself (title + summary). Chunks are embedded as they are:
    // prefixing title and heading path measured worse on the quality bench's dev questions.
    const fields = documentFields(title, text, chunks);
    const [documentVector, ...vectors] = await embedder.embed([
      documentVectorText(fields),
      ...chunks.map((c) => c.text),
    ]);
    const document = await db.transaction(async (tx) => {
      // A re-embed switching the datanet's model holds this row; after it, embed with the new model.
      const model = await embeddingModelForShare(tx, datanetId);
      if (model !== embedder.modelId) throw new ModelSwitchedError();
      const doc = await insertDocument(tx, {
        id: documentId,
        datanetId,
        title,
        contentType: input.contentType,
        contentHash,
        objectKey,
        byteLength: input.content.byteLength,
        textLength: text.length,
        metadata: input.metadata,
        chunkCount: chunks.length,
      });
      await insertChunks(tx, documentId, datanetId, title, rows);
      await updateLexicalStats(tx, documentId, 1);
      await insertDocumentTerms(tx, documentId, datanetId, fields);
      await vectorIndex.upsertDocuments(
        embedder.modelId,
        [{ documentId, datanetId, vector: documentVector!, metadata: input.metadata }],
        tx,
      );
      await vectorIndex.upsert(
        embedder.modelId,
        rows.map((c, i) => ({ chunkId: c.id, datanetId, documentId, vector: vectors[i]!, metadata: input.metadata })),
        tx,
      );
      return doc;
    });
    noteRowsWritten(db, rows.length);
    return { document, duplicate: false };
  } catch (err) {
    if (err instanceof ModelSwitchedError) return addDocument(services, principal, datanetId, input);
    // A concurrent upload of the same bytes won the unique index: answer as a duplicate.
    const winner = await findLiveDocumentByHash(db, datanetId, contentHash).catch(() => null);
    if (winner) return { document: winner, duplicate: true };
    await removeUnusedObject(services, objectKey);
    throw err;
  }
}

/** Deletes stored bytes no live document points at; a failure here is logged, never hides the first error. */
async function removeUnusedObject(services: Services, objectKey: string): Promise<void> {
  try {
    if (!(await objectKeyInUse(services.db, objectKey))) await services.objectStore.delete(objectKey);
  } catch (err) {
    services.log.error('could not remove the object of a failed upload', { objectKey, error: String(err) });
  }
}

class ModelSwitchedError extends Error {}

/** Extracted text may be this many characters per allowed upload byte (plain text is 1:1). */
const MAX_TEXT_PER_BYTE = 4;

export async function getManagedDocument(
  services: Services,
  principal: Principal,
  id: string,
): Promise<DocumentRecord> {
  const doc = await findDocument(services.db, id);
  if (doc) {
    const datanet = await findDatanet(services.db, doc.datanetId);
    if (datanet && canManageDatanet(principal, datanet)) return doc;
  }
  throw new NotFound(`no document ${id}`, 'document', id);
}

export async function deleteDocument(services: Services, principal: Principal, id: string): Promise<DocumentRecord> {
  const doc = await getManagedDocument(services, principal, id);
  if (doc.deletedAt) throw new NotFound(`document ${id} is already deleted`, 'document', id);
  const { vectorIndex } = services;
  // The datanet's model and the one a running re-embed is filling (an outside index needs the names).
  const job = await latestReembedJob(services.db, doc.datanetId);
  const datanet = await findDatanet(services.db, doc.datanetId);
  const models = [...new Set([datanet!.embeddingModel, ...(job?.status === 'running' ? [job.toModel] : [])])];
  const vectors = { documentId: id, datanetId: doc.datanetId, models };
  await services.db.transaction(async (tx) => {
    if (vectorIndex.sharesDatabase) await vectorIndex.deleteByDocument(vectors, tx);
    await updateLexicalStats(tx, id, -1);
    await deleteDocumentTerms(tx, id);
    await softDeleteDocument(tx, id);
  });
  // An outside index is told after the commit: a rolled-back delete must not lose live vectors, and
  // vectors left by a failed call here are harmless (retrieval drops chunks the database no longer has).
  if (!vectorIndex.sharesDatabase) await vectorIndex.deleteByDocument(vectors);
  // Raw bytes go only after the rows are gone; the object key is unique to this datanet + content.
  await services.objectStore.delete(doc.objectKey);
  return (await findDocument(services.db, id))!;
}

// Plain reads and writes that routes need as they are: routes reach the store only through services.
export { listDocuments } from '../store/documents.ts';
