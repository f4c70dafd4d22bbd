// DocumentReaders port: binary formats (PDF, DOCX) → text the chunker can cut. The libraries
// behind it (pdf.js via unpdf, mammoth) are large, so only composition roots that ingest
// (Node, Lambda) load them; the edge Worker never does and its bundle stays small.

export const PDF = 'application/pdf';
export const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
export type BinaryContentType = typeof PDF | typeof DOCX;

export interface ReadDocument {
  /** the extracted text that chunk spans index */
  text: string;
  /** 'text/markdown' when headings were recovered as ATX lines (DOCX), else plain text */
  markup: 'text/plain' | 'text/markdown';
  /** a title the file itself declares (PDF Info /Title), if any */
  title: string | null;
  /** offset where each page starts in `text`; null when the format has no fixed pages (DOCX) */
  pageStarts: number[] | null;
}

export type DocumentReader = (bytes: Uint8Array) => Promise<ReadDocument>;
export type DocumentReaders = Record<BinaryContentType, DocumentReader>;
