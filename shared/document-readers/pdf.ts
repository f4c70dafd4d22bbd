import { extractText, getDocumentProxy } from 'unpdf';
import { joinPages } from '../core/pages.ts';
import { UnreadableDocument } from '../errors.ts';
import type { ReadDocument } from './index.ts';

// PDF → text per page with unpdf (pdf.js built for serverless: no worker thread, no canvas,
// runs on Node and on Workers alike). Chosen over pdf-parse (Node-only, unmaintained pdf.js 1.x).

export async function readPdf(bytes: Uint8Array): Promise<ReadDocument> {
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // pdf.js may transfer (detach) the buffer it is given: hand it a copy.
    pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
  } catch (err) {
    throw classify(err);
  }
  try {
    const { text: pages } = await extractText(pdf, { mergePages: false }).catch((err: unknown) => {
      throw classify(err);
    });
    if (pages.every((p) => p.trim() === '')) {
      throw new UnreadableDocument(
        'the PDF has no text layer (scanned or image-only pages): run OCR on it first, then upload the result',
        'no_text_layer',
      );
    }
    const info = (await pdf.getMetadata().catch(() => null))?.info as { Title?: unknown } | undefined;
    const title = typeof info?.Title === 'string' && info.Title.trim() ? info.Title.trim() : null;
    const { text, pageStarts } = joinPages(pages.map((p) => p.replace(/\u0000/g, '').trimEnd()));
    return { text, markup: 'text/plain', title, pageStarts };
  } finally {
    await pdf.loadingTask.destroy().catch(() => undefined);
  }
}

/** pdf.js names its exceptions; a password one means encryption, anything else a file it cannot parse. */
function classify(err: unknown): UnreadableDocument {
  if (err instanceof UnreadableDocument) return err;
  const name = (err as { name?: string } | null)?.name;
  if (name === 'PasswordException') {
    return new UnreadableDocument(
      'the PDF is encrypted (password-protected): remove the password and upload it again',
      'encrypted',
    );
  }
  return new UnreadableDocument('the file is not a readable PDF (malformed or truncated)', 'malformed');
}
