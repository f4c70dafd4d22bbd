import { markerPattern } from '../../shared/core/citation-markers.ts';
import { splitSentences } from '../../shared/core/sentences.ts';

// Which sentences of a source can be quoted as an answer: prose statements only. Front matter,
// code fences, tables, headings (with or without "#"), link lists and questions are structure,
// not answers ("Undoing a bad merge [1]" or a YAML block quoted as a whole answer). Pure.

/** Fewer words than this is a label or a fragment, not a statement. */
const MIN_WORDS = 5;
/** A statement is mostly words: below this share of letters it is a command line or a signature. */
const MIN_LETTER_SHARE = 0.6;
/** Ends like a statement: a full stop or "!" (then closing quotes or brackets); never "?" or ":". */
const STATEMENT_END = /[.!]["'”’»)\]）]*$/u;
const FENCE = /^\s*(```|~~~)/;
const HEADING = /^\s*#{1,6}\s/;
const SETEXT_UNDERLINE = /^\s*(=+|-+)\s*$/;
const TABLE_ROW = /^\s*\|.*\|\s*$|^\s*:?-{3,}:?\s*\|/;
const LIST_ITEM = /^\s*(?:[-*+•]|\d{1,3}[.)])\s+/;
const LINK = /!?\[[^\]]*\]\([^)]*\)|<https?:[^>]*>|https?:\/\/\S+/g;
const HTML_LINE = /^\s*<\/?[a-z][^>]*>\s*$/i;

/** The source's quotable sentences, in order, with citation markers of the source's own removed. */
export function proseSentences(text: string): string[] {
  return splitSentences(proseOnly(text))
    .map((s) => clean(s.text))
    .filter(isStatement);
}

/** The text with every non-prose line blanked (a blank line keeps the paragraphs around it apart). */
export function proseOnly(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const keep = lines.map(() => true);
  let i = 0;
  // YAML front matter: "---" on the first non-blank line, up to the next "---" or "...".
  while (i < lines.length && lines[i]!.trim() === '') i++;
  if (lines[i]?.trim() === '---') {
    const close = lines.findIndex((l, k) => k > i && /^(---|\.\.\.)\s*$/.test(l));
    if (close > 0) for (let k = i; k <= close; k++) keep[k] = false;
  }
  let fence: string | null = null;
  lines.forEach((line, k) => {
    const open = FENCE.exec(line);
    if (fence !== null) {
      keep[k] = false;
      if (open && open[1] === fence) fence = null;
      return;
    }
    if (open) {
      fence = open[1]!;
      keep[k] = false;
      return;
    }
    if (HEADING.test(line) || TABLE_ROW.test(line) || HTML_LINE.test(line) || isLinkListItem(line)) keep[k] = false;
    // Setext headings: the line above an underline of "=" or "-".
    if (SETEXT_UNDERLINE.test(line) && k > 0 && lines[k - 1]!.trim() !== '') keep[k] = keep[k - 1] = false;
  });
  // A short line opening a paragraph, with no closing punctuation, right before a capitalised
  // line is a heading written without "#" ("Restoring a deleted branch" / "To undo …").
  lines.forEach((line, k) => {
    const next = lines[k + 1]?.trim() ?? '';
    const t = line.trim();
    const opensParagraph = k === 0 || lines[k - 1]!.trim() === '' || !keep[k - 1];
    if (
      keep[k] &&
      opensParagraph &&
      t !== '' &&
      !/[.!?:;,]["'”’)\]]*$/.test(t) &&
      wordCount(t) < 12 &&
      /^[^\s\p{Ll}]/u.test(next)
    )
      keep[k] = false;
  });
  return lines.map((l, k) => (keep[k] ? l : '')).join('\n');
}

function isLinkListItem(line: string): boolean {
  if (!LIST_ITEM.test(line)) return false;
  const links = line.match(LINK)?.length ?? 0;
  return links > 0 && wordCount(line.replace(LIST_ITEM, '').replace(LINK, ' ')) < 4;
}

function isStatement(sentence: string): boolean {
  if (!STATEMENT_END.test(sentence) || wordCount(sentence) < MIN_WORDS) return false;
  const visible = sentence.replace(/\s+/g, '');
  const letters = visible.match(/\p{L}/gu)?.length ?? 0;
  return letters / visible.length >= MIN_LETTER_SHARE;
}

const wordCount = (s: string) => s.match(/\S+/g)?.length ?? 0;

/** Markers inside a source ("as shown in [3]") would be read as citations of our own numbering. */
function clean(sentence: string): string {
  return sentence
    .replace(markerPattern(), '')
    .replace(/\s+/g, ' ')
    .replace(/\s+(?=[.,;:!?])/g, '')
    .trim();
}
