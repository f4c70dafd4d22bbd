// SQS refuses a message holding any character outside #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
// #x10000-#x10FFFF (InvalidMessageContents): U+FFFE/U+FFFF, lone surrogates, C0 controls. Stored text
// (document titles and bodies, queries, generated answers) may hold any of them and rides in our
// messages, which are JSON: every such character can only sit inside a JSON string, where the escape
// \uXXXX means the same character. So any message travels, and JSON.parse gives back the exact text.
// (The decision for issue 17: carry any text, rather than refuse it at input and rewrite stored documents.)

// Matched per UTF-16 code unit (no u flag): a character beyond U+FFFF is written as its surrogate
// pair of escapes. SQS itself accepts those characters, but local SQS servers (fauxqs) check code
// units and refuse them; escaping them too carries the same text through both.
const REFUSED_BY_SQS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/g;

const unicodeEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** JSON text with every character SQS refuses written as its \uXXXX escape; the same JSON value. */
export function sqsSafeJson(json: string): string {
  return json.replace(REFUSED_BY_SQS, unicodeEscape);
}

/** True when SQS (and a local SQS server) accepts every character of `text`. */
export const sqsAccepts = (text: string): boolean => !new RegExp(REFUSED_BY_SQS.source).test(text);
