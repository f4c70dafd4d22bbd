import { isMarker, readMarker } from './citations.ts';

// Streaming counterpart of parseAnswer: text deltas pass straight through, except that
// anything that may be a citation marker is held until its bracket closes. A marker
// naming a real source is emitted in canonical form ([n]); one naming no source is
// dropped, so a client never renders a broken link mid-stream.
const OPEN = new Set(['[', '【']);
const CLOSE = new Set([']', '】']);
const MAX_MARKER = 32;
/** What a marker can start with before its bracket closes ("[", "[2", "[1, "). */
const MARKER_PREFIX = /^[[【][\s\d,;^–—-]*$/u;

export interface MarkerFilter {
  push(delta: string): string;
  end(): string;
}

export function createMarkerFilter(sourceCount: number): MarkerFilter {
  let held = '';
  // Marker starts just before the held one ("[2【5】4]"): prose if the inner marker stands, but a
  // dropped marker would splice the one before it onto what follows ("[24]"), so that one is held
  // again instead, as parseAnswer repeats its removal until no marker is left.
  const outer: string[] = [];
  const release = (): string => {
    const text = outer.join('') + held;
    outer.length = 0;
    held = '';
    return text;
  };
  const settle = (): string => {
    const token = held;
    held = '';
    if (!isMarker(token)) return release() + token;
    const valid = [...new Set(readMarker(token, sourceCount, []))];
    if (valid.length === 0) {
      held = outer.pop() ?? ''; // dropped: the marker start before it may close with what follows
      return '';
    }
    return release() + valid.map((n) => `[${n}]`).join('');
  };
  return {
    push(delta) {
      let out = '';
      for (const ch of delta) {
        if (held && OPEN.has(ch)) {
          // "[[1]": the first bracket is prose unless the inner marker is dropped
          if (MARKER_PREFIX.test(held)) {
            outer.push(held);
            if (outer.length > MAX_MARKER) out += outer.shift();
          } else out += release();
          held = ch;
        } else if (held) {
          held += ch;
          if (CLOSE.has(ch)) out += settle();
          else if (held.length > MAX_MARKER || ch === '\n') out += release(); // too long or broken by a line: ordinary text
        } else if (OPEN.has(ch)) held = ch;
        else out += ch;
      }
      return out;
    },
    end() {
      // An unterminated "[3" at the very end is a cut-off marker, not prose.
      const rest = outer.join('') + (MARKER_PREFIX.test(held) ? '' : held);
      outer.length = 0;
      held = '';
      return rest;
    },
  };
}
