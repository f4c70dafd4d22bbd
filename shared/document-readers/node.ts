import { readDocx } from './docx.ts';
import { DOCX, PDF, type DocumentReaders } from './index.ts';
import { readPdf } from './pdf.ts';

/** The readers Node and Lambda ingest with (loaded by createServices on demand). */
export const documentReaders: DocumentReaders = { [PDF]: readPdf, [DOCX]: readDocx };
