import type { Account } from '../../../shared/store/accounts.ts';
import type { DocumentRecord } from '../../../shared/store/documents.ts';
import type { ownerDatanetDocuments, ownerDatanetList } from '../../../shared/services/owner-datanets.ts';
import { Layout } from './layout.tsx';
import { Money, plural, usd, when } from './parts.tsx';

// The owner's datanets: create one, upload files into it (several at once, with progress), see
// each document's indexing status and earnings, delete documents.

type Flash = { text: string; error?: boolean };
const FlashLine = (p: { flash?: Flash | undefined }) =>
  p.flash ? (
    <p class={p.flash.error ? 'flash error' : 'flash'} role="status">
      {p.flash.text}
    </p>
  ) : null;

const TYPE_LABEL: Record<string, string> = {
  'application/pdf': 'PDF',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'Word',
  'text/markdown': 'Markdown',
  'text/html': 'HTML',
  'text/plain': 'Text',
};
export const ACCEPT =
  '.pdf,.docx,.md,.markdown,.html,.htm,.txt,application/pdf,application/vnd.openxmlformats-officedocument.wordprocessingml.document,text/markdown,text/html,text/plain';

const kib = (bytes: number) =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1024 * 1024
      ? `${(bytes / 1024).toFixed(1)} KiB`
      : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export function DatanetsPage(p: {
  csrf: string;
  account: Account;
  testmode?: boolean;
  rows: Awaited<ReturnType<typeof ownerDatanetList>>;
  flash?: Flash;
}) {
  return (
    <Layout title="Datanets" csrf={p.csrf} account={p.account} testmode={p.testmode}>
      <p>
        <a href="/dashboard/owner">← Earnings</a>
      </p>
      <FlashLine flash={p.flash} />
      <div class="table-wrap">
        <table class="stack">
          <caption class="muted">{plural(p.rows.length, 'datanet')}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" class="num">
                Documents
              </th>
              <th scope="col" class="num">
                Price per source
              </th>
              <th scope="col" class="num">
                Earned
              </th>
            </tr>
          </thead>
          <tbody>
            {p.rows.map((r) => (
              <tr data-datanet={r.datanet.id}>
                <td data-label="Name">
                  <a href={`/dashboard/owner/datanets/${r.datanet.id}`}>{r.datanet.name}</a>
                </td>
                <td class="num" data-label="Documents">
                  {r.documents}
                </td>
                <td class="num" data-label="Price per source">
                  <Money micros={r.datanet.pricePerSource} />
                </td>
                <td class="num" data-label="Earned">
                  <Money micros={r.earned} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <section aria-labelledby="new-h">
        <h2 id="new-h">New datanet</h2>
        <form method="post" action="/dashboard/owner/datanets" class="panel">
          <input type="hidden" name="_csrf" value={p.csrf} />
          <label for="dn-name">Name</label>
          <input type="text" id="dn-name" name="name" maxlength={200} required placeholder="e.g. Field guides" />
          <label for="dn-price">Price per retrieved source, in US dollars</label>
          <input
            type="text"
            id="dn-price"
            name="price"
            inputmode="decimal"
            required
            pattern="\d{1,12}(\.\d{1,6})?"
            placeholder="0.001"
            aria-describedby="dn-price-note"
          />
          <p class="note" id="dn-price-note">
            Up to 6 decimals (one micro-dollar). What a call pays for each of your sources it is shown.
          </p>
          <label for="dn-desc">Description (optional)</label>
          <input type="text" id="dn-desc" name="description" maxlength={2000} />
          <button type="submit">Create datanet</button>
        </form>
      </section>
    </Layout>
  );
}

type DatanetDocs = Awaited<ReturnType<typeof ownerDatanetDocuments>>;

export function DatanetPage(p: {
  csrf: string;
  account: Account;
  testmode?: boolean;
  d: DatanetDocs;
  maxBytes: number;
  flash?: Flash;
}) {
  const { datanet, documents } = p.d;
  return (
    <Layout title={datanet.name} csrf={p.csrf} account={p.account} testmode={p.testmode} script>
      <p>
        <a href="/dashboard/owner/datanets">← Datanets</a>
      </p>
      <FlashLine flash={p.flash} />
      <p class="note">
        Datanet <code>{datanet.id}</code>: {usd(datanet.pricePerSource)} per retrieved source; embeddings{' '}
        <code class="nowrap">{datanet.embeddingModel}</code>.{' '}
        <a href={`/dashboard/owner/datanets/${datanet.id}/rate-card`}>Rate card and license →</a>
      </p>

      <section aria-labelledby="up-h">
        <h2 id="up-h">Upload documents</h2>
        <form
          method="post"
          action={`/dashboard/owner/datanets/${datanet.id}/documents`}
          enctype="multipart/form-data"
          class="panel"
          id="upload-form"
          data-upload
        >
          <input type="hidden" name="_csrf" value={p.csrf} />
          <label for="upload-files">
            Files: PDF, Word (.docx), Markdown, HTML or text; up to {kib(p.maxBytes)} each
          </label>
          <input type="file" id="upload-files" name="file" multiple required accept={ACCEPT} />
          <button type="submit">Upload and index</button>
          <p class="note">
            Each file is chunked and embedded as it arrives; a file already in this datanet (same bytes) is kept once.
            Encrypted, scanned (image-only) or damaged files are refused with the reason.
          </p>
          <ul class="uploads" id="upload-progress" aria-live="polite"></ul>
        </form>
      </section>

      <section aria-labelledby="docs-h" id="documents">
        <h2 id="docs-h">Documents</h2>
        <div class="table-wrap" hidden={documents.length === 0}>
          <table class="stack">
            <caption class="muted">
              {plural(documents.length, 'document')}
              {p.d.next ? ' on this page' : ''}
            </caption>
            <thead>
              <tr>
                <th scope="col">Title</th>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Earned
                </th>
                <th scope="col" class="hide-sm">
                  Uploaded
                </th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {documents.map(({ document: d, earned, calls }) => (
                <tr data-document={d.id}>
                  <td data-label="Title">{d.title}</td>
                  <td data-label="Type">
                    <span>{`${TYPE_LABEL[d.contentType] ?? d.contentType} · ${kib(d.byteLength)}`}</span>
                  </td>
                  <td data-label="Status">
                    <span>
                      <span class="status-indexed">Indexed</span> · {plural(d.chunkCount, 'passage')}
                    </span>
                  </td>
                  <td class="num" data-label="Earned">
                    <span>
                      <Money micros={earned} /> <span class="muted">({plural(calls, 'call')})</span>
                    </span>
                  </td>
                  <td class="hide-sm" data-label="Uploaded">
                    {when(d.createdAt)}
                  </td>
                  <td data-label="Actions">
                    <a
                      href={`/dashboard/owner/documents/${d.id}/delete`}
                      class="button danger-link"
                      aria-label={`Delete “${d.title}”…`}
                    >
                      Delete…
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {documents.length === 0 ? <p class="empty">No documents yet: upload some above.</p> : null}
        {p.d.next ? (
          <nav class="pager" aria-label="Document pages">
            <a href={`/dashboard/owner/datanets/${datanet.id}?after=${encodeURIComponent(p.d.next)}#documents`}>
              More →
            </a>
          </nav>
        ) : null}
      </section>
    </Layout>
  );
}

export function DeleteDocumentPage(p: { csrf: string; account: Account; testmode?: boolean; d: DocumentRecord }) {
  return (
    <Layout title="Delete a document" csrf={p.csrf} account={p.account} testmode={p.testmode}>
      <p>
        Delete <strong>“{p.d.title}”</strong>? It is never retrieved again; what it earned so far stays yours.
      </p>
      <form method="post" action={`/dashboard/owner/documents/${p.d.id}/delete`} class="actions">
        <input type="hidden" name="_csrf" value={p.csrf} />
        <button type="submit" class="danger">
          Delete “{p.d.title}”
        </button>
        <a href={`/dashboard/owner/datanets/${p.d.datanetId}#documents`}>Cancel</a>
      </form>
    </Layout>
  );
}
