import { isMarker, readMarker } from './citations.ts';

// Streaming counterpart of parseAnswer: text deltas pass straight through, except that
// anything that may be a citation marker is held until its bracket closes. A marker
// naming a real source is emitted in canonical form ([n]); one naming no source is
// dropped, so a client never renders a broken link mid-stream.
const OPEN = new Set(['[', '【']);
const CLOSE = new Set([']', '】']);
const MAX_MARKER = 32;

export interface MarkerFilter {
  push(delta: string): string;
  end(): string;
}

export function createMarkerFilter(sourceCount: number): MarkerFilter {
  let held = '';
  const settle = (): string => {
    const token = held;
    held = '';
    if (!isMarker(token)) return token;
    const valid = readMarker(token, sourceCount, []);
    return [...new Set(valid)].map((n) => `[${n}]`).join('');
  };
  return {
    push(delta) {
      let out = '';
      for (const ch of delta) {
        if (held && OPEN.has(ch)) {
          out += held; // "[[1]": the first bracket was prose
          held = ch;
        } else if (held) {
          held += ch;
          if (CLOSE.has(ch)) out += settle();
          else if (held.length > MAX_MARKER || ch === '\n') {
            out += held; // too long or broken by a line: ordinary text
            held = '';
          }
        } else if (OPEN.has(ch)) held = ch;
        else out += ch;
      }
      return out;
    },
    end() {
      // An unterminated "[3" at the very end is a cut-off marker, not prose.
      const rest = /^[[【][\s\d,;^–—-]*$/u.test(held) ? '' : held;
      held = '';
      return rest;
    },
  };
}
