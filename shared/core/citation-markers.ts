/**
 * Citation markers as models write them (`[1]`, `[1, 3]`, `[2-4]`, `【2】`, `[^2]`): the patterns
 * shared by sentence splitting (a marker after a full stop belongs to that sentence) and by
 * answer parsing. Pure, no I/O.
 */

// Inside a marker: an optional footnote caret or "Source"/"Ref" label, then only
// digits, blanks, commas, semicolons and dashes. No letters, so "[a]" or
// "[1 apple]" stay ordinary text. No newline, so a marker never spans lines.
// (Each optional part is written so a blank can be matched only one way: no
// quadratic backtracking on long runs of spaces.)
const INNER = String.raw`[ \t]*(?:(?:\^|(?:sources?|refs?)[ \t]*:?)[ \t]*)?\d[\d \t,;–—-]*`;
// OpenAI-style full-width markers may carry a label after a dagger: 【2†source】.
export const BRACKET = String.raw`\[${INNER}\]|【${INNER}(?:†[^】\n]*)?】`;
// Adjacent markers ("[1][3]", "[1], [3]") form one group so the separators go
// with them; "([1], [3])" takes its parentheses along too.
const GROUP = String.raw`(?:${BRACKET})(?:[ \t]*(?:[,;][ \t]*)?(?:${BRACKET}))*`;
export const MARKER_GROUP = new RegExp(String.raw`\([ \t]*${GROUP}[ \t]*\)|${GROUP}`, 'giu');
export const MARKER = new RegExp(BRACKET, 'giu');

/** Whether `token` is exactly one citation marker. */
export function isMarker(token: string): boolean {
  return new RegExp(`^(?:${BRACKET})$`, 'iu').test(token);
}

/** A regex matching one citation marker (any tolerated form); `g` flag, fresh each call. */
export function markerPattern(): RegExp {
  return new RegExp(BRACKET, 'giu');
}
