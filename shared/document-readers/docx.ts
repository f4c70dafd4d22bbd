import mammoth from 'mammoth';
import { htmlToMarkdownText } from '../core/html-text.ts';
import { UnreadableDocument } from '../errors.ts';
import type { ReadDocument } from './index.ts';

// DOCX → HTML with mammoth (it maps Word's heading styles to <h1>…<h6> and keeps tables), then the
// same HTML → Markdown-like text that HTML uploads get, so headings become chunk heading paths.
// Word files have no fixed pages (they depend on layout), so chunks carry no page number.

/** An encrypted .docx is an OLE compound file (not a zip), starting with these bytes. */
const OLE_MAGIC = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

export async function readDocx(bytes: Uint8Array): Promise<ReadDocument> {
  if (OLE_MAGIC.every((b, i) => bytes[i] === b)) {
    throw new UnreadableDocument(
      'the Word file is encrypted (password-protected) or in the old binary .doc format: save it as an unprotected .docx and upload it again',
      'encrypted',
    );
  }
  let html: string;
  try {
    ({ value: html } = await mammoth.convertToHtml({
      buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    }));
  } catch {
    throw new UnreadableDocument('the file is not a readable .docx (malformed or truncated)', 'malformed');
  }
  // mammoth wraps every table cell's text in <p>; unwrapped, a row reads "Crop | Sow | Harvest" on one line.
  const { text } = htmlToMarkdownText(
    html.replace(/<(t[dh])([^>]*)><p>/g, '<$1$2>').replace(/<\/p><\/(t[dh])>/g, '</$1>'),
  );
  if (text.trim() === '')
    throw new UnreadableDocument('the Word file has no text (only images or nothing at all)', 'no_text_layer');
  return { text, markup: 'text/markdown', title: null, pageStarts: null };
}
