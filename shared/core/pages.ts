/**
 * Paged text (a PDF's pages) as one string the chunker can cut, and the way back from a
 * character offset to its 1-based page. Pages are joined by a blank line, so no chunk
 * paragraph runs across a page break and every offset maps to exactly one page.
 */
export const PAGE_SEPARATOR = '\n\n';

export interface PagedText {
  text: string;
  /** offset in `text` where each page starts; pageStarts[0] === 0 */
  pageStarts: number[];
}

export function joinPages(pages: readonly string[]): PagedText {
  const pageStarts: number[] = [];
  let text = '';
  pages.forEach((page, i) => {
    if (i > 0) text += PAGE_SEPARATOR;
    pageStarts.push(text.length);
    text += page;
  });
  return { text, pageStarts };
}

/** The 1-based page holding `offset` (binary search; offsets in a separator belong to the page before). */
export function pageAt(pageStarts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = pageStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (pageStarts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}
