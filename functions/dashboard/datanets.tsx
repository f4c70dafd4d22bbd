import type { Context, Hono } from 'hono';
import { DomainError, Forbidden, InvalidInput, Unauthorized, type AnyDomainError } from '../../shared/errors.ts';
import { createDatanet } from '../../shared/services/datanets.ts';
import {
  addDocument,
  deleteDocument,
  getManagedDocument,
  resolveContentType,
  type AddedDocument,
} from '../../shared/services/documents.ts';
import { ownerDatanetDocuments, ownerDatanetList, sessionPrincipal } from '../../shared/services/owner-datanets.ts';
import { toHttpError } from '../api/errors.ts';
import { z } from 'zod';
import { validQuery } from './pages/common.ts';
import type { DashEnv } from './security.ts';
import { DatanetPage, DatanetsPage, DeleteDocumentPage } from './views/datanets.tsx';

// /dashboard/owner/datanets…: an owner's datanets and documents, through the services the API
// uses (createDatanet, addDocument, deleteDocument). Every form posts and redirects (PRG); the
// upload form's script posts one file at a time with Accept: application/json to show progress.

function contributor(c: Context<DashEnv>) {
  const session = c.get('session');
  if (!session) throw new Unauthorized('sign in first');
  if (session.account.kind !== 'contributor') throw new Forbidden('this page is for contributor accounts');
  return {
    account: session.account,
    livemode: session.livemode,
    csrf: session.csrf,
    principal: sessionPrincipal(session.account, session.livemode),
  };
}

/** "0.001" → 1000n: dollars with up to 6 decimals, exactly. */
/** The datanet page's query: the documents cursor and what the redirect that led here reports. */
const count = z.coerce.number().int().min(0).max(999_999);
const DatanetQuery = z.object({
  after: z.string().max(200).optional(),
  created: z.string().max(10).optional(),
  indexed: count.optional(),
  duplicates: count.optional(),
  refused: count.optional(),
  deleted: z.string().max(200).optional(),
});

export function parseUsd(text: string): bigint {
  const m = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!m) throw new InvalidInput('price: dollars with up to 6 decimals, e.g. 0.001', 'price');
  return BigInt(m[1]!) * 1_000_000n + BigInt((m[2] ?? '').padEnd(6, '0'));
}

const field = (form: Record<string, unknown>, name: string) =>
  typeof form[name] === 'string' ? (form[name] as string) : '';
const REFUSALS: Record<string, string> = {
  UNPROCESSABLE: 'unreadable',
  UNSUPPORTED_MEDIA_TYPE: 'unsupported type',
  PAYLOAD_TOO_LARGE: 'too large',
  BAD_REQUEST: 'no text or bad input',
};

export function registerDatanetPages(app: Hono<DashEnv>) {
  app.get('/dashboard/owner/datanets', async (c) => {
    const { account, livemode, csrf } = contributor(c);
    const rows = await ownerDatanetList(c.get('services'), account, livemode);
    return c.html(<DatanetsPage csrf={csrf} account={account} testmode={!livemode} rows={rows} />);
  });
  app.post('/dashboard/owner/datanets', async (c) => {
    const { principal } = contributor(c);
    const form = await c.req.parseBody();
    const { datanet } = await createDatanet(c.get('services'), principal, {
      name: field(form, 'name'),
      description: field(form, 'description').trim() || null,
      pricePerSource: parseUsd(field(form, 'price')),
    });
    return c.redirect(`/dashboard/owner/datanets/${datanet.id}?created=1`, 303);
  });
  app.get('/dashboard/owner/datanets/:id', validQuery(DatanetQuery), async (c) => {
    const { account, livemode, csrf } = contributor(c);
    const services = c.get('services');
    const q = c.req.valid('query');
    const d = await ownerDatanetDocuments(services, account, livemode, c.req.param('id'), q.after);
    const n = (v: number | undefined) => v ?? 0;
    let flash: { text: string; error?: boolean } | undefined;
    if (q.created) flash = { text: `Datanet created: upload its first documents below.` };
    else if (q.indexed !== undefined) {
      const parts = [
        `${n(q.indexed)} indexed`,
        ...(n(q.duplicates) ? [`${n(q.duplicates)} already here`] : []),
        ...(n(q.refused) ? [`${n(q.refused)} refused (encrypted, image-only, damaged, unsupported or too large)`] : []),
      ];
      flash = { text: `Upload finished: ${parts.join(', ')}.`, error: n(q.refused) > 0 };
    } else if (q.deleted) {
      const gone = await getManagedDocument(services, sessionPrincipal(account, livemode), q.deleted).catch(() => null);
      if (gone?.deletedAt) flash = { text: `Deleted “${gone.title}”: it is no longer retrieved.` };
    }
    return c.html(
      <DatanetPage
        csrf={csrf}
        account={account}
        testmode={!livemode}
        d={d}
        maxBytes={services.config.maxDocumentBytes}
        flash={flash}
      />,
    );
  });
  app.post('/dashboard/owner/datanets/:id/documents', async (c) => {
    const { principal } = contributor(c);
    const services = c.get('services');
    const files = (await c.req.formData()).getAll('file').filter((f): f is File => f instanceof File && f.size > 0);
    if (files.length === 0) throw new InvalidInput('file: choose at least one file', 'file');
    const add = async (file: File): Promise<AddedDocument> =>
      addDocument(services, principal, c.req.param('id'), {
        fallbackTitle: file.name.replace(/\.[^.]+$/, '') || file.name,
        contentType: resolveContentType(file.type, file.name),
        content: new Uint8Array(await file.arrayBuffer()),
        metadata: {},
      });
    // The page's script sends one file per request and shows each result; errors answer as JSON (app.onError).
    if (c.req.header('accept')?.startsWith('application/json')) {
      if (files.length !== 1) throw new InvalidInput('file: one file per request', 'file');
      const { document, duplicate } = await add(files[0]!);
      return c.json(
        { duplicate, document: { id: document.id, title: document.title, chunkCount: document.chunkCount } },
        duplicate ? 200 : 201,
      );
    }
    const counts = { indexed: 0, duplicates: 0, refused: 0 };
    for (const file of files) {
      try {
        const { duplicate } = await add(file);
        counts[duplicate ? 'duplicates' : 'indexed']++;
      } catch (err) {
        // A refused file (a 4xx for the API) does not stop the others; anything else is a real failure.
        if (!(err instanceof DomainError) || !REFUSALS[toHttpError(err as AnyDomainError).code]) throw err;
        counts.refused++;
      }
    }
    return c.redirect(
      `/dashboard/owner/datanets/${c.req.param('id')}?${new URLSearchParams({ indexed: String(counts.indexed), duplicates: String(counts.duplicates), refused: String(counts.refused) })}#documents`,
      303,
    );
  });
  app.get('/dashboard/owner/documents/:id/delete', async (c) => {
    const { account, livemode, csrf, principal } = contributor(c);
    const d = await getManagedDocument(c.get('services'), principal, c.req.param('id'));
    if (d.deletedAt) return c.redirect(`/dashboard/owner/datanets/${d.datanetId}#documents`, 303);
    return c.html(<DeleteDocumentPage csrf={csrf} account={account} testmode={!livemode} d={d} />);
  });
  app.post('/dashboard/owner/documents/:id/delete', async (c) => {
    const { principal } = contributor(c);
    const d = await deleteDocument(c.get('services'), principal, c.req.param('id'));
    return c.redirect(`/dashboard/owner/datanets/${d.datanetId}?deleted=${d.id}#documents`, 303);
  });
}
