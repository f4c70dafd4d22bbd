import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { InvalidInput, NotFound, UnsupportedMediaType } from '../../../shared/errors.ts';
import {
  CONTENT_TYPES,
  addDocument,
  isBinaryContentType,
  deleteDocument,
  getManagedDocument,
  requireManagedDatanet,
  resolveContentType,
  type ContentType,
  type NewDocument,
} from '../../../shared/services/documents.ts';
import type { DocumentRecord } from '../../../shared/store/documents.ts';
import { listDocuments } from '../../../shared/services/documents.ts';
import { requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorResponses } from '../errors.ts';
import { parseGuardedJson, requireStorableText } from '../input-guard.ts';
import { Metadata, PAGE, idParam, iso, pageQuery, security } from '../schemas.ts';

export const DocumentView = z
  .object({
    id: z.string(),
    datanetId: z.string(),
    title: z.string(),
    contentType: z.enum(CONTENT_TYPES),
    contentHash: z.string().openapi({ description: 'sha256 of the raw bytes' }),
    byteLength: z.number().int(),
    textLength: z
      .number()
      .int()
      .openapi({ description: 'length of the text that chunk spans index (HTML: the extracted text)' }),
    chunkCount: z.number().int(),
    metadata: Metadata,
    createdAt: z.string(),
    deletedAt: z.string().nullable(),
  })
  .openapi('Document');

const documentView = (d: DocumentRecord) => ({
  id: d.id,
  datanetId: d.datanetId,
  title: d.title,
  contentType: d.contentType as (typeof CONTENT_TYPES)[number],
  contentHash: d.contentHash,
  byteLength: d.byteLength,
  textLength: d.textLength,
  chunkCount: d.chunkCount,
  metadata: d.metadata,
  createdAt: d.createdAt.toISOString(),
  deletedAt: iso(d.deletedAt),
});

const JsonUpload = z
  .object({
    title: z.string().trim().min(1).max(500).optional().openapi({ description: 'required unless HTML with a <title>' }),
    content: z.string().min(1).openapi({ description: 'at most MAX_DOCUMENT_BYTES bytes as UTF-8' }),
    contentType: z
      .string()
      .max(100)
      .default('text/plain')
      .openapi({ example: 'text/markdown', description: CONTENT_TYPES.join(' | ') }),
    metadata: Metadata.default({}),
  })
  .strict()
  .openapi('DocumentUpload');

const FormUpload = z
  .object({
    file: z.any().openapi({ type: 'string', format: 'binary' }),
    title: z.string().max(500).optional(),
    metadata: z
      .string()
      .max(64 * 1024)
      .optional()
      .openapi({ description: 'JSON object, as text' }),
    contentType: z.string().max(100).optional(),
  })
  .openapi('DocumentFileUpload');

const uploadRoute = createRoute({
  method: 'post',
  path: '/v1/datanets/{id}/documents',
  tags: ['documents'],
  summary:
    'Upload a document (plain text, Markdown, HTML as JSON or a file; PDF, DOCX as a multipart file); identical content is stored once. A PDF or DOCX whose text cannot be read (encrypted, image-only, malformed) is refused with 422 and nothing is stored',
  security,
  middleware: [requireRole('admin', 'contributor')] as const,
  request: {
    params: idParam('dn'),
    body: {
      required: false,
      content: { 'application/json': { schema: JsonUpload }, 'multipart/form-data': { schema: FormUpload } },
    },
  },
  responses: {
    201: {
      description: 'Indexed',
      content: { 'application/json': { schema: z.object({ document: DocumentView, duplicate: z.literal(false) }) } },
    },
    200: {
      description: 'Same content already in this datanet: the existing document',
      content: { 'application/json': { schema: z.object({ document: DocumentView, duplicate: z.literal(true) }) } },
    },
    ...errorResponses,
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/datanets/{id}/documents',
  tags: ['documents'],
  summary: "A datanet's live documents, paged by id",
  security,
  middleware: [requireRole('admin', 'contributor')] as const,
  request: {
    params: idParam('dn'),
    query: pageQuery('doc'),
  },
  responses: {
    200: {
      description: 'OK',
      content: {
        'application/json': { schema: z.object({ data: z.array(DocumentView), next: z.string().nullable() }) },
      },
    },
    ...errorResponses,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/documents/{id}',
  tags: ['documents'],
  summary: 'A document (deleted ones too, with deletedAt set)',
  security,
  middleware: [requireRole('admin', 'contributor')] as const,
  request: { params: idParam('doc') },
  responses: {
    200: { description: 'OK', content: { 'application/json': { schema: DocumentView } } },
    ...errorResponses,
  },
});

const contentRoute = createRoute({
  method: 'get',
  path: '/v1/documents/{id}/content',
  tags: ['documents'],
  summary: 'The raw uploaded bytes',
  security,
  middleware: [requireRole('admin', 'contributor')] as const,
  request: { params: idParam('doc') },
  responses: {
    200: { description: 'Raw content', content: { 'text/plain': { schema: z.string() } } },
    ...errorResponses,
  },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/v1/documents/{id}',
  tags: ['documents'],
  summary: 'Delete a document: it is never retrieved again; its past earnings stay',
  security,
  middleware: [requireRole('admin', 'contributor')] as const,
  request: { params: idParam('doc') },
  responses: {
    200: { description: 'Deleted', content: { 'application/json': { schema: DocumentView } } },
    ...errorResponses,
  },
});

async function fromForm(form: z.infer<typeof FormUpload>): Promise<NewDocument> {
  const file: unknown = form.file;
  if (!(file instanceof File)) throw new InvalidInput('file: expected a file part named "file"');
  // Form fields meet the same rules as a JSON body's strings (input-guard.ts).
  for (const field of ['title', 'contentType'] as const)
    if (typeof form[field] === 'string') requireStorableText(form[field], field);
  requireStorableText(file.name, 'file (name)');
  let metadata: Record<string, unknown> = {};
  if (form.metadata) {
    const parsed = Metadata.safeParse(parseGuardedJson(form.metadata, 'metadata'));
    if (!parsed.success) throw new InvalidInput('metadata: must be a JSON object');
    metadata = parsed.data;
  }
  return {
    title: form.title,
    fallbackTitle: file.name.replace(/\.[^.]+$/, ''),
    contentType: resolveContentType(form.contentType ?? file.type, file.name),
    content: new Uint8Array(await file.arrayBuffer()),
    metadata,
  };
}

function fromJson(body: Partial<z.infer<typeof JsonUpload>>): NewDocument {
  if (body.content === undefined)
    throw new InvalidInput('body: send JSON {title, content, contentType, metadata} or a multipart file upload');
  const contentType = resolveContentType(body.contentType ?? 'text/plain');
  if (isBinaryContentType(contentType))
    throw new UnsupportedMediaType(
      `${contentType}: upload the file as multipart/form-data (part "file"); JSON content is text`,
      contentType,
    );
  return {
    title: body.title,
    contentType,
    content: new TextEncoder().encode(body.content),
    metadata: body.metadata ?? {},
  };
}

export const documentRoutes = new OpenAPIHono<AppEnv>();
documentRoutes
  .openapi(uploadRoute, async (c) => {
    const isForm = (c.req.header('content-type') ?? '').startsWith('multipart/form-data');
    const upload = isForm
      ? await fromForm(c.req.valid('form') as z.infer<typeof FormUpload>)
      : fromJson(c.req.valid('json') as Partial<z.infer<typeof JsonUpload>>);
    const { document, duplicate } = await addDocument(
      c.get('services'),
      c.get('principal'),
      c.req.valid('param').id,
      upload,
    );
    return duplicate
      ? c.json({ document: documentView(document), duplicate: true as const }, 200)
      : c.json({ document: documentView(document), duplicate: false as const }, 201);
  })
  .openapi(listRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { limit = PAGE.defaultLimit, after } = c.req.valid('query');
    await requireManagedDatanet(c.get('services'), c.get('principal'), id);
    const docs = await listDocuments(c.get('services').db, id, limit, after);
    return c.json(
      { data: docs.map(documentView), next: docs.length === limit ? docs[docs.length - 1]!.id : null },
      200,
    );
  })
  .openapi(getRoute, async (c) => {
    const doc = await getManagedDocument(c.get('services'), c.get('principal'), c.req.valid('param').id);
    return c.json(documentView(doc), 200);
  })
  .openapi(contentRoute, async (c) => {
    const doc = await getManagedDocument(c.get('services'), c.get('principal'), c.req.valid('param').id);
    const bytes = doc.deletedAt ? null : await c.get('services').objectStore.get(doc.objectKey);
    if (!bytes) throw new NotFound(`document ${doc.id} has no stored content (deleted)`, 'document content', doc.id);
    const type = isBinaryContentType(doc.contentType as ContentType)
      ? doc.contentType
      : `${doc.contentType}; charset=utf-8`;
    return c.body(new Uint8Array(bytes), 200, { 'content-type': type }) as never;
  })
  .openapi(deleteRoute, async (c) => {
    const doc = await deleteDocument(c.get('services'), c.get('principal'), c.req.valid('param').id);
    return c.json(documentView(doc), 200);
  });
